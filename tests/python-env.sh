# Sourced by the Python suites' runners: makes (once) the venv with the official SDKs and pytest,
# and checks the binary. Sets VENV and exports SWITCHYARD_BIN.
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv-interop"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
STAMP="$VENV/.interop-deps-v5"
if [ ! -f "$STAMP" ]; then
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
        'openai>=1.50' 'anthropic>=0.40' pytest httpx pyyaml 'mcp>=1.12,<2' 'mcp-server-time>=2025.7' 'openai-agents>=0.3' 'selenium>=4.20' 'prometheus-client>=0.20'
    touch "$STAMP"
fi

BIN="${SWITCHYARD_BIN:-$REPO/.build/debug/switchyard}"
if [ ! -x "$BIN" ]; then
    echo "switchyard binary not found at $BIN: run 'swift build --product switchyard' first (or set SWITCHYARD_BIN)" >&2
    exit 2
fi
export SWITCHYARD_BIN="$BIN"
cd "$REPO"
