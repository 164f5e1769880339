#!/usr/bin/env bash
# Runs every libFuzzer target of a `fuzz` build for SECONDS each.
#   tests/fuzz/run.sh BUILD_DIR [SECONDS]        (make fuzz FUZZ_SECONDS=N)
#   FUZZ_TARGETS="npy genes" restricts the run to those targets;
#   FUZZ_JOBS=N runs N targets at a time (default 1).
# For each target <name>: first replays tests/fuzz/regressions/<name>/ (every
# crash found so far must stay fixed), then fuzzes for SECONDS on a
# temporary copy of tests/fuzz/corpus/<name>/ (the repository is never
# modified; new interesting inputs are left in BUILD_DIR/fuzz-out/<name>/
# corpus for whoever wants to add some to the seeds). A crash leaves its
# input in BUILD_DIR/fuzz-out/<name>/ (crash-*, leak-*, timeout-*) and fails
# the run. Prints per target the CPU time used, the executions and the
# result (the numbers docs/fuzzing.md records), also written to
# BUILD_DIR/fuzz-out/summary.txt.
set -uo pipefail
build=${1:?usage: tests/fuzz/run.sh BUILD_DIR [SECONDS]}
seconds=${2:-30}
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$build" && pwd)
list="$build/fuzzers.txt"
if [ ! -s "$list" ]; then
  echo "run.sh: $list: no fuzz targets listed (configure with: cmake --preset fuzz)" >&2
  exit 2
fi
case "$seconds" in ''|*[!0-9]*) echo "run.sh: SECONDS='$seconds': expected a whole number" >&2; exit 2;; esac
out="$build/fuzz-out"
mkdir -p "$out"
summary="$out/summary.txt"
printf '%-14s %8s %10s %12s %8s  %s\n' target seconds cpu_s execs corpus result > "$summary"
failed=0
targets=$(grep -v '^$' "$list")
if [ -n "${FUZZ_TARGETS:-}" ]; then targets=$FUZZ_TARGETS; fi
# fuzz_one NAME: regressions, then SECONDS of fuzzing; prints its report
# and leaves its summary row in $out/NAME.row; non-zero when it failed.
fuzz_one() {
  local name=$1 bin dir result regs dict log rc cpu execs ncorp crash
  bin="$build/tests/fuzz/fuzz_$name"
  dir="$out/$name"
  if [ ! -x "$bin" ]; then
    echo "run.sh: $bin: not built (cmake --build $build --target vpar_fuzzers)" >&2
    return 1
  fi
  echo "=== fuzz_$name: regressions, then ${seconds} s on a copy of corpus/$name"
  rm -rf "$dir"
  mkdir -p "$dir/corpus"
  [ -d "$here/corpus/$name" ] && cp -R "$here/corpus/$name/." "$dir/corpus/"
  result=ok
  regs=()
  if [ -d "$here/regressions/$name" ]; then
    while IFS= read -r -d '' f; do regs+=("$f"); done \
      < <(find "$here/regressions/$name" -type f ! -name '.*' -print0 | sort -z)
  fi
  if [ ${#regs[@]} -gt 0 ]; then
    if ! "$bin" -artifact_prefix="$dir/" "${regs[@]}" > "$dir/regressions.log" 2>&1; then
      echo "fuzz_$name: a committed regression input fails again; see $dir/regressions.log" >&2
      tail -30 "$dir/regressions.log" >&2
      result="REGRESSION"
    fi
  fi
  dict=()
  [ -f "$here/$name.dict" ] && dict=(-dict="$here/$name.dict")
  log="$dir/fuzz.log"
  TIMEFORMAT='%U %S'
  { time "$bin" "${dict[@]}" -max_total_time="$seconds" -print_final_stats=1 \
      -artifact_prefix="$dir/" "$dir/corpus" > "$log" 2>&1; } 2> "$dir/time.txt"
  rc=$?
  cpu=$(awk '{printf "%.1f", $1 + $2}' "$dir/time.txt" 2>/dev/null || echo "?")
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  ncorp=$(find "$dir/corpus" -type f | wc -l)
  if [ $rc -ne 0 ]; then
    crash=$(ls "$dir"/crash-* "$dir"/leak-* "$dir"/timeout-* "$dir"/oom-* 2>/dev/null | head -1)
    echo "fuzz_$name: FAILED (exit $rc): ${crash:-see $log}" >&2
    grep -m1 -E 'ERROR: |runtime error|SUMMARY' "$log" >&2 || tail -20 "$log" >&2
    echo "fix the bug, then commit the input as tests/fuzz/regressions/$name/<what-it-was>" >&2
    result="CRASH${crash:+ $(basename "$crash")}"
  fi
  printf '%-14s %8s %10s %12s %8s  %s\n' "$name" "$seconds" "$cpu" "${execs:-?}" "$ncorp" "$result" > "$out/$name.row"
  [ "$result" = ok ]
}

# FUZZ_JOBS targets at a time (each target is one libFuzzer process: one
# core); reports are printed whole, in the list's order.
njobs=${FUZZ_JOBS:-1}
case "$njobs" in ''|*[!0-9]*|0) echo "run.sh: FUZZ_JOBS='$njobs': expected a positive whole number" >&2; exit 2;; esac
running=0
for name in $targets; do
  rm -f "$out/$name.row" "$out/$name.rc"
  { fuzz_one "$name" > "$out/$name.report" 2>&1; echo $? > "$out/$name.rc"; } &
  running=$((running + 1))
  if [ "$running" -ge "$njobs" ]; then wait -n; running=$((running - 1)); fi
done
wait
for name in $targets; do
  cat "$out/$name.report"
  [ "$(cat "$out/$name.rc" 2>/dev/null)" = 0 ] || failed=1
  [ -f "$out/$name.row" ] && cat "$out/$name.row" >> "$summary"
done
echo
cat "$summary"
exit $failed
