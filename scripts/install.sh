#!/usr/bin/env bash
# Install breedhub into .venv; with --test, also what the test suite needs:
# PostgreSQL's binaries (the tests start their own server), Chromium with its
# driver (the portal is tested in a real browser), and the genomics tools our
# stages are compared with (samtools, bcftools, minimap2, bwa, beagle), and
# Slurm with munge (the workflows are tested on a one-node cluster), all from
# Debian's packages. breedhub itself needs none of them.
set -euo pipefail
cd "$(dirname "$0")/.."

for_tests=0
[[ "${1:-}" == "--test" ]] && for_tests=1

packages=()
# Graphviz's dot lays out the pedigree drawings of the portal.
command -v dot >/dev/null || packages+=(graphviz)
if (( for_tests )); then
  compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null || command -v pg_ctl >/dev/null \
    || packages+=(postgresql)
  command -v chromium >/dev/null || packages+=(chromium)
  command -v chromedriver >/dev/null || packages+=(chromium-driver)
  # Optional tools of the genomics chain: the tests compare our stages with them.
  for tool in samtools bcftools minimap2 bwa beagle; do
    command -v "$tool" >/dev/null || packages+=("$tool")
  done
  # Slurm and munge: the workflows are tested on a one-node cluster (scripts/slurm/start.sh).
  [[ -x /usr/sbin/slurmctld ]] || command -v slurmctld >/dev/null || packages+=(slurm-wlm)
  [[ -x /usr/sbin/munged ]] || command -v munged >/dev/null || packages+=(munge)
fi
if (( ${#packages[@]} )); then
  sudo=""
  [[ $(id -u) != 0 ]] && sudo=sudo
  echo "installing Debian packages: ${packages[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null
fi

# pip's output without the notes about this machine's unused local index folders.
pip_install() {
  local log
  log=$(mktemp)
  if ! .venv/bin/pip install -q "$@" 2>"$log"; then
    cat "$log" >&2
    rm -f "$log"
    return 1
  fi
  grep -v "^WARNING: Location 'file:" "$log" >&2 || true
  rm -f "$log"
}

# The one minimum Python, as setup.cfg (python_requires), pyproject.toml and the README say.
python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
  || { echo "breedhub needs Python 3.10 or newer; python3 is $(python3 --version 2>&1)" >&2; exit 1; }
[[ -x .venv/bin/python ]] || python3 -m venv .venv
# setup.cfg asks only torch>=2.1. Here we take the CPU build 2.13.0 that lies on
# this machine's disk; on a GPU machine install the torch build you want first.
.venv/bin/python -c "import torch" 2>/dev/null || pip_install "torch==2.13.0"
if (( for_tests )); then
  pip_install -e ".[test]"
else
  pip_install -e .
fi
echo "breedhub installed in .venv ($(.venv/bin/breedhub --version))"
