#!/usr/bin/env bash
# tests/cluster/slurm-start.sh — starts a real single-node Slurm without
# systemd (Debian 12, as root): munged, `slurmctld -i` and slurmd, with a
# private slurm.conf (SlurmUser=root, proctrack/linuxproc, task/none, no
# accounting, no slurmdbd) in $VPAR_SLURM_DIR (default /tmp/vpar-slurm).
# Then: export SLURM_CONF=$VPAR_SLURM_DIR/slurm.conf and use sbatch,
# scontrol, scancel as usual. Stop it with tests/cluster/slurm-stop.sh.
# Exit 77 when Slurm/munge are not installed or we are not root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
vpar_slurm_require
d=$VPAR_SLURM_DIR
if vpar_slurm_up; then echo "slurm: already running ($SLURM_CONF)"; exit 0; fi
mkdir -p "$d/state" "$d/spool" "$d/log"

# munge: a key, its directories, the daemon (shared by every Slurm
# command; left alone when it already runs).
if ! munge -n </dev/null >/dev/null 2>&1; then
  mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge
  if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
  chown root:root /etc/munge /etc/munge/munge.key /var/lib/munge /var/log/munge /run/munge
  chmod 0700 /etc/munge /var/lib/munge /var/log/munge
  chmod 0755 /run/munge
  chmod 0400 /etc/munge/munge.key
  munged --force
  touch "$d/munged.ours"
  for _ in $(seq 50); do munge -n </dev/null >/dev/null 2>&1 && break; sleep 0.1; done
  munge -n </dev/null | unmunge >/dev/null || { echo "munged does not work" >&2; exit 1; }
fi

host=$(hostname -s)
# The node line exactly as slurmd detects this machine (CPUs, memory, ...).
node=$(slurmd -C | head -1)
case $node in NodeName=*) ;; *) echo "slurmd -C printed: $node" >&2; exit 1 ;; esac
cat >"$SLURM_CONF" <<CONF
# Single-node test cluster written by tests/cluster/slurm-start.sh.
ClusterName=vpar-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/slurmctld.pid
SlurmdPidFile=$d/slurmd.pid
SlurmctldLogFile=$d/log/slurmctld.log
SlurmdLogFile=$d/log/slurmd.log
SlurmctldPort=${VPAR_SLURMCTLD_PORT:-6817}
SlurmdPort=${VPAR_SLURMD_PORT:-6818}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
# finished jobs stay visible to scontrol show job for an hour
MinJobAge=3600
KillWait=10
InactiveLimit=0
SlurmdTimeout=60
$node State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF

slurmctld -i
for _ in $(seq 100); do vpar_slurm_up && break; sleep 0.2; done
vpar_slurm_up || { echo "slurmctld did not come up; log:" >&2; tail -20 "$d/log/slurmctld.log" >&2; exit 1; }
slurmd
for _ in $(seq 100); do
  st=$(scontrol show node "$host" 2>/dev/null | sed -n 's/.*State=\([A-Z+_]*\).*/\1/p' | head -1)
  case $st in IDLE*|MIXED*|ALLOCATED*) break ;; esac
  sleep 0.2
done
case ${st:-} in
  IDLE*|MIXED*|ALLOCATED*) ;;
  *) echo "node $host is '${st:-unknown}', not IDLE; slurmd log:" >&2
     tail -20 "$d/log/slurmd.log" >&2; exit 1 ;;
esac
echo "slurm: up, node $host $st (SLURM_CONF=$SLURM_CONF)"
