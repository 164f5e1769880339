#!/usr/bin/env bash
# tests/cluster/jobs.sh — vpar-egad and vpar-aggregate on a real Slurm,
# through the templates in examples/cluster/ as a user runs them (paths
# given by their environment variables):
#   jobs.sh VPAR_EGAD VPAR_AGGREGATE DATA_DIR [MPIEXEC FLAVOR]
# - slurm-aggregate-array.sh: a job array of 3 shards + the afterany merge
# - slurm-egad-array.sh: a job array of 2 shards + merge
# - slurm-aggregate-mpi.sbatch with LAUNCHER=mpirun and with srun --mpi=pmix
#   (2 ranks)
# each compared with the one-machine outputs (summary.csv without its
# seconds column, which is timing);
# - scancel --signal=USR1 on running array tasks: exit 75, the merge exits 3
#   and names the shards, the resubmission (ARRAY=...) finishes the job
#   identically without recomputing a finished permutation (mtimes kept);
# - scancel --full --signal=USR1 on the MPI job: the resubmission restores
#   the journaled permutations and ends identically;
# - scancel -b --signal=TERM on the MPI job (mpirun): exit 75;
# - a rank crash (VPAR_FARM_TEST_CRASH) fails the MPI job; the resubmission
#   completes it identically.
# Uses the running test cluster, or starts one (slurm-start.sh) and stops it
# at the end. Exit 77 without Slurm/munge or root.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
. "$here/common.sh"
vpar_slurm_require
egad=$(readlink -f "$1") agg=$(readlink -f "$2") data=$(readlink -f "$3") mpiexec=${4:-} flavor=${5:-}
fx=$data/fixtures/aggregate
started=0
if ! vpar_slurm_up; then
  "$here/slurm-start.sh" || exit 1
  started=1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/vpar_jobs.XXXXXX")
