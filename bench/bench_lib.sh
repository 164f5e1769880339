# bench/bench_lib.sh — sourced by the bash runners (bench/<component>/run).
#
# bench_line NAME BASELINE BASE_S VPAR_S AGREE [WHY]
#   Prints the comparison's one BENCH line. AGREE is "yes" when the runner
#   has checked that vpar's result equals the baseline's (within the
#   tolerance documented in bench/README.md):
#     BENCH NAME baseline=BASELINE baseline_s=B vpar_s=V ratio=B/V
#   Anything else means the results differ (or were not compared): the line
#   carries no ratio, says why, and bench_exit later fails the runner:
#     BENCH NAME baseline=BASELINE baseline_s=B vpar_s=V DIFFER: WHY
# VPAR_BENCH_SMOKE=1 (tiny sizes, to check a runner works) appends _smoke to
# every name, so such lines are never mistaken for measurements.
bench_status=0
bench_line() {
  local name=$1 what=$2 b=$3 v=$4 agree=$5 why=${6:-results differ}
  [ "${VPAR_BENCH_SMOKE:-0}" = 1 ] && name=${name}_smoke
  if [ "$agree" = yes ]; then
    awk -v n="$name" -v w="$what" -v b="$b" -v v="$v" \
      'BEGIN { printf "BENCH %s baseline=%s baseline_s=%.4g vpar_s=%.4g ratio=%.2f\n", n, w, b, v, b / v }'
  else
    awk -v n="$name" -v w="$what" -v b="$b" -v v="$v" -v why="$why" \
      'BEGIN { printf "BENCH %s baseline=%s baseline_s=%.4g vpar_s=%.4g DIFFER: %s\n", n, w, b, v, why }'
    bench_status=1
  fi
}
# Exit status of a runner: 1 when some comparison's results differed.
bench_exit() { exit "$bench_status"; }
# bench_now VAR
#   Sets VAR to the time in seconds (epoch, with microseconds) without
#   starting a process: `t0=$(date +%s.%N)` forks and execs inside the
#   timed window (4-8 ms each on the project's VM, 2026-12-03, against a
#   ~90 ms vpar-egad run). bash 5's $EPOCHREALTIME (its decimal mark is
#   the locale's: made a point); `date` on an older bash.
bench_now() {
  if [ -n "${EPOCHREALTIME:-}" ]; then
    printf -v "$1" '%s' "${EPOCHREALTIME/,/.}"
  else
    printf -v "$1" '%s' "$(date +%s.%N)"
  fi
}
