#!/usr/bin/env bash
# Runs every benchmark runner bench/<component>/run, or only the one that
# lists BENCH name $1. Each runner prints lines of the form
#   BENCH <name> baseline=<what> baseline_s=<median> vpar_s=<median> ratio=<b/v>
# Runners take `--list` (print their bench names) and an optional name.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${VPAR_BUILD_DIR:?set VPAR_BUILD_DIR to the bench build directory}"
export VPAR_BUILD_DIR
export PYTHON=${PYTHON:-/usr/bin/python3}
want=${1:-}
echo "# vpar benchmarks $(date -u +%Y-%m-%dT%H:%MZ) on $(uname -m), $(nproc) cores:" \
     "$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ //')"
found=0
for runner in "$here"/*/run; do
  [ -x "$runner" ] || continue
  if [ -n "$want" ]; then
    # capture the list first: `--list | grep -q` under pipefail fails at
    # random when grep exits at the first match and the runner gets SIGPIPE
    names=$("$runner" --list)
    grep -qx -- "$want" <<<"$names" || continue
    found=1
    "$runner" "$want"
  else
    "$runner"
  fi
done
if [ -n "$want" ] && [ "$found" = 0 ]; then
  echo "make bench: no benchmark named '$want'; known names:" >&2
  for runner in "$here"/*/run; do [ -x "$runner" ] && "$runner" --list; done | sed 's/^/  /' >&2
  exit 2
fi
