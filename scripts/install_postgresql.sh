#!/usr/bin/env bash
# The PostgreSQL server binaries (initdb, pg_ctl) that the feedback and audit tests start a
# throwaway server with: Debian's `postgresql` package. Does nothing when they are present; the
# tests skip, saying why, only where this cannot install them (not root, no apt-get).
set -euo pipefail
if command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install_postgresql: cannot install (not root or no apt-get); PostgreSQL tests will skip" >&2
  exit 0
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
