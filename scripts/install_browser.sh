#!/usr/bin/env bash
# Installs the headless browser the analytics report test opens (tests/analytics/test_report_browser.py):
# Debian's chromium package when apt is usable, otherwise Playwright's own Chromium build.
# Idempotent; `.ci/run` calls it before `make test`.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; fi
  if $SUDO apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 \
    || { $SUDO apt-get update >/dev/null 2>&1 \
         && $SUDO apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; }; then
    exit 0
  fi
fi
VENV="${VENV:-.venv}"
if [ -x "$VENV/bin/playwright" ]; then
  "$VENV/bin/playwright" install chromium
fi
