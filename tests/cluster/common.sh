# Sourced by the tests/cluster scripts: where the single-node test cluster
# lives and how to reach it. VPAR_SLURM_DIR (default /tmp/vpar-slurm) holds
# slurm.conf, state, spool, logs and pid files; every Slurm command finds
# the configuration through SLURM_CONF.
VPAR_SLURM_DIR=${VPAR_SLURM_DIR:-/tmp/vpar-slurm}
export SLURM_CONF=$VPAR_SLURM_DIR/slurm.conf

# Exit 77 (ctest SKIP) with a message unless Slurm and munge are installed
# and we are root.
vpar_slurm_require() {
  local c
  for c in munged slurmctld slurmd sbatch scontrol scancel; do
    if ! command -v "$c" >/dev/null 2>&1; then
      echo "SKIP: $c not found (apt-get install slurmctld slurmd slurm-client munge)"
      exit 77
    fi
  done
  if [ "$(id -u)" != 0 ]; then
    echo "SKIP: the test cluster runs its daemons as root (SlurmUser=root); run as root"
    exit 77
  fi
}

vpar_slurm_up() { scontrol ping 2>/dev/null | grep -q 'is UP'; }

# Prints the JobState of job $1 (an array task: 12_3).
vpar_job_state() {
  scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -1
}

# Waits until every job id given is in a final state (at most $VPAR_WAIT s).
vpar_wait_jobs() {
  local deadline=$(( $(date +%s) + ${VPAR_WAIT:-120} )) id st pending
  while :; do
    pending=0
    for id in "$@"; do
      st=$(vpar_job_state "$id")
      case $st in
        COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|PREEMPTED|OUT_OF_MEMORY|DEADLINE|BOOT_FAIL) ;;
        *) pending=1 ;;
      esac
    done
    [ $pending = 0 ] && return 0
    if [ "$(date +%s)" -ge $deadline ]; then
      echo "timed out waiting for jobs $*:" >&2
      for id in "$@"; do scontrol show job "$id" >&2; done
      return 1
    fi
    sleep 1
  done
}
