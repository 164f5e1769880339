#!/bin/sh
# Runs the vpar Python tests (pytest) against a built package; the ctest
# entry point (tests/python.cmake) and `make python-test`.
#   run_tests.sh BUILD_LIB [PYTHON [pytest args...]]
# BUILD_LIB holds the built package (vpar/__init__.py + vpar/_vpar*.so).
# Exit 77 (ctest: skipped) with a message when numpy or pytest is missing or
# the package was not built.
set -u
here=$(cd "$(dirname "$0")" && pwd)
lib=${1:?usage: run_tests.sh BUILD_LIB [PYTHON [pytest args]]}
py=${2:-/usr/bin/python3}
[ $# -ge 2 ] && shift 2 || shift $#
if ! "$py" -c 'import numpy' 2>/dev/null; then
  echo "SKIP: $py cannot import numpy (Debian: apt install python3-numpy)"; exit 77
fi
if ! "$py" -c 'import pytest' 2>/dev/null; then
  echo "SKIP: $py cannot import pytest (Debian: apt install python3-pytest)"; exit 77
fi
if ! ls "$lib"/vpar/_vpar*.so >/dev/null 2>&1; then
  echo "SKIP: the vpar Python package is not built in $lib (make python; needs python3-dev)"; exit 77
fi
export PYTHONPATH="$lib:$here${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
cd "$here" || exit 1
# sanitizer trees: the runtime must be preloaded into the interpreter (only
# there: a TSan runtime preloaded into sh crashes it)
if [ -n "${VPAR_PY_PRELOAD:-}" ]; then export LD_PRELOAD="$VPAR_PY_PRELOAD"; fi
exec "$py" -m pytest -q -p no:cacheprovider "$here" "$@"
