#!/usr/bin/env bash
# vpar-egad and vpar-aggregate beyond one machine (issue 16), end to end:
#   test_cluster_cli.sh shards|mpi VPAR_EGAD VPAR_AGGREGATE DATA_DIR [MPIEXEC FLAVOR]
# shards: job-array shards with no scheduler and no MPI
#   - shards 1..N/N + --merge == the one-machine outputs (egad CSVs,
#     summary.csv, aggregate.csv, permutation CSVs, the SVG)
#   - a missing shard: --merge exits 3 and prints the --array= spec to resubmit
#   - a part made with other options (--nfold 4): --merge refuses (exit 2),
#     naming the part
#   - --shard auto under Grid Engine (SGE_TASK_*) and Slurm
#     (SLURM_ARRAY_TASK_*) variables set here; outside an array: exit 2
#   - --resume of a shard recomputes nothing done (file mtimes unchanged,
#     the summary line counts them) and redoes a damaged CSV
# mpi: the programs under mpirun (skips with 77 without a launcher)
#   - -np 1, 2, 3 == one machine, both programs
#   - SIGUSR1 to the ranks mid-run -> exit 75; the rerun restores the
#     journaled permutations ("N ... restored from the journal") and ends
#     with identical outputs
#   - a rank crash (VPAR_EGAD_TEST_CRASH, VPAR_FARM_TEST_CRASH) aborts the
#     job; --resume completes it identically
# The expected outputs are those of one process on one machine: the
# programs' own golden tests (test_egad_cli, test_aggregate_cli) check
# those against independent references; here every other way of running
# must reproduce them byte for byte.
set -u
mode=$1 egad=$2 agg=$3 data=$4 mpiexec=${5:-} flavor=${6:-}
fx=$data/fixtures/aggregate
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vpar_cluster_cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
nets=("$fx"/nw_0{0,1,2,3,4,5}.npy)
common=(--annotations "$fx/go.tsv" --genes "$fx/genes.txt")
# no scheduler or launcher variables from the environment that runs ctest
unset SLURM_ARRAY_TASK_ID SLURM_ARRAY_TASK_MIN SLURM_ARRAY_TASK_MAX SLURM_ARRAY_TASK_STEP \
      SLURM_ARRAY_TASK_COUNT SGE_TASK_ID SGE_TASK_FIRST SGE_TASK_LAST SGE_TASK_STEPSIZE \
      OMPI_COMM_WORLD_SIZE PMI_SIZE PMI_RANK PMIX_RANK
E() { "$egad" "${common[@]}" "$@"; }
A() { "$agg" "${common[@]}" "$@"; }
P=5   # permutations of the aggregate runs

