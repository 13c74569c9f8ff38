#!/usr/bin/env bash
# Hostile-run suite: a hostile client and a hostile upstream against a live Switchyard.
# Usage: tests/hostile/run.sh [pytest args...]
#   SWITCHYARD_BIN=/path/to/switchyard   the binary (default .build/debug/switchyard)
#   HOSTILE_RESTART=0                    after a crash, fail every later test at once instead of restarting
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../python-env.sh"
exec "$VENV/bin/python" -m pytest tests/hostile -q -ra -p no:cacheprovider "$@"
