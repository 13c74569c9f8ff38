#!/usr/bin/env bash
# What PostgreSQL storage costs on the request path, and what three replicas serve against one, in one run of
# ../shared/bench (same release build, same nginx mock, alternated passes):
#   sqlite       the embedded default; the bench key has a budget and rate limits (counted in memory)
#   pg-plain     storage.postgres, the bench key without budget or limits (no database call on the request path)
#   pg-limited   storage.postgres, the bench key with a budget and rate limits (two database calls: admit, reserve)
# then a round-robin nginx balancer in front of one replica, and in front of three (all on PostgreSQL, limited key).
# Prints the table, the added p50/p99 at one connection against SQLite, the requests/s of 3 replicas against 1,
# and the database transactions per request (pg_stat_database.xact_commit over the pg-limited passes).
# Usage: bash Benchmarks/scaleout.sh   (SWITCHYARD_BIN=… to skip the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
H=$(cd ../shared/bench && pwd)
export BENCH_DIR=${BENCH_DIR:-/tmp/switchyard-bench}
KEY=sk-gwbench-local-0123456789abcdef

bash "$H/setup.sh"
bash "$H/stop_all.sh" >/dev/null 2>&1 || true
rm -f "$BENCH_DIR/results/results.tsv"
BIN=${SWITCHYARD_BIN:-}
if [ -z "$BIN" ]; then swift build -c release --product switchyard; BIN="$REPO/.build/release/switchyard"; fi
eval "$(bash tests/postgres/start.sh)"
trap 'bash "$REPO/tests/postgres/stop.sh"; [ -f "$BENCH_DIR/run/lb.conf" ] && nginx -c "$BENCH_DIR/run/lb.conf" -s stop 2>/dev/null || true' EXIT
ROOT=${SWITCHYARD_TEST_POSTGRES%/*}
for db in plain limited replicas; do psql "$ROOT/postgres" -qc "CREATE DATABASE bench_$db"; done
bash "$H/start_mock.sh"

start() {  # start NAME PORT STORAGE LIMITS
  local name=$1 port=$2 storage=$3 limits=$4
  local config="$BENCH_DIR/scaleout-$name.yaml"
  cat > "$config" <<YAML
server: {host: 127.0.0.1, port: $port}
storage: $storage
auth:
  keys:
    - {key: $KEY, name: bench, role: admin$limits}
providers:
  - {name: mock, kind: openai, base_url: "http://127.0.0.1:18080/v1", api_key: dummy}
models:
  - {name: gpt-4o-mini, provider: mock, price: {input: 0.15, output: 0.60}, context_window: 128000}
YAML
  ( cd "$BENCH_DIR" && SWITCHYARD_REPLICA_ID=$name setsid "$BIN" serve --config "$config" --log-level warning \
      > "$BENCH_DIR/run/scaleout-$name.log" 2>&1 < /dev/null & )
  for _ in $(seq 150); do curl -sf -o /dev/null "http://127.0.0.1:$port/ready" && break; sleep 0.2; done
  pgrep -n -f "serve --config $config" > "$BENCH_DIR/run/scaleout-$name.pid"
}
LIMITS=", budget: {usd: 1000000, period: month, mode: hard}, rpm: 100000000, tpm: 1000000000"
rm -f "$BENCH_DIR"/scaleout-sqlite.db*
start sqlite 4640 "{sqlite: $BENCH_DIR/scaleout-sqlite.db}" "$LIMITS"
start pg-plain 4641 "{postgres: \"$ROOT/bench_plain\"}" ""
start pg-limited 4642 "{postgres: \"$ROOT/bench_limited\"}" "$LIMITS"

commits() { psql "$ROOT/postgres" -Atc "SELECT xact_commit FROM pg_stat_database WHERE datname = 'bench_limited'"; }
served() { curl -s -H "authorization: Bearer $KEY" http://127.0.0.1:4642/metrics | awk '/^switchyard_requests_total/ {s += $NF} END {printf "%d", s}'; }

export API_KEY=$KEY
bash "$H/bench.sh" http://127.0.0.1:18080/v1 direct
c0=$(commits); r0=$(served)
bash "$H/bench.sh" http://127.0.0.1:4640/v1 sqlite-1
bash "$H/bench.sh" http://127.0.0.1:4641/v1 pg-plain-1
bash "$H/bench.sh" http://127.0.0.1:4642/v1 pg-limited-1
bash "$H/bench.sh" http://127.0.0.1:4642/v1 pg-limited-2
bash "$H/bench.sh" http://127.0.0.1:4641/v1 pg-plain-2
bash "$H/bench.sh" http://127.0.0.1:4640/v1 sqlite-2
c1=$(commits); r1=$(served)
for name in sqlite pg-plain pg-limited; do kill "$(cat "$BENCH_DIR/run/scaleout-$name.pid")" 2>/dev/null || true; done
sleep 2

# Three replicas of one config behind a round-robin balancer, then one of them alone behind the same balancer.
start r1 4651 "{postgres: \"$ROOT/bench_replicas\"}" "$LIMITS"
start r2 4652 "{postgres: \"$ROOT/bench_replicas\"}" "$LIMITS"
start r3 4653 "{postgres: \"$ROOT/bench_replicas\"}" "$LIMITS"
lb() {  # lb PORTS...
  local servers=""
  for port in "$@"; do servers="$servers server 127.0.0.1:$port;"; done
  cat > "$BENCH_DIR/run/lb.conf" <<NGINX
worker_processes 1; pid $BENCH_DIR/run/lb.nginx.pid; error_log $BENCH_DIR/run/lb.error.log;
events { worker_connections 4096; }
http { access_log off; upstream replicas { $servers keepalive 64; }
  server { listen 127.0.0.1:4650; location / { proxy_pass http://replicas; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
NGINX
  nginx -c "$BENCH_DIR/run/lb.conf" -s stop 2>/dev/null || true
  sleep 0.5
  nginx -c "$BENCH_DIR/run/lb.conf"
}
lb 4651; bash "$H/bench.sh" http://127.0.0.1:4650/v1 lb-1-replica
lb 4651 4652 4653; bash "$H/bench.sh" http://127.0.0.1:4650/v1 lb-3-replicas
bash "$H/stop_all.sh"

echo
echo "label rps p50_ms p99_ms unloaded_p50_ms unloaded_p99_ms errors background_cpu_% gateway_cpu_ms_per_req"
cat "$BENCH_DIR/results/results.tsv"
awk -v commits=$((c1 - c0)) -v requests=$((r1 - r0)) '
  { rps[$1]=$2; u50[$1]=$5; u99[$1]=$6 }
  END {
    for (r = 1; r <= 2; r++)
      printf "round %d at 1 connection: pg-plain - sqlite p50 %+.0f us p99 %+.0f us; pg-limited - sqlite p50 %+.0f us p99 %+.0f us; rps sqlite %.0f, pg-plain %.0f, pg-limited %.0f\n", r,
        (u50["pg-plain-" r]-u50["sqlite-" r])*1000, (u99["pg-plain-" r]-u99["sqlite-" r])*1000,
        (u50["pg-limited-" r]-u50["sqlite-" r])*1000, (u99["pg-limited-" r]-u99["sqlite-" r])*1000,
        rps["sqlite-" r], rps["pg-plain-" r], rps["pg-limited-" r]
    printf "behind one balancer: 3 replicas %.0f rps, 1 replica %.0f rps (x%.2f) on this 2-core machine\n",
      rps["lb-3-replicas"], rps["lb-1-replica"], rps["lb-3-replicas"] / rps["lb-1-replica"]
    if (requests > 0) printf "pg-limited: %d database transactions for %d requests = %.2f per request (log batches, heartbeats included)\n", commits, requests, commits / requests
  }' "$BENCH_DIR/results/results.tsv"