cleanup() {
  rm -rf "$work"
  if [ $started = 1 ]; then "$here/slurm-stop.sh" >/dev/null; fi
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
cd "$work" || exit 1
unset SLURM_ARRAY_TASK_ID SGE_TASK_ID OMPI_COMM_WORLD_SIZE PMI_SIZE PMI_RANK PMIX_RANK
export VPAR_WAIT=${VPAR_WAIT:-240}
# The templates' inputs, as a user sets them (sbatch passes the environment).
export NETS="$fx/nw_0*.npy" GO=$fx/go.tsv GENES=$fx/genes.txt CPUS=1 MEM=300M TIME=00:10:00
P=6 SEED=3
common=(--annotations "$GO" --genes "$GENES")
nets=("$fx"/nw_0{0,1,2,3,4,5}.npy)
exit_code() { scontrol show job "$1" 2>/dev/null | sed -n 's/.* ExitCode=\([0-9]*\):.*/\1/p' | head -1; }
job_ids() { sed -n 's/^array job \([0-9]*\), merge job \([0-9]*\)$/\1 \2/p'; }
same_files() {  # ref dir what files...
  local r=$1 d=$2 w=$3 f bad=0; shift 3
  for f in "$@"; do cmp -s "$r/$f" "$d/$f" || { fail "$w: $f differs from the one-machine run"; bad=1; }; done
  [ $bad = 0 ] && ok "$w: outputs == one machine"
}
perms() { local i; for ((i = 1; i <= $1; i++)); do echo "permute_network_performance_$i.csv"; done; }

"$egad" "${common[@]}" --out ref_e -q "${nets[@]}" || fail "one-machine vpar-egad"
"$agg" "${common[@]}" -p $P --seed $SEED --out ref_a --plot ref_a/aggregate.svg -q "${nets[@]}" ||
  fail "one-machine vpar-aggregate"

# ---- aggregate: job array + afterany merge --------------------------------------
read -r arr merge < <(OUT=$work/a P=$P SEED=$SEED SHARDS=3 VPAR_BIN=$(dirname "$agg") \
  bash "$src/examples/cluster/slurm-aggregate-array.sh" | job_ids)
if [ -n "${merge:-}" ] && vpar_wait_jobs "${arr}_1" "${arr}_2" "${arr}_3" "$merge"; then
  for j in "${arr}_1" "${arr}_2" "${arr}_3" "$merge"; do
    [ "$(vpar_job_state "$j")" = COMPLETED ] || fail "aggregate array: job $j $(vpar_job_state "$j")"
  done
  same_files ref_a a "aggregate Slurm array (3 shards) + afterany merge" \
    aggregate.csv aggregate.svg $(perms $P)
else fail "aggregate array: no job ids or jobs did not end"; fi

# ---- egad: job array + merge ---------------------------------------------------------
read -r arr merge < <(OUT=$work/e SHARDS=2 VPAR_BIN=$(dirname "$egad") \
  bash "$src/examples/cluster/slurm-egad-array.sh" | job_ids)
if [ -n "${merge:-}" ] && vpar_wait_jobs "${arr}_1" "${arr}_2" "$merge"; then
  [ "$(vpar_job_state "$merge")" = COMPLETED ] || fail "egad merge job: $(vpar_job_state "$merge")"
  same_files ref_e e "egad Slurm array (2 shards) + merge" nw_00.csv nw_01.csv nw_02.csv nw_03.csv nw_04.csv nw_05.csv
  # summary.csv: identical but for its seconds column (the time each network took)
  [ "$(cut -d, -f1-4 ref_e/summary.csv)" = "$(cut -d, -f1-4 e/summary.csv 2>/dev/null)" ] &&
    ok "egad Slurm array: summary.csv == one machine (seconds aside)" || fail "egad Slurm array: summary.csv"
else fail "egad array: no job ids or jobs did not end"; fi

# ---- aggregate array stopped by scancel --signal=USR1, then resubmitted ----------------
# The test hook holds every permutation after a shard's first until a signal
# (examples/aggregate/main.c), so the tasks are always midway when stopped.
PI=8
"$agg" "${common[@]}" -p $PI --seed $SEED --out ref_i -q "${nets[@]}" || fail "one-machine -p $PI"
read -r arr merge < <(VPAR_AGGREGATE_TEST_HOLD_AFTER=1 OUT=$work/i P=$PI SEED=$SEED SHARDS=2 \
  VPAR_BIN=$(dirname "$agg") bash "$src/examples/cluster/slurm-aggregate-array.sh" | job_ids)
for _ in $(seq 1200); do
  [ -e i/permute_network_performance_1.csv ] && [ -e i/permute_network_performance_2.csv ] && break
  sleep 0.1
done
# -b: the batch step, the program itself (the templates exec it), as
# `--signal=B:USR1@120` does at the time limit
scancel -b --signal=USR1 "$arr"
if vpar_wait_jobs "${arr}_1" "${arr}_2" "$merge"; then
  c1=$(exit_code "${arr}_1") c2=$(exit_code "${arr}_2") cm=$(exit_code "$merge")
  [ "$c1" = 75 ] && [ "$c2" = 75 ] && ok "scancel --signal=USR1: array tasks exit 75" ||
    fail "USR1: array tasks exited $c1, $c2 (want 75)"
  if [ "$cm" = 3 ] && grep -q -- '--array=1,2' i/logs/merge-"$merge".out; then
    ok "the afterany merge exits 3 and lists --array=1,2"
  else fail "merge after USR1: exit $cm: $(cat i/logs/merge-"$merge".out)"; fi
  [ -e i/aggregate.csv ] && fail "aggregate.csv written by an incomplete merge"
else fail "USR1 array: jobs did not end"; fi
before=$(cd i && stat -c '%n %.9Y' permute_network_performance_1.csv permute_network_performance_2.csv)
read -r arr merge < <(OUT=$work/i P=$PI SEED=$SEED SHARDS=2 ARRAY=1,2 VPAR_BIN=$(dirname "$agg") \
  bash "$src/examples/cluster/slurm-aggregate-array.sh" | job_ids)
if vpar_wait_jobs "${arr}_1" "${arr}_2" "$merge"; then
  [ "$(vpar_job_state "$merge")" = COMPLETED ] || fail "merge after resubmission: $(vpar_job_state "$merge")"
  same_files ref_i i "aggregate array stopped by USR1 + resubmitted" aggregate.csv $(perms $PI)
  after=$(cd i && stat -c '%n %.9Y' permute_network_performance_1.csv permute_network_performance_2.csv)
  [ "$before" = "$after" ] && ok "resubmission: the finished permutations 1, 2 not recomputed" ||
    fail "resubmission recomputed finished permutations"
else fail "resubmitted array: jobs did not end"; fi

# ---- MPI inside sbatch ---------------------------------------------------------------
if [ -z "$mpiexec" ] || ! command -v "$mpiexec" >/dev/null 2>&1; then
  echo "note: no MPI launcher: the MPI jobs are skipped (programs built without MPI)"
else
  mpi_extra=""
  if [ "$flavor" = openmpi ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    mpi_extra=--oversubscribe
  fi
  export UCX_MEM_EVENTS=no UCX_MEM_MMAP_HOOK_MODE=none
  sbatch_mpi() {  # out P [env...]: prints the job id
    local out=$1 p=$2; shift 2
    env "$@" OUT="$work/$out" P=$p SEED=$SEED LAUNCHER=mpirun MPIRUN="$mpiexec" MPIRUN_ARGS="$mpi_extra" \
      THREADS=1 VPAR_BIN=$(dirname "$agg") \
      sbatch --parsable --ntasks=2 --cpus-per-task=1 --mem-per-cpu=300M --time=00:10:00 \
      --output="$work/$out.%j.out" "$src/examples/cluster/slurm-aggregate-mpi.sbatch" | cut -d';' -f1
  }
  j=$(sbatch_mpi m $P)
  if [ -n "$j" ] && vpar_wait_jobs "$j"; then
    [ "$(vpar_job_state "$j")" = COMPLETED ] || fail "MPI job: $(vpar_job_state "$j"): $(cat m.$j.out)"
    same_files ref_a m "mpirun -np 2 inside sbatch" aggregate.csv aggregate.svg $(perms $P)
  else fail "MPI job did not end"; fi

  # the template's default launcher: srun --mpi=pmix (when Slurm has the plugin)
  if [ "$flavor" = openmpi ] && srun --mpi=list 2>&1 | grep -qw pmix; then
    j=$(OUT="$work/s" P=$P SEED=$SEED THREADS=1 VPAR_BIN=$(dirname "$agg") \
      sbatch --parsable --ntasks=2 --cpus-per-task=1 --mem-per-cpu=300M --time=00:10:00 \
      --output="$work/s.%j.out" "$src/examples/cluster/slurm-aggregate-mpi.sbatch" | cut -d';' -f1)
    if [ -n "$j" ] && vpar_wait_jobs "$j"; then
      [ "$(vpar_job_state "$j")" = COMPLETED ] || fail "srun MPI job: $(vpar_job_state "$j"): $(cat s.$j.out)"
      same_files ref_a s "srun --mpi=pmix (2 ranks) inside sbatch" aggregate.csv aggregate.svg $(perms $P)
    else fail "srun MPI job did not end"; fi
  else
    echo "note: srun --mpi=pmix not available or not OpenMPI: the srun launcher is not tested"
  fi

  # stopped by scancel --full --signal=USR1 (the batch shell, mpirun and the ranks)
  PM=40
  "$agg" "${common[@]}" -p $PM --seed $SEED --out ref_m -q "${nets[@]}" || fail "one-machine -p $PM"
  j=$(sbatch_mpi mu $PM)
  for _ in $(seq 1200); do [ -e mu/permute_network_performance_1.csv ] && break; sleep 0.1; done
  scancel --full --signal=USR1 "$j"
  vpar_wait_jobs "$j" || fail "MPI job after USR1 did not end"
  n=$(ls mu/permute_network_performance_*.csv 2>/dev/null | wc -l)
  if [ "$n" -lt $PM ] && [ ! -e mu/aggregate.csv ]; then
    ok "scancel --signal=USR1 stops the MPI job after $n of $PM permutations (job exit $(exit_code "$j"))"
  else fail "MPI job after USR1: $n of $PM done: $(cat mu.$j.out)"; fi
  j=$(sbatch_mpi mu $PM)
  if vpar_wait_jobs "$j"; then
    [ "$(vpar_job_state "$j")" = COMPLETED ] || fail "MPI resubmission: $(vpar_job_state "$j"): $(cat mu.$j.out)"
    r=$(sed -n 's/.*: \([0-9]*\) permutations\{0,1\} restored from the journal.*/\1/p' mu.$j.out)
    [ -n "$r" ] && [ "$r" = "$n" ] && ok "MPI resubmission: the $r journaled permutations restored, not recomputed" ||
      fail "MPI resubmission restored '${r}' of $n: $(cat mu.$j.out)"
    same_files ref_m mu "MPI job stopped by USR1 + resubmitted" aggregate.csv $(perms $PM)
  else fail "MPI resubmission did not end"; fi

  # SIGTERM to the batch shell only (scancel -b): the template passes it on
  # to mpirun as SIGUSR1, so the ranks stop as on USR1 and the job exits 75
  # (OpenMPI's mpirun returns 1 after a SIGTERM of its own)
  j=$(sbatch_mpi mt $PM)
  for _ in $(seq 1200); do [ -e mt/permute_network_performance_1.csv ] && break; sleep 0.1; done
  scancel -b --signal=TERM "$j"
  vpar_wait_jobs "$j" || fail "MPI job after scancel -b --signal=TERM did not end"
  c=$(exit_code "$j")
  [ "$c" = 75 ] && [ ! -e mt/aggregate.csv ] && ok "scancel -b --signal=TERM: the MPI job exits 75" ||
    fail "MPI job after scancel -b --signal=TERM: exit '$c' (want 75): $(cat mt.$j.out)"

  # a rank crash (rank 1 dies after its first permutation): the job fails; resubmit
  j=$(sbatch_mpi mc $P VPAR_FARM_TEST_CRASH=1:1)
  vpar_wait_jobs "$j" || fail "crashing MPI job did not end"
  st=$(vpar_job_state "$j")
  [ "$st" != COMPLETED ] && [ ! -e mc/aggregate.csv ] && ok "a rank crash fails the MPI job ($st)" ||
    fail "rank crash: job $st"
  j=$(sbatch_mpi mc $P)
  if vpar_wait_jobs "$j"; then
    [ "$(vpar_job_state "$j")" = COMPLETED ] || fail "after the crash: $(vpar_job_state "$j"): $(cat mc.$j.out)"
    same_files ref_a mc "MPI job after a rank crash + resubmission" aggregate.csv aggregate.svg $(perms $P)
  else fail "resubmission after the crash did not end"; fi
fi

if [ $failures -ne 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "Slurm job tests passed"
