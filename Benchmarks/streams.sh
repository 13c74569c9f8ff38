#!/usr/bin/env bash
# A thousand concurrent streams (issue 26): the same load sent straight to the mock upstream and through the
# gateway, alternated, in one run. Each stream's first chunk comes at once, then one every 100 ms (about 1 s).
# Prints TTFT and total-time percentiles, errors and the gateway's peak RSS.
# Usage: bash Benchmarks/streams.sh [STREAMS]   (SWITCHYARD_BIN=… to skip the release build; ROUNDS=2)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
STREAMS=${1:-1000}
ROUNDS=${ROUNDS:-2}
WORK=$(mktemp -d /tmp/switchyard-streams.XXXXXX)
BIN=${SWITCHYARD_BIN:-}
if [ -z "$BIN" ]; then swift build -c release --product switchyard; BIN="$REPO/.build/release/switchyard"; fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true   # the client side needs a descriptor per stream too
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
MOCK_PORT=$(free_port); GW_PORT=$(free_port)
cat > "$WORK/gateway.yaml" <<YAML
server: {host: 127.0.0.1, port: $GW_PORT}
storage: {sqlite: $WORK/gateway.db}
providers:
  - {name: mock, kind: openai, base_url: "http://127.0.0.1:$MOCK_PORT/v1", api_key: dummy}
models:
  - {name: gpt-4o-mini, provider: mock, price: {input: 0.15, output: 0.60}, context_window: 128000}
YAML
"$BIN" mock --port "$MOCK_PORT" --replay-streams > "$WORK/mock.log" 2>&1 & MOCK=$!
"$BIN" serve --config "$WORK/gateway.yaml" --log-level warning > "$WORK/gateway.log" 2>&1 & GW=$!
trap 'kill $MOCK $GW 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 150); do curl -sf -o /dev/null "http://127.0.0.1:$GW_PORT/health" && break; sleep 0.2; done
echo "idle gateway RSS: $(awk '/VmRSS/ {printf "%.0f MB", $2/1024}' /proc/$GW/status)"
# Warm-up at full size, printed: the gateway's first burst also opens its upstream connections (a thousand
# connects to the mock at once); the measured rounds after it are the steady state, where they are reused.
"$BIN" bench streams "http://127.0.0.1:$MOCK_PORT/v1" --streams "$STREAMS" --label warm-direct
"$BIN" bench streams "http://127.0.0.1:$GW_PORT/v1" --streams "$STREAMS" --label warm-gateway --pid "$GW"
for round in $(seq "$ROUNDS"); do
  # Alternate which goes first, so a machine that drifts favours neither.
  if [ $((round % 2)) = 1 ]; then order="direct gateway"; else order="gateway direct"; fi
  for target in $order; do
    if [ "$target" = direct ]; then
      "$BIN" bench streams "http://127.0.0.1:$MOCK_PORT/v1" --streams "$STREAMS" --label "direct-$round"
    else
      "$BIN" bench streams "http://127.0.0.1:$GW_PORT/v1" --streams "$STREAMS" --label "gateway-$round" --pid "$GW"
    fi
  done
done
