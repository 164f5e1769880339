#!/usr/bin/env bash
# tests/cluster/slurm-stop.sh — stops the daemons slurm-start.sh started
# (slurmd, slurmctld, and munged when it started it), by their pid files.
# Safe to run when nothing runs; always exits 0.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
d=$VPAR_SLURM_DIR
stop_pidfile() {
  local f=$1 pid
  [ -s "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$f"
}
if [ -f "$SLURM_CONF" ] && command -v scancel >/dev/null 2>&1; then
  scancel --full --quiet --user=root 2>/dev/null || true
fi
stop_pidfile "$d/slurmd.pid"
stop_pidfile "$d/slurmctld.pid"
if [ -f "$d/munged.ours" ]; then
  stop_pidfile /run/munge/munged.pid
  rm -f "$d/munged.ours"
fi
echo "slurm: stopped"
exit 0
