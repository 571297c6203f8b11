#!/usr/bin/env bash
# Install Slurm (Debian's slurm-wlm: slurmctld, slurmd, sbatch...) and munge for the Slurm tests, which start
# their own single-node cluster in a temporary directory (tests/slurm/cluster.py). A no-op when present.
# The packages may start system daemons; the tests use their own config, ports and munge socket.
set -euo pipefail
if [ -x /usr/sbin/slurmctld ] && [ -x /usr/sbin/slurmd ] && [ -x /usr/sbin/munged ] && command -v sbatch >/dev/null; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo -n"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends slurm-wlm munge
test -x /usr/sbin/slurmctld && test -x /usr/sbin/slurmd && test -x /usr/sbin/munged
