#!/usr/bin/env bash
# Stop the one-node Slurm cluster that scripts/slurm/start.sh started: the
# daemons whose PIDs it recorded in $BREEDHUB_SLURM_STATE (default
# /run/breedhub-slurm), and nothing else. Jobs still queued or running on it
# are cancelled first. Run as root; does nothing when nothing is recorded.
set -uo pipefail
state=${BREEDHUB_SLURM_STATE:-/run/breedhub-slurm}

# The recorded PID is still that daemon (not exited, not a reused PID).
alive() {
  local pid=$1 name=$2 stat
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$name" ]] || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]  # an exited daemon nobody reaped stays as a zombie
}

pid_of() {
  local f=$state/$1.pid pid
  [[ -s $f ]] || return 1
  pid=$(<"$f")
  [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" "$1" && echo "$pid"
}

if pid_of slurmctld >/dev/null; then
  jobs=$(squeue -h -o %i 2>/dev/null)
  if [[ -n $jobs ]]; then
    echo "slurm: cancelling jobs $(echo $jobs)"
    # shellcheck disable=SC2086
    scancel $jobs 2>/dev/null
    for _ in $(seq 1 40); do
      [[ -z $(squeue -h -t RUNNING,COMPLETING -o %i 2>/dev/null) ]] && break
      sleep 0.25
    done
  fi
fi

status=0
for name in slurmd slurmctld munged; do
  if pid=$(pid_of "$name"); then
    kill -TERM "$pid" || { status=1; continue; }
    for _ in $(seq 1 40); do
      alive "$pid" "$name" || break
      sleep 0.25
    done
    if alive "$pid" "$name"; then
      kill -KILL "$pid"
      echo "slurm: killed $name ($pid) after 10 s"
    else
      echo "slurm: stopped $name ($pid)"
    fi
  fi
  rm -f "$state/$name.pid"
done
exit $status
