#!/usr/bin/env bash
# Hostile-run suite: a hostile client and a hostile upstream against a live Switchyard.
# Usage: tests/hostile/run.sh [pytest args...]
#   SWITCHYARD_BIN=/path/to/switchyard   the binary (default .build/debug/switchyard)
#   HOSTILE_RESTART=0                    after a crash, fail every later test at once instead of restarting
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$REPO/.venv-interop"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
STAMP="$VENV/.interop-deps-v2"
if [ ! -f "$STAMP" ]; then
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
        'openai>=1.50' 'anthropic>=0.40' pytest httpx pyyaml 'mcp>=1.12,<2' 'mcp-server-time>=2025.7'
    touch "$STAMP"
fi

BIN="${SWITCHYARD_BIN:-$REPO/.build/debug/switchyard}"
if [ ! -x "$BIN" ]; then
    echo "switchyard binary not found at $BIN: build it first (or set SWITCHYARD_BIN)" >&2
    exit 2
fi
export SWITCHYARD_BIN="$BIN"

cd "$REPO"
set +e
"$VENV/bin/python" -m pytest tests/hostile -q -ra -p no:cacheprovider "$@"
status=$?
exit $status
