#!/usr/bin/env bash
# make demo: the main workflow on built-in data. Filled in by the
# aggregation example (issue 8); until then it runs the examples that exist.
set -euo pipefail
build=${1:-build/release}
echo "vpar demo: examples built in $build/examples"
ls "$build"/examples/*/ 2>/dev/null | grep -E '^vpar-|rowsums' || true
