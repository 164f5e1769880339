#!/usr/bin/env bash
# vpar-aggregate as a Slurm job array, then one merge job.
#
#   NETS='nets/*.npy' GO=go.tsv GENES=genes.txt OUT=agg P=100 SHARDS=20 \
#     ./slurm-aggregate-array.sh
#
# Each array task computes the permutations i with i % SHARDS == task - 1
# (--shard auto/SHARDS: the task id is the shard), writes
# OUT/permute_network_performance_<i>.csv and its manifest
# OUT/vpar-part-<task>-of-SHARDS.txt. The merge job runs after every task
# ended, however it ended (afterany), and writes OUT/aggregate.csv and the
# plot exactly as one `vpar-aggregate -p P` run would. When a task failed or
# was preempted, the merge exits 3 and prints the array spec to resubmit:
#   SHARDS=20 ARRAY=3,7,12-14 ./slurm-aggregate-array.sh
# (finished permutations are skipped; the shard count must stay the same).
set -euo pipefail
: "${NETS:?networks, e.g. NETS='nets/*.npy'}" "${GO:?annotations}" "${GENES:?genes file}"
: "${OUT:=agg}" "${P:=100}" "${SEED:=1}" "${SHARDS:=20}" "${ARRAY:=1-$SHARDS}"
: "${CPUS:=4}" "${MEM:=8G}" "${TIME:=02:00:00}" "${VPAR_BIN:=}"
bin=${VPAR_BIN:+$VPAR_BIN/}vpar-aggregate
mkdir -p "$OUT/logs"
# shellcheck disable=SC2086 # NETS is a glob on purpose
array=$(sbatch --parsable --job-name=vpar-agg --array="$ARRAY" \
  --cpus-per-task="$CPUS" --mem="$MEM" --time="$TIME" \
  --signal=B:USR1@120 --output="$OUT/logs/agg-%A_%a.out" \
  --wrap="exec $bin --annotations $GO --genes $GENES -p $P --seed $SEED \
          --shard auto/$SHARDS -o $OUT -j 1 -t $CPUS -q $NETS")
merge=$(sbatch --parsable --job-name=vpar-agg-merge --dependency="afterany:$array" \
  --cpus-per-task=1 --mem=1G --time=00:10:00 --output="$OUT/logs/merge-%j.out" \
  --wrap="exec $bin --merge $OUT --plot $OUT/aggregate.svg")
echo "array job $array, merge job $merge"
