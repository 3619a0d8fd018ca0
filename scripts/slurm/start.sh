#!/usr/bin/env bash
# Start a one-node Slurm cluster on this machine, for the pipeline tests and CI:
# munged, slurmctld and slurmd, without systemd. Needs Debian's slurm-wlm and
# munge (scripts/install.sh --test installs them) and root:
#     sudo bash scripts/slurm/start.sh      # stop with: sudo bash scripts/slurm/stop.sh
# Does nothing when Slurm already answers (sinfo shows a usable node). The node
# gets this machine's CPUs (nproc) and its available memory. The PIDs of the
# daemons it starts go to $BREEDHUB_SLURM_STATE (default /run/breedhub-slurm),
# and stop.sh stops exactly those. It refuses to replace an /etc/slurm/slurm.conf
# that it did not write: a machine with its own Slurm should use that one.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
state=${BREEDHUB_SLURM_STATE:-/run/breedhub-slurm}
conf=/etc/slurm/slurm.conf
marker="# written by breedhub scripts/slurm/start.sh"

slurm_up() {
  # One line per node state; "idle*" etc. (with a suffix) means not responding.
  timeout 20 sinfo -h -o %T 2>/dev/null | grep -qxE 'idle|mixed|allocated|completing'
}
# Our slurmctld and slurmd listen on 127.0.0.1:6817 and 6818. (Without a
# controller, sinfo retries for ~10 s; without slurmd, sinfo says idle for 30 s.)
daemons_listening() {
  (exec 3<>/dev/tcp/127.0.0.1/6817) 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/6818) 2>/dev/null
}

if [[ -n ${SLURM_CONF:-} ]] || { [[ -e $conf ]] && ! grep -qxF "$marker" "$conf"; }; then
  # This machine has its own Slurm configuration: use that cluster if it is up.
  if command -v sinfo >/dev/null && slurm_up; then
    echo "slurm: already up, this machine's own ($(sinfo -h -o '%P %D %c %T' | head -1))"
    exit 0
  fi
  echo "slurm: ${SLURM_CONF:-$conf} was not written by this script; this machine has its" \
    "own Slurm configuration, so start that cluster (or move the file away)" >&2
  exit 1
fi
if [[ -e $conf ]] && daemons_listening && slurm_up; then
  echo "slurm: already up ($(sinfo -h -o '%P %D %c %T' | head -1))"
  exit 0
fi
for cmd in munged munge unmunge slurmctld slurmd sinfo; do
  if ! command -v "$cmd" >/dev/null && [[ ! -x /usr/sbin/$cmd ]]; then
    echo "slurm: $cmd not found; install Debian's slurm-wlm and munge" \
      "(bash scripts/install.sh --test does)" >&2
    exit 1
  fi
done
if [[ $(id -u) != 0 ]]; then
  echo "slurm: the daemons must be started as root: sudo bash $0" >&2
  exit 1
fi
# Daemons of an earlier start that no longer make a working cluster: stop them first.
if compgen -G "$state/*.pid" >/dev/null; then
  bash "$here/stop.sh"
fi

cpus=$(nproc)
memory=$(awk '/^MemAvailable:/ {print int($2 / 1024)}' /proc/meminfo)
mkdir -p "$state" /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/slurm \
  /run/munge
sed -e "s/__HOST__/$(hostname -s)/g" -e "s/__CPUS__/$cpus/" -e "s/__MEMORY__/$memory/" \
  "$here/slurm.conf" >"$conf.tmp"
mv "$conf.tmp" "$conf"

t0=$EPOCHREALTIME
failed() {
  echo "slurm: $1" >&2
  timeout 15 sinfo >&2 || true
  tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
  bash "$here/stop.sh" >&2 || true
  exit 1
}

# A pid file, once its daemon has written it, copied to $state (the daemons
# remove theirs on shutdown, and stop.sh must not depend on them).
record() {
  local name=$1 pidfile=$2
  for _ in $(seq 1 50); do
    if [[ -s $pidfile ]]; then
      cp "$pidfile" "$state/$name.pid"
      return 0
    fi
    sleep 0.1
  done
  failed "$name wrote no $pidfile"
}

# munge: reuse a running munged (e.g. the machine's own), else start one as user munge.
# (munge retries a missing socket for seconds: look for the socket first)
if [[ -S /run/munge/munge.socket.2 ]] \
  && timeout 5 munge -n 2>/dev/null | timeout 5 unmunge >/dev/null 2>&1; then
  echo "slurm: using the munged already running"
else
  if [[ ! -s /etc/munge/munge.key ]]; then
    mungekey --create --keyfile=/etc/munge/munge.key 2>/dev/null \
      || dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
  fi
  chown munge:munge /etc/munge/munge.key /run/munge
  chmod 400 /etc/munge/munge.key
  rm -f /run/munge/munged.pid
  su -s /bin/sh munge -c /usr/sbin/munged || failed "munged did not start"
  record munged /run/munge/munged.pid
  munge -n | unmunge >/dev/null || failed "munge does not work"
fi

rm -f /run/slurm/slurmctld.pid /run/slurm/slurmd.pid
/usr/sbin/slurmctld || failed "slurmctld did not start"
record slurmctld /run/slurm/slurmctld.pid
/usr/sbin/slurmd || failed "slurmd did not start"
record slurmd /run/slurm/slurmd.pid

for _ in $(seq 1 120); do
  if daemons_listening && slurm_up; then
    elapsed=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.2f", b - a}')
    echo "slurm: up after ${elapsed} s: node $(hostname -s), $cpus CPUs, $memory MiB," \
      "partition debug"
    exit 0
  fi
  sleep 0.25
done
failed "the node did not become idle within 30 s"
