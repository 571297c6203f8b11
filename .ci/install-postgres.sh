#!/usr/bin/env bash
# Install the PostgreSQL server for the shared-study search tests, which initdb their own cluster in a
# temporary directory (tests/search/postgres.py). A no-op when initdb is already there.
set -euo pipefail
if command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo -n"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends postgresql
# The package starts the distribution's cluster on port 5432; the tests run their own, so stop it.
if command -v service >/dev/null 2>&1; then
  $SUDO service postgresql stop >/dev/null 2>&1 || true
fi
ls /usr/lib/postgresql/*/bin/initdb >/dev/null
