#!/usr/bin/env bash
# tests/cluster/sge.sh VPAR_AGGREGATE DATA_DIR — the Grid Engine template
# examples/cluster/sge-aggregate-array.sh as a user runs it, under a fake
# qsub (tests/cluster/fake-sge: records jobs; run-queue starts them one task
# at a time with SGE_TASK_ID/FIRST/LAST/STEPSIZE set, honouring -hold_jid
# and otherwise running the newest job first). No Grid Engine is needed:
# - the shim itself: a held job waits for its hold, an unheld one does not,
#   a hold on a job that does not exist never runs;
# - an array of 3 shards + the held merge: the tasks run before the merge,
#   every task exits 0, each part is the shard its SGE_TASK_ID names, and
#   aggregate.csv, the plot and every permutation file equal a one-machine
#   run byte for byte;
# - TASKS=1-3:2 (shards 1 and 3, SGE_TASK_STEPSIZE=2): the merge exits 3
#   naming shard 2; resubmitting TASKS=2-2 completes the job identically
#   without rewriting a finished permutation file.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
agg=$(readlink -f "$1") data=$(readlink -f "$2")
fx=$data/fixtures/aggregate
work=$(mktemp -d "${TMPDIR:-/tmp}/vpar_sge.XXXXXX")
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
cd "$work" || exit 1
unset SLURM_ARRAY_TASK_ID SLURM_ARRAY_TASK_COUNT SLURM_ARRAY_TASK_MIN SGE_TASK_ID SGE_TASK_FIRST \
      SGE_TASK_LAST SGE_TASK_STEPSIZE OMPI_COMM_WORLD_SIZE PMI_SIZE PMI_RANK PMIX_RANK
export PATH=$here/fake-sge:$PATH
spool() { export FAKE_SGE_SPOOL=$work/spool_$1; mkdir -p "$FAKE_SGE_SPOOL"; }
statuses() { cat "$FAKE_SGE_SPOOL"/jobs/*/status 2>/dev/null | awk '$2 != 0 { print "task " $1 " exited " $2 }'; }

# ---- the shim: -hold_jid ordering ------------------------------------------
spool shim
a=$(qsub -terse -b y touch "$work/first")
qsub -terse -b y test -e "$work/first" >/dev/null            # no hold: runs first, fails
qsub -terse -hold_jid "$a" -b y test -e "$work/first" >/dev/null
run-queue >/dev/null
st=$(cat "$FAKE_SGE_SPOOL/jobs/102/status" "$FAKE_SGE_SPOOL/jobs/103/status" 2>/dev/null | tr '\n' ' ')
[ "$st" = "undefined 1 undefined 0 " ] && ok "fake qsub: the newest job runs first unless held" ||
  fail "fake qsub: statuses of the unheld and the held job: '$st' (want 'undefined 1 undefined 0 ')"
spool shim2
qsub -terse -hold_jid 999 -b y true >/dev/null
run-queue >/dev/null 2>&1 && fail "fake qsub: a job held on a missing job ran" ||
  ok "fake qsub: a hold on a missing job never runs"

# ---- the template: array of 3 + held merge -----------------------------------
P=5 SEED=3
nets=("$fx"/nw_0{0,1,2}.npy)
"$agg" --annotations "$fx/go.tsv" --genes "$fx/genes.txt" -p $P --seed $SEED --out ref \
  --plot ref/aggregate.svg -q "${nets[@]}" || fail "one-machine vpar-aggregate"
files=(aggregate.csv aggregate.svg)
for ((i = 1; i <= P; i++)); do files+=("permute_network_performance_$i.csv"); done
same() {  # dir what
  local f bad=0
  for f in "${files[@]}"; do cmp -s "ref/$f" "$1/$f" || { fail "$2: $f differs from the one-machine run"; bad=1; }; done
  [ $bad = 0 ] && ok "$2: outputs == one machine"
}
template() {  # OUT TASKS
  NETS="$fx/nw_0[012].npy" GO=$fx/go.tsv GENES=$fx/genes.txt OUT=$1 P=$P SEED=$SEED SHARDS=3 MAXRUN=2 \
    SLOTS=1 TASKS=$2 VPAR_BIN=$(dirname "$agg") bash "$src/examples/cluster/sge-aggregate-array.sh"
}
spool a
ids=$(template "$work/a" 1-3) || fail "sge-aggregate-array.sh failed to submit"
[ "$(echo $ids)" = 102 ] || fail "the template printed '$(echo $ids)' (want the merge's job id, 102)"
[ -e a/aggregate.csv ] && fail "outputs before anything ran"
order=$(run-queue) || fail "run-queue: $order"
want="ran job 101 (vpar-agg) task 1
ran job 101 (vpar-agg) task 2
ran job 101 (vpar-agg) task 3
ran job 102 (vpar-agg-merge) task undefined"
[ "$order" = "$want" ] && ok "the merge ran after the 3 array tasks (-hold_jid)" ||
  fail "run order: $order"
bad=$(statuses); [ -z "$bad" ] && ok "every task exited 0" || fail "$bad (logs: $(cat a/logs/* | tail -5))"
for s in 1 2 3; do
  grep -qx "shard $s 3" "a/vpar-part-$s-of-3.txt" 2>/dev/null || fail "task $s did not write shard $s of 3"
done
same a "Grid Engine array (3 shards, SGE_TASK_ID) + held merge"

# ---- shards 1 and 3 (stepsize 2), the merge lists 2, resubmit 2 -------------
spool b
template "$work/b" 1-3:2 >/dev/null || fail "submit 1-3:2"
run-queue >/dev/null || fail "run-queue (1-3:2)"
st=$(cat "$FAKE_SGE_SPOOL/jobs/101/status" "$FAKE_SGE_SPOOL/jobs/102/status" | tr '\n' ' ')
[ "$st" = "1 0 3 0 undefined 3 " ] && ok "TASKS=1-3:2: tasks 1 and 3 ran, the merge exited 3" ||
  fail "TASKS=1-3:2 statuses '$st' (want '1 0 3 0 undefined 3 ')"
grep -q -- '--array=2\b' b/logs/vpar-agg-merge.o102 && ok "the merge lists shard 2" ||
  fail "the merge's log does not list --array=2: $(cat b/logs/vpar-agg-merge.o102)"
before=$(stat -c '%n %Y %s' b/permute_network_performance_*.csv | sort)
sleep 1
template "$work/b" 2-2 >/dev/null || fail "submit 2-2"
run-queue >/dev/null || fail "run-queue (2-2)"
st=$(cat "$FAKE_SGE_SPOOL/jobs/103/status" "$FAKE_SGE_SPOOL/jobs/104/status" | tr '\n' ' ')
[ "$st" = "2 0 undefined 0 " ] || fail "resubmission statuses '$st' (want '2 0 undefined 0 ')"
after=$(stat -c '%n %Y %s' b/permute_network_performance_*.csv | sort)
kept=$(comm -12 <(echo "$before") <(echo "$after") | wc -l)
[ "$kept" = "$(echo "$before" | grep -c .)" ] && ok "no finished permutation file was rewritten" ||
  fail "finished permutation files changed on resubmission"
same b "Grid Engine 1-3:2 + resubmitted 2-2"

[ $failures = 0 ] && { echo "sge template tests passed"; exit 0; }
echo "$failures failure(s)"; exit 1
