#!/usr/bin/env bash
# vpar-egad over many networks as a Slurm job array, then one merge job.
#
#   NETS='nets/*.npy' GO=go.tsv GENES=genes.txt OUT=egad SHARDS=13 \
#     ./slurm-egad-array.sh
#
# Task t scores the networks i with i % SHARDS == t - 1 (command-line order)
# into OUT/<network>.csv; the merge writes OUT/summary.csv as one run would,
# or lists the shards to resubmit (ARRAY=...) and exits 3.
set -euo pipefail
: "${NETS:?networks}" "${GO:?annotations}" "${GENES:?genes file}"
: "${OUT:=egad}" "${SHARDS:=13}" "${ARRAY:=1-$SHARDS}"
: "${CPUS:=4}" "${MEM:=4G}" "${TIME:=01:00:00}" "${VPAR_BIN:=}"
bin=${VPAR_BIN:+$VPAR_BIN/}vpar-egad
mkdir -p "$OUT/logs"
# shellcheck disable=SC2086
array=$(sbatch --parsable --job-name=vpar-egad --array="$ARRAY" \
  --cpus-per-task="$CPUS" --mem="$MEM" --time="$TIME" \
  --signal=B:USR1@60 --output="$OUT/logs/egad-%A_%a.out" \
  --wrap="exec $bin --annotations $GO --genes $GENES --shard auto/$SHARDS \
          --out $OUT --resume -j 1 -t $CPUS -q $NETS")
merge=$(sbatch --parsable --job-name=vpar-egad-merge --dependency="afterany:$array" \
  --cpus-per-task=1 --mem=1G --time=00:10:00 --output="$OUT/logs/merge-%j.out" \
  --wrap="exec $bin --merge $OUT")
echo "array job $array, merge job $merge"
