#!/usr/bin/env bash
# Interop suite: the official openai/anthropic Python SDKs against a live Switchyard + mock upstream.
# Usage: tests/interop/run.sh [pytest args...]   (needs the binary: swift build --product switchyard,
# or SWITCHYARD_BIN=/path/to/switchyard)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../python-env.sh"
exec "$VENV/bin/python" -m pytest tests/interop -q -ra -p no:cacheprovider "$@"
