#!/usr/bin/env bash
# Side-by-side gateway benchmark, one run: direct to the nginx mock, through Switchyard (release
# build), and through the LiteLLM proxy, with ../shared/bench. Prints the results table and the
# derived figures (added latency, throughput ratios). Usage: bash Benchmarks/gateway.sh [--no-litellm]
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
H=$(cd ../shared/bench && pwd)
export BENCH_DIR=${BENCH_DIR:-/tmp/switchyard-bench}
KEY=sk-gwbench-local-0123456789abcdef
PORT=${PORT:-4600}
WITH_LITELLM=1; [ "${1:-}" = "--no-litellm" ] && WITH_LITELLM=0

bash "$H/setup.sh"
bash "$H/stop_all.sh" >/dev/null 2>&1 || true
rm -f "$BENCH_DIR/results/results.tsv"
BIN=${SWITCHYARD_BIN:-}
if [ -z "$BIN" ]; then swift build -c release --product switchyard; BIN="$REPO/.build/release/switchyard"; fi
bash "$H/start_mock.sh"

CONFIG="$BENCH_DIR/switchyard-bench.yaml"
cat > "$CONFIG" <<YAML
server: {host: 127.0.0.1, port: $PORT}
storage: {sqlite: $BENCH_DIR/switchyard-bench.db}
providers:
  - {name: mock, kind: openai, base_url: "http://127.0.0.1:18080/v1", api_key: dummy}
  - {name: mock-b, kind: openai, base_url: "http://127.0.0.1:18080/v1", api_key: dummy}
models:
  - {name: gpt-4o-mini, provider: mock, price: {input: 0.15, output: 0.60}, context_window: 128000}
  - {name: mini-b, provider: mock-b, upstream: gpt-4o-mini, price: {input: 0.15, output: 0.60}, context_window: 128000}
  # The same upstream model with the exact cache on: every request after the first is a hit.
  - {name: cached, provider: mock, upstream: gpt-4o-mini, price: {input: 0.15, output: 0.60}, context_window: 128000, cache: {exact: true, semantic: false}}
groups:
  - {name: routed, strategy: least-latency, deployments: [gpt-4o-mini, mini-b], retry: {attempts: 2}}
routes:
  - name: auto
    classifier: {rules: [{name: hard, keywords: [prove], difficulty: 3}]}
    tiers: [{name: cheap, groups: [routed], max_difficulty: 1}, {name: strong, groups: [gpt-4o-mini]}]
auth: {keys: [$KEY]}
YAML
rm -f "$BENCH_DIR/switchyard-bench.db"*
( cd "$BENCH_DIR" && setsid "$BIN" serve --config "$CONFIG" --log-level warning \
    > "$BENCH_DIR/run/switchyard.log" 2>&1 < /dev/null & echo $! > "$BENCH_DIR/run/switchyard.pid" )
for i in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/health" && break; sleep 0.2; done
pgrep -n -f "serve --config $CONFIG" > "$BENCH_DIR/run/switchyard.pid"  # the server itself, so its CPU is counted

bash "$H/bench.sh" http://127.0.0.1:18080/v1 direct
API_KEY=$KEY bash "$H/bench.sh" "http://127.0.0.1:$PORT/v1" switchyard
API_KEY=$KEY MODEL=routed bash "$H/bench.sh" "http://127.0.0.1:$PORT/v1" switchyard-group
API_KEY=$KEY MODEL=auto bash "$H/bench.sh" "http://127.0.0.1:$PORT/v1" switchyard-auto
API_KEY=$KEY MODEL=cached bash "$H/bench.sh" "http://127.0.0.1:$PORT/v1" switchyard-cached
echo "switchyard RSS after load: $(ps -o rss= -p "$(pgrep -n -f "serve --config $CONFIG")") kB"
if [ $WITH_LITELLM = 1 ]; then
  bash "$H/start_litellm.sh" 1
  bash "$H/bench.sh" http://127.0.0.1:14000/v1 litellm
fi
bash "$H/stop_all.sh"

echo
echo "label rps p50_ms p99_ms unloaded_p50_ms unloaded_p99_ms errors background_cpu_% gateway_cpu_ms_per_req"
cat "$BENCH_DIR/results/results.tsv"
awk '
  { rps[$1]=$2; u50[$1]=$5; u99[$1]=$6 }
  END {
    printf "\nadded latency at 1 connection (switchyard - direct): p50 %.3f ms, p99 %.3f ms\n", u50["switchyard"]-u50["direct"], u99["switchyard"]-u99["direct"]
    printf "added latency at 1 connection, group least-latency:  p50 %.3f ms, p99 %.3f ms\n", u50["switchyard-group"]-u50["direct"], u99["switchyard-group"]-u99["direct"]
    printf "added latency at 1 connection, auto route:           p50 %.3f ms, p99 %.3f ms\n", u50["switchyard-auto"]-u50["direct"], u99["switchyard-auto"]-u99["direct"]
    if ("switchyard-cached" in rps) {
      printf "answered from the exact cache: %.0f rps at 32 connections (%.1fx the uncached %.0f), p50 %.3f ms at 1 connection\n", rps["switchyard-cached"], rps["switchyard-cached"]/rps["switchyard"], rps["switchyard"], u50["switchyard-cached"]
    }
    if ("litellm" in rps) {
      printf "added latency at 1 connection (litellm - direct):    p50 %.3f ms, p99 %.3f ms\n", u50["litellm"]-u50["direct"], u99["litellm"]-u99["direct"]
      printf "throughput at 32 connections: switchyard %.0f rps = %.1fx litellm (%.0f rps)\n", rps["switchyard"], rps["switchyard"]/rps["litellm"], rps["litellm"]
    }
  }' "$BENCH_DIR/results/results.tsv"
