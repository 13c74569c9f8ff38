#!/usr/bin/env bash
# What governance costs on the request path, in one run of ../shared/bench: the same release build
# and upstream, alternated twice, as three gateways:
#   off       no auth at all;
#   key       one plain config key (auth only);
#   governed  a virtual key made over the admin API, in a team, both with a hard budget, rpm and tpm
#             (auth + role + budget reservation and settlement + two GCRA limits + ledger fields).
# Prints the results table and the added p50/p99 at one connection of `governed` over `off`, then
# `switchyard bench governance`: the same admission work timed in the process, without the network.
# Usage: bash Benchmarks/governance.sh   (SWITCHYARD_BIN=… to skip the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
H=$(cd ../shared/bench && pwd)
export BENCH_DIR=${BENCH_DIR:-/tmp/switchyard-bench}
ADMIN=sk-govbench-admin-0123456789abcdef
PLAIN=sk-gwbench-local-0123456789abcdef

bash "$H/setup.sh"
bash "$H/stop_all.sh" >/dev/null 2>&1 || true
rm -f "$BENCH_DIR/results/results.tsv"
BIN=${SWITCHYARD_BIN:-}
if [ -z "$BIN" ]; then swift build -c release --product switchyard; BIN="$REPO/.build/release/switchyard"; fi
bash "$H/start_mock.sh"

start() {  # start NAME PORT AUTH_YAML
  local config="$BENCH_DIR/governance-$1.yaml"
  cat > "$config" <<YAML
server: {host: 127.0.0.1, port: $2}
storage: {sqlite: $BENCH_DIR/governance-$1.db}
providers:
  - {name: mock, kind: openai, base_url: "http://127.0.0.1:18080/v1", api_key: dummy}
models:
  - {name: gpt-4o-mini, provider: mock, price: {input: 0.15, output: 0.60}, context_window: 128000}
$3
YAML
  rm -f "$BENCH_DIR/governance-$1.db"*
  ( cd "$BENCH_DIR" && setsid "$BIN" serve --config "$config" --log-level warning \
      > "$BENCH_DIR/run/governance-$1.log" 2>&1 < /dev/null & )
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$2/health" && break; sleep 0.2; done
  pgrep -n -f "serve --config $config" > "$BENCH_DIR/run/governance-$1.pid"
}
start off 4610 ""
start key 4611 "auth: {keys: [$PLAIN]}"
start governed 4612 "auth: {keys: [{key: $ADMIN, name: admin, role: admin}]}"

G=http://127.0.0.1:4612/v1/switchyard
LIMITS='"budget": {"usd": 1000000, "period": "month", "mode": "hard"}, "rpm": 1000000000, "tpm": 1000000000'
curl -sf -o /dev/null -H "authorization: Bearer $ADMIN" -H 'content-type: application/json' \
  -d "{\"name\": \"bench\", $LIMITS}" $G/teams
VIRTUAL=$(curl -sf -H "authorization: Bearer $ADMIN" -H 'content-type: application/json' \
  -d "{\"name\": \"bench-key\", \"team\": \"bench\", \"tags\": {\"project\": \"bench\"}, $LIMITS}" $G/keys \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["key"])')

bash "$H/bench.sh" http://127.0.0.1:18080/v1 direct
off() { bash "$H/bench.sh" http://127.0.0.1:4610/v1 "off-$1"; }
key() { API_KEY=$PLAIN bash "$H/bench.sh" http://127.0.0.1:4611/v1 "key-$1"; }
governed() { API_KEY=$VIRTUAL bash "$H/bench.sh" http://127.0.0.1:4612/v1 "governed-$1"; }
# The second round runs in the opposite order, so a machine that drifts during the run favours no one.
off 1; key 1; governed 1
governed 2; key 2; off 2
# The governed gateway really counted: spend recorded against the key and the team.
curl -sf -H "authorization: Bearer $ADMIN" "$G/spend?group_by=team" | python3 -c '
import json, sys
for row in json.load(sys.stdin)["data"]:
    print("governed spend, team %s: %d requests, $%.4f" % (row["team"], row["requests"], row["cost_usd"]))'
"$BIN" bench governance
bash "$H/stop_all.sh"

echo
echo "label rps p50_ms p99_ms unloaded_p50_ms unloaded_p99_ms errors background_cpu_% gateway_cpu_ms_per_req"
cat "$BENCH_DIR/results/results.tsv"
awk '
  { rps[$1]=$2; u50[$1]=$5; u99[$1]=$6 }
  END {
    for (r = 1; r <= 2; r++) {
      printf "round %d at 1 connection: key - off p50 %+.0f us p99 %+.0f us; governed - off p50 %+.0f us p99 %+.0f us; rps at 32: off %.0f, key %.0f, governed %.0f\n", r,
        (u50["key-" r]-u50["off-" r])*1000, (u99["key-" r]-u99["off-" r])*1000,
        (u50["governed-" r]-u50["off-" r])*1000, (u99["governed-" r]-u99["off-" r])*1000,
        rps["off-" r], rps["key-" r], rps["governed-" r]
    }
    printf "mean of both rounds: governed - off p50 %+.0f us, p99 %+.0f us (target p99 < +50 us)\n",
      ((u50["governed-1"]+u50["governed-2"])-(u50["off-1"]+u50["off-2"]))*500,
      ((u99["governed-1"]+u99["governed-2"])-(u99["off-1"]+u99["off-2"]))*500
  }' "$BENCH_DIR/results/results.tsv"
