#!/usr/bin/env bash
# vpar-aggregate as a Grid Engine array job (qsub -t 1-N -tc M), then a
# merge held on it (-hold_jid).
#
#   NETS='nets/*.npy' GO=go.tsv GENES=genes.txt OUT=agg P=100 SHARDS=20 MAXRUN=8 \
#     ./sge-aggregate-array.sh
#
# SGE_TASK_ID is the shard (--shard auto/SHARDS). Resubmit missing shards
# with TASKS=3-3 (Grid Engine arrays are ranges: one qsub per range the
# merge lists).
set -euo pipefail
: "${NETS:?networks}" "${GO:?annotations}" "${GENES:?genes file}"
: "${OUT:=agg}" "${P:=100}" "${SEED:=1}" "${SHARDS:=20}" "${MAXRUN:=8}"
: "${TASKS:=1-$SHARDS}" "${SLOTS:=4}" "${VPAR_BIN:=}" "${PE:=smp}"
bin=${VPAR_BIN:+$VPAR_BIN/}vpar-aggregate
mkdir -p "$OUT/logs"
# -notify: Grid Engine sends SIGUSR1 before a suspend/kill (s_rt warnings
# likewise); vpar-aggregate stops cleanly and the finished permutations stay.
jid=$(qsub -terse -N vpar-agg -t "$TASKS" -tc "$MAXRUN" -pe "$PE" "$SLOTS" -notify -cwd \
  -o "$OUT/logs" -j y -b y \
  "$bin" --annotations "$GO" --genes "$GENES" -p "$P" --seed "$SEED" \
  --shard "auto/$SHARDS" -o "$OUT" -j 1 -t "$SLOTS" -q $NETS)
jid=${jid%%.*}
qsub -terse -N vpar-agg-merge -hold_jid "$jid" -cwd -o "$OUT/logs" -j y -b y \
  "$bin" --merge "$OUT" --plot "$OUT/aggregate.svg"