# summary.csv without its last column: `seconds` is the time a network
# took, different in every run; everything else must be identical.
nosec() { cut -d, -f1-4 "$1"; }
# same_egad REF DIR WHAT: every network CSV byte-identical, summary.csv
# identical but for the seconds column.
same_egad() {
  local f bad=0
  for f in "$1"/nw_0?.csv; do
    cmp -s "$f" "$2/${f##*/}" || { fail "$3: ${f##*/} differs from the one-machine run"; bad=1; }
  done
  if [ ! -f "$2/summary.csv" ] || [ "$(nosec "$1/summary.csv")" != "$(nosec "$2/summary.csv")" ]; then
    fail "$3: summary.csv differs (seconds column aside)"; bad=1
  fi
  [ $bad = 0 ] && ok "$3: egad outputs == one machine"
}
# same_agg REF DIR WHAT [SVG SVG]
same_agg() {
  local f bad=0
  for f in "$1"/permute_network_performance_*.csv "$1/aggregate.csv"; do
    cmp -s "$f" "$2/${f##*/}" || { fail "$3: ${f##*/} differs from the one-machine run"; bad=1; }
  done
  [ "$(ls "$2"/permute_network_performance_*.csv 2>/dev/null | wc -l)" = $P ] ||
    { fail "$3: not $P permutation files"; bad=1; }
  if [ $# -ge 5 ]; then cmp -s "$4" "$5" || { fail "$3: the plot differs"; bad=1; }; fi
  [ $bad = 0 ] && ok "$3: aggregate outputs == one machine"
}
mtimes() { (cd "$1" && stat -c '%n %.9Y' "${@:2}"); }

# ---- one-machine references -------------------------------------------------
E --out "$tmp/ref_e" -q "${nets[@]}" || fail "one-machine vpar-egad"
A -p $P --seed 5 --out "$tmp/ref_a" --plot "$tmp/ref_a.svg" -q "${nets[@]}" ||
  fail "one-machine vpar-aggregate"
[ "$(tail -n +2 "$tmp/ref_e/summary.csv" | wc -l)" = 6 ] || fail "reference summary.csv: not 6 networks"
[ "$(tail -n +2 "$tmp/ref_a/aggregate.csv" | wc -l)" = $((P * 6)) ] || fail "reference aggregate.csv: not $P x 6 steps"

if [ "$mode" = shards ]; then
  # ---- egad: shards 1..3/3 + --merge --------------------------------------
  d=$tmp/e3
  for i in 1 2 3; do E --shard $i/3 --out "$d" -q "${nets[@]}" || fail "egad shard $i/3"; done
  [ -e "$d/summary.csv" ] && fail "a shard wrote summary.csv (only --merge does)"
  "$egad" --merge "$d" 2>"$tmp/err"; rc=$?
  [ $rc = 0 ] || fail "egad --merge: exit $rc: $(cat "$tmp/err")"
  same_egad "$tmp/ref_e" "$d" "egad shards 1..3/3 + --merge"

  # ---- aggregate: shards 1..2/2 (uneven: 3 + 2 permutations) + --merge --------
  d=$tmp/a2
  for i in 1 2; do A -p $P --seed 5 --shard $i/2 --out "$d" -q "${nets[@]}" || fail "aggregate shard $i/2"; done
  [ -e "$d/aggregate.csv" ] && fail "an aggregate shard wrote aggregate.csv"
  "$agg" --merge "$d" --plot "$tmp/a2.svg" 2>"$tmp/err"; rc=$?
  [ $rc = 0 ] || fail "aggregate --merge: exit $rc: $(cat "$tmp/err")"
  same_agg "$tmp/ref_a" "$d" "aggregate shards 1..2/2 + --merge" "$tmp/ref_a.svg" "$tmp/a2.svg"

  # ---- missing shards: exit 3 and the array spec ------------------------------
  d=$tmp/miss
  for i in 1 3; do E --shard $i/3 --out "$d" -q "${nets[@]}"; done
  "$egad" --merge "$d" 2>"$tmp/err"; rc=$?
  if [ $rc = 3 ] && grep -q -- '--array=2 ' "$tmp/err" && grep -q 'nw_01, nw_04' "$tmp/err" &&
     [ ! -e "$d/summary.csv" ]; then ok "egad --merge without shard 2/3: exit 3, --array=2"
  else fail "egad --merge without shard 2: exit $rc: $(cat "$tmp/err")"; fi
  d=$tmp/amiss   # 5 shards of one permutation each; 2, 3 and 4 missing
  for i in 1 5; do A -p $P --seed 5 --shard $i/5 --out "$d" -q "${nets[@]}"; done
  "$agg" --merge "$d" 2>"$tmp/err"; rc=$?
  if [ $rc = 3 ] && grep -q -- '--array=2-4' "$tmp/err" && [ ! -e "$d/aggregate.csv" ]; then
    ok "aggregate --merge without shards 2-4/5: exit 3, --array=2-4"
  else fail "aggregate --merge without shards 2-4: exit $rc: $(cat "$tmp/err")"; fi
  # resubmitted as the spec says, with --shard auto/5: the merge completes
  for i in 2 3 4; do
    SLURM_ARRAY_TASK_ID=$i A -p $P --seed 5 --shard auto/5 --out "$d" -q "${nets[@]}" ||
      fail "aggregate --shard auto/5 task $i"
  done
  "$agg" --merge "$d" 2>"$tmp/err" || fail "aggregate --merge after resubmitting: $(cat "$tmp/err")"
  same_agg "$tmp/ref_a" "$d" "aggregate resubmitted shards (--shard auto/5) + --merge"

  # ---- a part made with other options --------------------------------------
  d=$tmp/mismatch
  E --shard 1/3 --out "$d" -q "${nets[@]}"; E --shard 3/3 --out "$d" -q "${nets[@]}"
  E --shard 2/3 --nfold 4 --out "$d" -q "${nets[@]}"
  "$egad" --merge "$d" 2>"$tmp/err"; rc=$?
  if [ $rc = 2 ] && grep -q 'vpar-part-2-of-3.txt' "$tmp/err" && [ ! -e "$d/summary.csv" ]; then
    ok "egad --merge of a --nfold 4 part: exit 2 naming vpar-part-2-of-3.txt"
  else fail "egad --merge of a mismatched part: exit $rc: $(cat "$tmp/err")"; fi
  d=$tmp/amismatch
  A -p $P --seed 5 --shard 1/2 --out "$d" -q "${nets[@]}"
  A -p $P --seed 6 --shard 2/2 --out "$d" -q "${nets[@]}"
  "$agg" --merge "$d" 2>"$tmp/err"; rc=$?
  if [ $rc = 2 ] && grep -q 'vpar-part-2-of-2.txt' "$tmp/err" && [ ! -e "$d/aggregate.csv" ]; then
    ok "aggregate --merge of a --seed 6 part: exit 2 naming vpar-part-2-of-2.txt"
  else fail "aggregate --merge of a mismatched part: exit $rc: $(cat "$tmp/err")"; fi

  # ---- --shard auto ----------------------------------------------------------
  # Grid Engine `qsub -t 1-5:2`: tasks 1, 3, 5 -> task 3 is shard 2 of 3.
  # Slurm `--array=4-6`: task 6 is shard 3 of 3. Shard 1/3 given by hand.
  d=$tmp/auto
  SGE_TASK_ID=3 SGE_TASK_FIRST=1 SGE_TASK_LAST=5 SGE_TASK_STEPSIZE=2 \
    E --shard auto --out "$d" -q "${nets[@]}" || fail "--shard auto (SGE_TASK_ID=3 of 1-5:2)"
  [ -f "$d/vpar-part-2-of-3.txt" ] && [ -f "$d/nw_01.csv" ] && [ -f "$d/nw_04.csv" ] &&
    [ "$(ls "$d" | wc -l)" = 3 ] && ok "--shard auto, SGE task 3 of 1-5:2 = shard 2/3 (nw_01, nw_04)" ||
    fail "--shard auto under SGE: wrote $(ls "$d" | tr '\n' ' ')"
  SLURM_ARRAY_TASK_ID=6 SLURM_ARRAY_TASK_MIN=4 SLURM_ARRAY_TASK_MAX=6 SLURM_ARRAY_TASK_COUNT=3 \
    SGE_TASK_ID=undefined E --shard auto --out "$d" -q "${nets[@]}" || fail "--shard auto (Slurm 6 of 4-6)"
  [ -f "$d/vpar-part-3-of-3.txt" ] && [ -f "$d/nw_02.csv" ] && [ -f "$d/nw_05.csv" ] &&
    ok "--shard auto, Slurm task 6 of 4-6 = shard 3/3 (nw_02, nw_05)" || fail "--shard auto under Slurm"
  E --shard 1/3 --out "$d" -q "${nets[@]}"
  "$egad" --merge "$d" 2>"$tmp/err" || fail "merge of the auto shards: $(cat "$tmp/err")"
  same_egad "$tmp/ref_e" "$d" "--shard auto (SGE, Slurm) + 1/3 + --merge"
  for env in "" "SGE_TASK_ID=undefined SGE_TASK_FIRST=undefined SGE_TASK_LAST=undefined"; do
    env $env "$egad" "${common[@]}" --shard auto --out "$tmp/noarray" -q "${nets[@]}" 2>"$tmp/err"; rc=$?
    if [ $rc = 2 ] && grep -q 'not inside a job array' "$tmp/err" && [ ! -e "$tmp/noarray/nw_00.csv" ]; then
      ok "--shard auto outside an array (${env:-no variables}): exit 2"
    else fail "--shard auto outside an array (${env:-no variables}): exit $rc: $(cat "$tmp/err")"; fi
  done

  # ---- --resume of a shard ------------------------------------------------------
  d=$tmp/resume
  E --shard 1/2 --out "$d" -q "${nets[@]}" || fail "egad shard 1/2"
  files="nw_00.csv nw_02.csv nw_04.csv"
  before=$(mtimes "$d" $files)
  E --shard 1/2 --resume --out "$d" "${nets[@]}" 2>"$tmp/err" || fail "egad --resume: $(cat "$tmp/err")"
  if [ "$(mtimes "$d" $files)" = "$before" ] && grep -q '3 of 3 networks complete (3 resumed)' "$tmp/err"; then
    ok "egad --resume of a finished shard recomputes nothing"
  else fail "egad --resume recomputed: $(cat "$tmp/err")"; fi
  printf 'term,AUC\ngarbage\n' >"$d/nw_02.csv"       # damaged: same name, other bytes
  before=$(mtimes "$d" nw_00.csv nw_04.csv)
  E --shard 1/2 --resume --out "$d" "${nets[@]}" 2>"$tmp/err" || fail "egad --resume after damage: $(cat "$tmp/err")"
  if cmp -s "$d/nw_02.csv" "$tmp/ref_e/nw_02.csv" && [ "$(mtimes "$d" nw_00.csv nw_04.csv)" = "$before" ] &&
     grep -q '(2 resumed)' "$tmp/err"; then ok "egad --resume redoes only the damaged nw_02.csv"
  else fail "egad --resume after damage: $(cat "$tmp/err")"; fi
  E --shard 2/2 --resume --out "$d" -q "${nets[@]}" || fail "egad shard 2/2 --resume (fresh)"
  "$egad" --merge "$d" 2>"$tmp/err" || fail "merge after --resume: $(cat "$tmp/err")"
  same_egad "$tmp/ref_e" "$d" "egad shards after --resume + --merge"
  d=$tmp/aresume
  A -p $P --seed 5 --shard 1/2 --out "$d" -q "${nets[@]}" || fail "aggregate shard 1/2"
  files="permute_network_performance_1.csv permute_network_performance_3.csv permute_network_performance_5.csv"
  before=$(mtimes "$d" $files)
  A -p $P --seed 5 --shard 1/2 --out "$d" "${nets[@]}" 2>"$tmp/err" || fail "aggregate shard rerun"
  if [ "$(mtimes "$d" $files)" = "$before" ] && grep -q '3 permutations complete (3 resumed)' "$tmp/err"; then
    ok "aggregate shard rerun recomputes nothing"
  else fail "aggregate shard rerun recomputed: $(cat "$tmp/err")"; fi
  echo 'step,dataset,mean_auc' >"$d/permute_network_performance_3.csv"   # truncated
  A -p $P --seed 5 --shard 1/2 --out "$d" "${nets[@]}" 2>"$tmp/err" || fail "aggregate rerun after damage"
  if cmp -s "$d/permute_network_performance_3.csv" "$tmp/ref_a/permute_network_performance_3.csv" &&
     grep -q '(2 resumed)' "$tmp/err"; then ok "aggregate shard rerun redoes the damaged permutation 3"
  else fail "aggregate rerun after damage: $(cat "$tmp/err")"; fi
  A -p $P --seed 5 --shard 2/2 --out "$d" -q "${nets[@]}" || fail "aggregate shard 2/2"
  "$agg" --merge "$d" 2>"$tmp/err" || fail "aggregate merge after resume: $(cat "$tmp/err")"
  same_agg "$tmp/ref_a" "$d" "aggregate shards after resume + --merge"

  # ---- a shard told to stop (Slurm --signal=B:USR1, SIGTERM at walltime) ----------
  # No MPI: the program stops at the next step, exits 75, and the rerun
  # finishes the shard. The hook holds every permutation after the first
  # until the signal (see examples/aggregate/main.c), so it is always midway.
  for sig in USR1 TERM; do
    for jobs in 1 2; do
      d=$tmp/sig$sig$jobs
      VPAR_AGGREGATE_TEST_HOLD_AFTER=1 "$agg" "${common[@]}" -p $P --seed 5 --shard 1/2 -j $jobs -t 1 \
        --out "$d" -q "${nets[@]}" 2>"$tmp/err" &
      pid=$!
      for _ in $(seq 3000); do
        [ -e "$d/permute_network_performance_1.csv" ] && break
        kill -0 $pid 2>/dev/null || break
        sleep 0.02
      done
      kill -$sig $pid; wait $pid; rc=$?
      [ $rc = 0 ] || [ $rc = 75 ] || kill -KILL $pid 2>/dev/null   # not held forever
      if [ $rc = 75 ] && grep -q 'interrupted: 1 of 3 permutations complete' "$tmp/err"; then
        ok "aggregate shard -j $jobs, SIG$sig: exit 75 after permutation 1"
      else fail "aggregate shard -j $jobs, SIG$sig: exit $rc (want 75): $(cat "$tmp/err")"; fi
      A -p $P --seed 5 --shard 1/2 -j $jobs -t 1 --out "$d" "${nets[@]}" 2>"$tmp/err" &&
        grep -q '(1 resumed)' "$tmp/err" || fail "rerun after SIG$sig: $(cat "$tmp/err")"
      A -p $P --seed 5 --shard 2/2 --out "$d" -q "${nets[@]}" && "$agg" --merge "$d" 2>"$tmp/err" ||
        fail "merge after SIG$sig: $(cat "$tmp/err")"
      same_agg "$tmp/ref_a" "$d" "aggregate shard stopped by SIG$sig (-j $jobs), rerun + --merge"
    done
  done
fi

if [ "$mode" = mpi ]; then
  if [ -z "$mpiexec" ] || ! command -v "$mpiexec" >/dev/null 2>&1; then
    echo "SKIP: no MPI launcher (mpirun) found; the programs were built without MPI"; exit 77
  fi
  extra=()
  if [ "$flavor" = openmpi ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
    extra=(--oversubscribe)
  fi
  export UCX_MEM_EVENTS=no UCX_MEM_MMAP_HOOK_MODE=none
  run_mpi() { local np=$1; shift; "$mpiexec" "${extra[@]}" -np "$np" "$@"; }
  # every process below pid $1 (mpirun -> ranks, or mpiexec -> proxy -> ranks)
  descendants() { local c; for c in $(pgrep -P "$1"); do echo "$c"; descendants "$c"; done; }

  # ---- the MPI program is a sibling: vpar-X runs vpar-X-mpi under a launcher -----
  # The plain programs do not load libmpi; without the sibling beside them a
  # launched run fails with a message naming it (exit 2), computing nothing.
  for prog in "$egad" "$agg"; do
    name=$(basename "$prog") more=()
    [ "$prog" = "$agg" ] && more=(-p 1)
    if [ -x "$prog-mpi" ]; then
      if command -v readelf >/dev/null; then
        if readelf -d "$prog" | grep -q 'NEEDED.*libmpi'; then fail "$name links libmpi"
        else ok "$name does not load libmpi; $name-mpi does: $(readelf -d "$prog-mpi" | grep -c 'NEEDED.*libmpi')"; fi
      fi
      mkdir -p "$tmp/alone" && cp "$prog" "$tmp/alone/$name"
      OMPI_COMM_WORLD_SIZE=1 "$tmp/alone/$name" "${common[@]}" "${more[@]}" -t 1 --out "$tmp/alone/out" -q "${nets[@]}" \
        2>"$tmp/err"; rc=$?
      if [ $rc = 2 ] && grep -q "$tmp/alone/$name-mpi: cannot run this build's MPI program" "$tmp/err" &&
         [ ! -e "$tmp/alone/out" ]; then ok "$name without $name-mpi under a launcher: exit 2, says so"
      else fail "$name without $name-mpi under a launcher: exit $rc: $(cat "$tmp/err")"; fi
    else
      fail "$name-mpi missing beside $name in an MPI build"
    fi
  done

  for np in 1 2 3; do
    run_mpi $np "$egad" "${common[@]}" -t 1 --out "$tmp/me$np" -q "${nets[@]}" ||
      fail "mpirun -np $np vpar-egad"
    same_egad "$tmp/ref_e" "$tmp/me$np" "mpirun -np $np vpar-egad"
    run_mpi $np "$agg" "${common[@]}" -p $P --seed 5 -t 1 --out "$tmp/ma$np" --plot "$tmp/ma$np.svg" -q "${nets[@]}" ||
      fail "mpirun -np $np vpar-aggregate"
    same_agg "$tmp/ref_a" "$tmp/ma$np" "mpirun -np $np vpar-aggregate" "$tmp/ref_a.svg" "$tmp/ma$np.svg"
  done

  # ---- SIGUSR1 to the ranks mid-run, then the rerun ------------------------------
  # 40 permutations: long enough to be stopped after the first file.
  d=$tmp/usr1; J=$tmp/usr1.journal; PJ=40
  A -p $PJ --seed 5 --out "$tmp/ref_u" -q "${nets[@]}" || fail "one-machine -p $PJ"
  run_mpi 3 "$agg" "${common[@]}" -p $PJ --seed 5 -t 1 --out "$d" --journal "$J" -q "${nets[@]}" 2>"$tmp/err" &
  mp=$!
  for _ in $(seq 600); do [ -e "$d/permute_network_performance_1.csv" ] && break; sleep 0.1; done
  # the ranks run the MPI program: vpar-aggregate runs its sibling
  # vpar-aggregate-mpi in its place under a launcher (same pid)
  ranks=$(descendants $mp | while read -r p; do
            case "$(readlink "/proc/$p/exe" 2>/dev/null)" in
              "$(readlink -f "$agg")"|"$(readlink -f "$agg")-mpi") echo "$p" ;;
            esac; done)
  [ -n "$ranks" ] && kill -USR1 $ranks
  wait $mp; rc=$?
  ndone=$(ls "$d"/permute_network_performance_*.csv 2>/dev/null | wc -l)
  if [ $rc = 75 ] && [ "$ndone" -lt $PJ ] && [ ! -e "$d/aggregate.csv" ]; then
    ok "SIGUSR1 to the ranks: exit 75 after $ndone of $PJ permutations"
  else fail "SIGUSR1 to the ranks (${ranks:-none found}): exit $rc, $ndone files: $(tail -3 "$tmp/err")"; fi
  run_mpi 3 "$agg" "${common[@]}" -p $PJ --seed 5 -t 1 --out "$d" --journal "$J" "${nets[@]}" 2>"$tmp/err"; rc=$?
  restored=$(sed -n 's/.*: \([0-9]*\) permutations\{0,1\} restored from the journal.*/\1/p' "$tmp/err")
  if [ $rc = 0 ] && [ "${restored:-0}" -ge 2 ] && [ "$restored" = "$ndone" ]; then
    ok "rerun after SIGUSR1: the $restored journaled permutations restored, not recomputed"
  else fail "rerun after SIGUSR1: exit $rc, restored '${restored}' of $ndone: $(cat "$tmp/err")"; fi
  # the summary line counts only the steps this run computed
  want="$(( (PJ - ${restored:-0}) * 6 )) steps computed"
  grep -q "$want" "$tmp/err" && grep -q "${restored:-0} permutations\{0,1\} resumed" "$tmp/err" &&
    ok "rerun after SIGUSR1: the summary counts $want, ${restored:-0} resumed" ||
    fail "rerun after SIGUSR1: summary line, want '$want' and '${restored:-0} resumed': $(tail -1 "$tmp/err")"
  P=$PJ same_agg "$tmp/ref_u" "$d" "aggregate after SIGUSR1 + rerun"

  # ---- a rank crash, then --resume ------------------------------------------------
  d=$tmp/crash; J=$tmp/crash.journal
  VPAR_EGAD_TEST_CRASH=nw_03 run_mpi 2 "$egad" "${common[@]}" -t 1 --out "$d" --journal "$J" -q "${nets[@]}" \
    >/dev/null 2>&1; rc=$?
  [ $rc != 0 ] && [ ! -e "$d/summary.csv" ] && ok "egad: the rank running nw_03 dies: the job aborts (exit $rc)" ||
    fail "egad crash of nw_03: exit $rc"
  run_mpi 2 "$egad" "${common[@]}" -t 1 --out "$d" --journal "$J" --resume "${nets[@]}" 2>"$tmp/err" ||
    fail "egad --resume after the crash: $(cat "$tmp/err")"
  grep -q 'restored from the journal' "$tmp/err" || fail "egad --resume after the crash restored nothing: $(cat "$tmp/err")"
  same_egad "$tmp/ref_e" "$d" "egad crash + --journal --resume"
  d=$tmp/acrash; J=$tmp/acrash.journal
  VPAR_FARM_TEST_CRASH=1:1 run_mpi 2 "$agg" "${common[@]}" -p $P --seed 5 -t 1 --out "$d" --journal "$J" -q \
    "${nets[@]}" >/dev/null 2>&1; rc=$?
  [ $rc != 0 ] && [ ! -e "$d/aggregate.csv" ] && ok "aggregate: rank 1 dies after one permutation: exit $rc" ||
    fail "aggregate rank crash: exit $rc"
  run_mpi 2 "$agg" "${common[@]}" -p $P --seed 5 -t 1 --out "$d" --journal "$J" "${nets[@]}" 2>"$tmp/err" ||
    fail "aggregate rerun after the crash: $(cat "$tmp/err")"
  grep -q 'restored from the journal' "$tmp/err" || fail "aggregate rerun after the crash restored nothing: $(cat "$tmp/err")"
  same_agg "$tmp/ref_a" "$d" "aggregate rank crash + rerun"
fi

if [ $failures -ne 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "all passed"
