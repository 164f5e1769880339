#!/usr/bin/env bash
# tests/run_ctest.sh [ctest arguments...] — how `make test` (and asan, tsan,
# debug, test-aarch64) runs ctest in the current build directory.
#
# A test that cannot run its checks (a missing package, a build without
# HDF5...) exits 77 and ctest reports it as skipped (SKIP_RETURN_CODE 77,
# set for every test in tests/CMakeLists.txt). A skipped test proves
# nothing, so this script lists the skipped tests at the end of the run,
# and under CI=true (the CI runner, .ci/run) a skip is a failure: the exit
# status is 1 even when ctest itself passed. Outside CI skips stay allowed.
#
# Exit status: ctest's, or 1 when CI=true and some test was skipped.
set -u
log=$(mktemp "${TMPDIR:-/tmp}/vpar_ctest.XXXXXX")
trap 'rm -f "$log"' EXIT
ctest "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
# ctest's summary: "The following tests did not run:" then lines like
# "	 12 - npy_numpy_check (Skipped)".
skipped=$(sed -n 's/^[[:space:]]*[0-9][0-9]* - \(.*\) (Skipped)[[:space:]]*$/\1/p' "$log")
if [ -n "$skipped" ]; then
  n=$(printf '%s\n' "$skipped" | wc -l)
  echo
  echo "==== $n test(s) SKIPPED: their checks did not run ===="
  printf '  %s\n' $skipped
  echo "  (each test's output above says why; rerun one with: ctest -V -R NAME)"
  case "${CI:-}" in
    true|1|yes)
      echo "CI=${CI}: a skipped test is a failure (install what it needs; see .ci/run)" >&2
      [ "$rc" = 0 ] && rc=1
      ;;
  esac
fi
exit "$rc"
