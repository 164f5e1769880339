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
run() { timeout 120 "$mpirun" "$@" -np "$np" "$bin" "${args[@]}"; }
fail() { echo "FAIL: $*"; exit 1; }

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
  [ "$rc" = 124 ] && { cat "$dir/crash.log"; fail "the job hung after a rank crash"; }
  [ -s "$j" ] || fail "no journal after the crash"
  strict=strict; [ "$victim" != 0 ] && strict=lenient
  args=(resume "$j" $strict); run "$@" || fail "resume after a crash of rank $victim"
done
echo "farm tests passed (np=$np)"
