#!/usr/bin/env bash
# tests/cluster/smoke.sh — a real Slurm round trip: an array job of three
# tasks (one of them fails) and a merge job with --dependency=afterany,
# states read with scontrol show job (there is no slurmdbd). Uses the
# running test cluster, or starts one (tests/cluster/slurm-start.sh) and
# stops it at the end. Exit 77 when Slurm is missing or we are not root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
vpar_slurm_require
started=0
if ! vpar_slurm_up; then
  "$here/slurm-start.sh"
  started=1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/vpar_smoke.XXXXXX")
cleanup() {
  rm -rf "$work"
  if [ $started = 1 ]; then "$here/slurm-stop.sh" >/dev/null; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

cd "$work"
# Task 2 fails; afterany must still start the merge.
arr=$(sbatch --parsable --job-name=vpar-smoke --array=1-3 --output="$work/a_%a.out" \
  --wrap 'echo part $SLURM_ARRAY_TASK_ID of $SLURM_ARRAY_TASK_COUNT > '"$work"'/part_$SLURM_ARRAY_TASK_ID; [ $SLURM_ARRAY_TASK_ID != 2 ]')
arr=${arr%%;*}
merge=$(sbatch --parsable --job-name=vpar-merge --dependency=afterany:$arr --output="$work/m.out" \
  --wrap 'cat '"$work"'/part_* > '"$work"'/merged')
merge=${merge%%;*}
echo "array job $arr, merge job $merge"
VPAR_WAIT=${VPAR_WAIT:-180} vpar_wait_jobs "${arr}_1" "${arr}_2" "${arr}_3" "$merge"
for t in 1 3; do
  st=$(vpar_job_state "${arr}_$t")
  [ "$st" = COMPLETED ] || fail "array task $t: $st"
done
st=$(vpar_job_state "${arr}_2")
[ "$st" = FAILED ] || fail "array task 2 should have FAILED (exit 1): $st"
st=$(vpar_job_state "$merge")
[ "$st" = COMPLETED ] || fail "merge job: $st"
printf 'part 1 of 3\npart 2 of 3\npart 3 of 3\n' > want
cmp -s want merged || { cat merged; fail "merged output differs"; }
echo "slurm smoke test passed"
