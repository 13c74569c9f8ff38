#!/usr/bin/env bash
# MCP peers the Swift tests drive: the official reference servers `mcp-server-time` and
# `mcp-server-git` (stdio) and the official Python `mcp` SDK (for tests/mcp/fixture_server.py,
# which serves over stdio and Streamable HTTP). Installed from PyPI into .venv-mcp at the repo
# root; the Swift tests find them there and fail with a clear message when they are missing.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$REPO/.venv-mcp"
PYTHON="${PYTHON:-python3}"
STAMP="$VENV/.mcp-deps-v1"
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
if [ ! -f "$STAMP" ]; then
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
        'mcp>=1.12,<2' 'mcp-server-time>=2025.7' 'mcp-server-git>=2025.7' 'uvicorn>=0.30'
    touch "$STAMP"
fi
for tool in mcp-server-time mcp-server-git; do
    [ -x "$VENV/bin/$tool" ] || { echo "tests/mcp/setup.sh: $tool missing from $VENV/bin" >&2; exit 1; }
done
"$VENV/bin/python" -c 'import mcp.server.fastmcp' || { echo "tests/mcp/setup.sh: the mcp SDK did not install" >&2; exit 1; }
echo "MCP peers ready in $VENV"
