#!/usr/bin/env bash
# tests/farm_test.sh MPIRUN NP TEST_FARM [LAUNCHER_ARGS...]
# Runs tests/test_farm.c under one MPI with NP ranks: every mode, and a
# crash (VPAR_FARM_TEST_CRASH) followed by a resume. Exit 77 (ctest SKIP)
# when the launcher is missing.
set -u
mpirun=$1 np=$2 bin=$3
shift 3
if ! command -v "$mpirun" >/dev/null 2>&1; then
  echo "SKIP: $mpirun not found (install openmpi-bin / mpich)"; exit 77
fi
# OpenMPI refuses to run as root without these; harmless elsewhere.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# No network interfaces or slow TCP probing on a test machine.
export OMPI_MCA_btl=self,vader OMPI_MCA_rmaps_base_oversubscribe=1
export HYDRA_LAUNCHER=fork
dir=$(mktemp -d "${TMPDIR:-/tmp}/vpar_farm.XXXXXX")
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# run LAUNCHER_ARGS...: one job under a watchdog. A job still running after
# 120 s is hung: the watchdog prints what each of its processes is doing
# (state, kernel wait channel and stack, user stacks when gdb is there) so a
# hang seen once on a loaded CI machine can be diagnosed, then ends the job
# (TERM, KILL 10 s later) and returns 124 with $hung saying who hung:
# "ranks" (all NP ranks still alive: the farm itself hung) or "launcher"
# (a rank had ended and mpirun had not ended the job: the launcher's job
# after a crash; OpenMPI's launcher has such races).
descendants() { local c; for c in $(pgrep -P "$1"); do echo "$c"; descendants "$c"; done; }
alive() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${s:0:1}" != Z ]; }
diagnose() {
  local p
  echo "=== HANG: the job still runs after ${VPAR_FARM_TEST_TIMEOUT:-120} s; its processes:"
  ps -o pid,ppid,stat,wchan:32,etime,args -p "$(echo "$@" | tr ' ' ',')"
  for p in "$@"; do
    echo "--- $p ($(cat /proc/"$p"/comm 2>/dev/null)) kernel stack:"
    cat /proc/"$p"/stack 2>/dev/null
    if command -v gdb >/dev/null; then
      timeout 60 gdb -p "$p" -batch -ex 'thread apply all bt' 2>&1 | grep -E '^(#|Thread)'
    fi
  done
}
hung=
run() {
  hung=
  "$mpirun" "$@" -np "$np" "$bin" "${args[@]}" &
  local pid=$! ticks=0 procs p
  while alive "$pid"; do
    if [ "$ticks" -ge $((${VPAR_FARM_TEST_TIMEOUT:-120} * 10)) ]; then
      procs="$pid $(descendants "$pid" | tr '\n' ' ')"
      local ranks=0
      for p in $procs; do
        case $(cat /proc/"$p"/comm 2>/dev/null) in test_farm*) ranks=$((ranks + 1)) ;; esac
      done
      hung=launcher; [ "$ranks" -ge "$np" ] && hung=ranks
      diagnose $procs
      kill -TERM "$pid" 2>/dev/null
      for ticks in $(seq 100); do alive "$pid" || break; sleep 0.1; done
      kill -KILL $procs 2>/dev/null
      wait "$pid"
      return 124
    fi
    sleep 0.1; ticks=$((ticks + 1))
  done
  wait "$pid"
}

for mode in basic failures; do
  echo "--- $mode (np=$np)"
  args=("$mode"); run "$@" || fail "$mode"
done
echo "--- startup: interrupt before the map, threads per rank (np=$np)"
args=(startup); run "$@" || fail startup
echo "--- journal_unit (np=$np)"
args=(journal_unit "$dir/unit.journal"); run "$@" || fail journal_unit
echo "--- signal (np=$np)"
args=(signal "$dir/sig.journal"); run "$@" || fail signal

# A rank crash: the job dies (MPI aborts it); the journal keeps what
# finished. Rank 0 dies after 40 journaled records, or the last rank after
# sending 25 results.
victims=0; [ "$np" -gt 1 ] && victims="0 $((np - 1))"
for victim in $victims; do
  echo "--- crash of rank $victim, then resume (np=$np)"
  j="$dir/crash$victim.journal"
  k=40; [ "$victim" != 0 ] && k=25
  args=(journal "$j")
  VPAR_FARM_TEST_CRASH="$victim:$k" run "$@" >"$dir/crash.log" 2>&1
  rc=$?
  [ "$rc" = 0 ] && { cat "$dir/crash.log"; fail "the crash hook did not kill the job"; }
  if [ "$rc" = 124 ]; then
    cat "$dir/crash.log"
    # The victim died and the launcher did not end the job: its problem,
    # not the farm's (no MPI rank can outlive a dead peer by itself). What
    # this test is about (journal, resume) goes on.
    [ "$hung" = launcher ] || fail "the job hung after a rank crash"
    echo "WARNING: $mpirun did not end the job after the rank crash (killed it)"
  fi
  [ -s "$j" ] || fail "no journal after the crash"
  strict=strict; [ "$victim" != 0 ] && strict=lenient
  args=(resume "$j" $strict); run "$@" || fail "resume after a crash of rank $victim"
done
echo "farm tests passed (np=$np)"
