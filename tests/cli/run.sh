#!/usr/bin/env bash
# The first hour, as a newcomer lives it: the demo gateway and every CLI command against it.
# Usage: tests/cli/run.sh [pytest args...]   (SWITCHYARD_BIN=/path/to/switchyard, default the debug build)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../python-env.sh"
exec "$VENV/bin/python" -m pytest tests/cli -q -ra -p no:cacheprovider "$@"
