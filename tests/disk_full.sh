#!/usr/bin/env bash
# Output on a full disk (issue 14): vpar-egad and vpar-aggregate write into a
# small private tmpfs (ENOSPC). Each must exit non-zero with a message naming
# the file, leave no partial output (every file present equals the one a run
# with room writes), and, once there is room again (the tmpfs remounted
# larger), a rerun with --resume must complete with the same outputs as the
# run with room.
#   disk_full.sh VPAR_EGAD VPAR_AGGREGATE DATA_DIR
# Needs root for a private mount namespace (unshare -m) and mount -t tmpfs;
# exits 77 (ctest: skipped) otherwise. CI runs as root.
set -u
egad=$1 agg=$2 data=$3
if [ -z "${VPAR_DISK_FULL_INNER:-}" ]; then
  if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null; then
    echo "SKIP: needs root and unshare(1) for a private tmpfs"
    exit 77
  fi
  exec env VPAR_DISK_FULL_INNER=1 unshare -m --propagation private bash "$0" "$@"
fi
tmp=$(mktemp -d /tmp/vpar_disk_full.XXXXXX)
small=$tmp/small
mkdir "$small"
trap 'umount "$small" 2>/dev/null; rm -rf "$tmp"' EXIT
if ! mount -t tmpfs -o size=16k tmpfs "$small"; then
  echo "SKIP: cannot mount a tmpfs here"
  exit 77
fi
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

# Every file in $1 must equal its namesake in $2 (whole or absent).
whole_or_absent() {
  local f
  for f in "$1"/*; do
    [ -e "$f" ] || continue
    # the manifest has its own format; egad's summary.csv lists the failure
    case $(basename "$f") in vpar-part-*|summary.csv) continue ;; esac
    if [ ! -e "$2/$(basename "$f")" ] || ! cmp -s "$f" "$2/$(basename "$f")"; then
      fail "$3: $(basename "$f") is not the complete file"
    fi
    case $f in *.tmp.*) fail "$3: temporary $(basename "$f") left behind" ;; esac
  done
}

# ---- vpar-egad: the network's CSV (46 KB) does not fit in 16 KB -------------
fx=$data/fixtures/egad_small
eg=(--annotations "$fx/go.tsv" --genes "$fx/genes.txt" -q)
"$egad" "${eg[@]}" --out "$tmp/egad_room" "$fx/nw_00.npy" || fail "egad: the run with room failed"
"$egad" "${eg[@]}" --out "$small/egad" "$fx/nw_00.npy" 2>"$tmp/egad.err"
rc=$?
[ $rc -ne 0 ] || fail "egad on a full disk exited 0"
grep -q "nw_00.csv" "$tmp/egad.err" || fail "egad: the message does not name the file: $(cat "$tmp/egad.err")"
grep -qi "space" "$tmp/egad.err" || fail "egad: the message does not say the disk is full: $(cat "$tmp/egad.err")"
[ -e "$small/egad/nw_00.csv" ] && fail "egad: nw_00.csv exists after a failed write"
whole_or_absent "$small/egad" "$tmp/egad_room" egad
if [ -e "$small/egad/summary.csv" ] && ! grep -q "^nw_00,error," "$small/egad/summary.csv"; then
  fail "egad: summary.csv does not list nw_00 as an error: $(cat "$small/egad/summary.csv")"
fi
[ $rc -ne 0 ] && ok "egad: exit $rc, $(head -c 200 "$tmp/egad.err" | head -1)"
mount -o remount,size=4m "$small" || fail "remount"
"$egad" "${eg[@]}" --resume --out "$small/egad" "$fx/nw_00.npy" || fail "egad --resume after freeing space failed"
for f in nw_00.csv summary.csv; do
  if [ "$f" = summary.csv ]; then
    # the seconds column differs between runs
    cmp -s <(cut -d, -f1-4 "$small/egad/$f") <(cut -d, -f1-4 "$tmp/egad_room/$f") ||
      fail "egad --resume: $f differs from the run with room"
  else
    cmp -s "$small/egad/$f" "$tmp/egad_room/$f" || fail "egad --resume: $f differs from the run with room"
  fi
done
ok "egad --resume completes with room"
umount "$small"
mount -t tmpfs -o size=40k tmpfs "$small" # ten pages: a few permutation files fit

# ---- vpar-aggregate: 12 permutation files (a page each), 10 pages of room ---
fa=$data/fixtures/aggregate
ag=(--annotations "$fa/go.tsv" --genes "$fa/genes.txt" -p 12 -s 7 -q "$fa"/nw_0{0,1,2,3}.npy)
"$agg" "${ag[@]}" --out "$tmp/agg_room" || fail "aggregate: the run with room failed"
"$agg" "${ag[@]}" --out "$small/agg" 2>"$tmp/agg.err"
rc=$?
[ $rc -ne 0 ] || fail "aggregate on a full disk exited 0"
grep -q "$small/agg/" "$tmp/agg.err" || fail "aggregate: the message does not name the file: $(cat "$tmp/agg.err")"
grep -qi "space" "$tmp/agg.err" || fail "aggregate: the message does not say the disk is full: $(cat "$tmp/agg.err")"
whole_or_absent "$small/agg" "$tmp/agg_room" aggregate
[ $rc -ne 0 ] && ok "aggregate: exit $rc, $(head -1 "$tmp/agg.err")"
mount -o remount,size=4m "$small" || fail "remount"
"$agg" "${ag[@]}" --out "$small/agg" || fail "aggregate rerun (resumes by default) after freeing space failed"
for f in "$tmp/agg_room"/*.csv; do
  cmp -s "$f" "$small/agg/$(basename "$f")" || fail "aggregate resume: $(basename "$f") differs from the run with room"
done
ok "aggregate resumes and completes with room"

[ $failures -eq 0 ] && echo "all disk-full checks passed"
[ $failures -eq 0 ]
