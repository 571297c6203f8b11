#!/usr/bin/env bash
# Install the OpenSSH server the SSH tests start on 127.0.0.1 (tests/ssh/conftest.py), when missing.
# Non-interactive; a no-op when /usr/sbin/sshd is already there.
set -euo pipefail
if [ -x /usr/sbin/sshd ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo -n"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends openssh-server openssh-client
# The package may start a system sshd on port 22; the tests run their own, so stop it if it did.
if command -v service >/dev/null 2>&1; then
  $SUDO service ssh stop >/dev/null 2>&1 || true
fi
test -x /usr/sbin/sshd
