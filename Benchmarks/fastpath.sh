#!/usr/bin/env bash
# The fast path (issue 26) side by side, one run of ../shared/bench: the nginx mock direct, and two gateways
# from the same release build on the same config — auth, a routing group, and the exact cache — one with the
# fast path (the default), one with `server.fast_path: false`. Passes alternate between the two; LiteLLM
# runs once for the ratio. Both gateways' pids are in run/, so bench.sh counts their CPU (the idle one's is ~0). Prints the results table and the derived figures.
# Usage: bash Benchmarks/fastpath.sh [--no-litellm]   (SWITCHYARD_BIN=… to skip the release build; ROUNDS=2)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
H=$(cd ../shared/bench && pwd)
export BENCH_DIR=${BENCH_DIR:-/tmp/switchyard-bench}
KEY=sk-gwbench-local-0123456789abcdef
ROUNDS=${ROUNDS:-2}
WITH_LITELLM=1; [ "${1:-}" = "--no-litellm" ] && WITH_LITELLM=0

bash "$H/setup.sh"
bash "$H/stop_all.sh" >/dev/null 2>&1 || true
rm -f "$BENCH_DIR/results/results.tsv"
BIN=${SWITCHYARD_BIN:-}
if [ -z "$BIN" ]; then swift build -c release --product switchyard; BIN="$REPO/.build/release/switchyard"; fi
bash "$H/start_mock.sh"

start_gateway() {  # name port fast_path
  local name=$1 port=$2 fast=$3 config="$BENCH_DIR/switchyard-$1.yaml"
  cat > "$config" <<YAML
server: {host: 127.0.0.1, port: $port, fast_path: $fast}
storage: {sqlite: $BENCH_DIR/switchyard-$name.db}
providers:
  - {name: mock, kind: openai, base_url: "http://127.0.0.1:18080/v1", api_key: dummy}
  - {name: mock-b, kind: openai, base_url: "http://127.0.0.1:18080/v1", api_key: dummy}
models:
  - {name: gpt-4o-mini, provider: mock, price: {input: 0.15, output: 0.60}, context_window: 128000}
  - {name: mini-b, provider: mock-b, upstream: gpt-4o-mini, price: {input: 0.15, output: 0.60}, context_window: 128000}
groups:
  # Upstream every time: the exact cache is configured, but not for this group.
  - {name: routed, strategy: least-latency, deployments: [gpt-4o-mini, mini-b], retry: {attempts: 2}}
  # The same group with the exact cache: wrk sends one body, so every request after the first is a hit.
  - {name: routed-cached, strategy: least-latency, deployments: [gpt-4o-mini, mini-b], retry: {attempts: 2}, cache: {exact: true, semantic: false, ttl_s: 3600}}
auth: {keys: [$KEY]}
YAML
  rm -f "$BENCH_DIR/switchyard-$name.db"*
  ( cd "$BENCH_DIR" && setsid "$BIN" serve --config "$config" --log-level warning \
      > "$BENCH_DIR/run/switchyard-$name.log" 2>&1 < /dev/null & )
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/health" && break; sleep 0.2; done
  pgrep -n -f "serve --config $config" > "$BENCH_DIR/run/switchyard-$name.pid"
}
start_gateway fast 4600 true
start_gateway full 4601 false

bash "$H/bench.sh" http://127.0.0.1:18080/v1 direct
for round in $(seq "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then order="fast full"; else order="full fast"; fi
  for model in routed routed-cached; do
    for name in $order; do
      port=4600; [ "$name" = full ] && port=4601
      API_KEY=$KEY MODEL=$model bash "$H/bench.sh" "http://127.0.0.1:$port/v1" "$name-$model-$round"
    done
  done
done
for name in fast full; do echo "$name gateway RSS after load: $(ps -o rss= -p "$(cat "$BENCH_DIR/run/switchyard-$name.pid")") kB"; done
if [ $WITH_LITELLM = 1 ]; then
  bash "$H/start_litellm.sh" 1
  bash "$H/bench.sh" http://127.0.0.1:14000/v1 litellm
fi
bash "$H/stop_all.sh"

echo
echo "label rps p50_ms p99_ms unloaded_p50_ms unloaded_p99_ms errors background_cpu_% gateway_cpu_ms_per_req"
cat "$BENCH_DIR/results/results.tsv"
awk '
  { rps[$1]=$2; u50[$1]=$5; u99[$1]=$6; err[$1]=$7 }
  END {
    printf "\nadded at 1 connection over direct (p50 / p99 ms), and requests/s at 32 connections as a share of direct:\n"
    for (label in rps) if (label != "direct" && label != "litellm")
      printf "  %-24s +%.3f / +%.3f   %6.0f rps = %4.1f%% of direct   errors %d\n", label, u50[label]-u50["direct"], u99[label]-u99["direct"], rps[label], 100*rps[label]/rps["direct"], err[label]
    if ("litellm" in rps) {
      printf "  %-24s +%.3f / +%.3f   %6.0f rps\n", "litellm", u50["litellm"]-u50["direct"], u99["litellm"]-u99["direct"], rps["litellm"]
      for (label in rps) if (label ~ /^fast-routed-[0-9]/) printf "  %s = %.0fx litellm\n", label, rps[label]/rps["litellm"]
    }
  }' "$BENCH_DIR/results/results.tsv" | sort
