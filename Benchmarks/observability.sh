#!/usr/bin/env bash
# What metrics and tracing cost on the request path, in one run of ../shared/bench: the same release build and
# upstream, alternated twice, as three gateways:
#   off      observability.metrics: false, no OTEL_* variables (no spans, nothing counted);
#   metrics  metrics on (every request counted), no tracing;
#   on       metrics on (every request counted) and every span exported over OTLP/HTTP (sampler always_on) to a
#         local receiver that accepts and drops them (Benchmarks/otlp_sink.py).
# Prints the results table and the added p50/p99 at one connection (the issue's bar: on − off within +30 µs p50).
# Usage: bash Benchmarks/observability.sh   (SWITCHYARD_BIN=… to skip the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
H=$(cd ../shared/bench && pwd)
export BENCH_DIR=${BENCH_DIR:-/tmp/switchyard-bench}
SINK_PORT=${SINK_PORT:-4639}

bash "$H/setup.sh"
bash "$H/stop_all.sh" >/dev/null 2>&1 || true
rm -f "$BENCH_DIR/results/results.tsv"
BIN=${SWITCHYARD_BIN:-}
if [ -z "$BIN" ]; then swift build -c release --product switchyard; BIN="$REPO/.build/release/switchyard"; fi
bash "$H/start_mock.sh"
( setsid python3 "$REPO/Benchmarks/otlp_sink.py" "$SINK_PORT" > "$BENCH_DIR/run/otlp-sink.log" 2>&1 < /dev/null & echo $! > "$BENCH_DIR/run/otlp-sink.pid" )

start() {  # start NAME PORT METRICS ENV...
  local name=$1 port=$2 metrics=$3
  shift 3
  local config="$BENCH_DIR/observability-$name.yaml"
  cat > "$config" <<YAML
server: {host: 127.0.0.1, port: $port}
storage: {sqlite: $BENCH_DIR/observability-$name.db}
observability: {metrics: $metrics}
providers:
  - {name: mock, kind: openai, base_url: "http://127.0.0.1:18080/v1", api_key: dummy}
models:
  - {name: gpt-4o-mini, provider: mock, price: {input: 0.15, output: 0.60}, context_window: 128000}
YAML
  rm -f "$BENCH_DIR/observability-$name.db"*
  ( cd "$BENCH_DIR" && env "$@" setsid "$BIN" serve --config "$config" --log-level warning \
      > "$BENCH_DIR/run/observability-$name.log" 2>&1 < /dev/null & )
  for _ in $(seq 150); do curl -sf -o /dev/null "http://127.0.0.1:$port/health" && break; sleep 0.2; done
  pgrep -n -f "serve --config $config" > "$BENCH_DIR/run/observability-$name.pid"
}
start off 4630 false SWITCHYARD_BENCH=1
start metrics 4632 true SWITCHYARD_BENCH=1
# Every span kept and exported: a queue and batches big enough for ~7 spans per request at thousands of requests
# a second (the defaults, 2,048 and 512 a second, drop most of them at this rate).
start on 4631 true OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$SINK_PORT" OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf \
  OTEL_TRACES_SAMPLER=always_on OTEL_BSP_SCHEDULE_DELAY=200 OTEL_BSP_MAX_QUEUE_SIZE=200000 OTEL_BSP_MAX_EXPORT_BATCH_SIZE=20000

bash "$H/bench.sh" http://127.0.0.1:18080/v1 direct
off() { bash "$H/bench.sh" http://127.0.0.1:4630/v1 "off-$1"; }
metrics() { bash "$H/bench.sh" http://127.0.0.1:4632/v1 "metrics-$1"; }
on() { bash "$H/bench.sh" http://127.0.0.1:4631/v1 "on-$1"; }
# The second round runs in the opposite order, so a machine that drifts during the run favours no one.
off 1; metrics 1; on 1
on 2; metrics 2; off 2
echo "spans received by the sink: $(curl -s "http://127.0.0.1:$SINK_PORT/count")"
echo "requests counted by /metrics: $(curl -s http://127.0.0.1:4631/metrics | awk '/^switchyard_requests_total/ {s += $NF} END {print s}')"
bash "$H/stop_all.sh"

echo
echo "label rps p50_ms p99_ms unloaded_p50_ms unloaded_p99_ms errors background_cpu_% gateway_cpu_ms_per_req"
cat "$BENCH_DIR/results/results.tsv"
awk '
  { rps[$1]=$2; u50[$1]=$5; u99[$1]=$6; cpu[$1]=$9 }
  END {
    for (r = 1; r <= 2; r++) {
      printf "round %d at 1 connection: metrics - off p50 %+.0f us p99 %+.0f us; on - off p50 %+.0f us p99 %+.0f us\n", r,
        (u50["metrics-" r]-u50["off-" r])*1000, (u99["metrics-" r]-u99["off-" r])*1000,
        (u50["on-" r]-u50["off-" r])*1000, (u99["on-" r]-u99["off-" r])*1000
      printf "round %d at 32: rps off %.0f, metrics %.0f, on %.0f; CPU ms/req off %.3f, metrics %.3f, on %.3f\n", r,
        rps["off-" r], rps["metrics-" r], rps["on-" r], cpu["off-" r], cpu["metrics-" r], cpu["on-" r]
    }
  }' "$BENCH_DIR/results/results.tsv"
