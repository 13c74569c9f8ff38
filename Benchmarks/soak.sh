#!/usr/bin/env bash
# Soak (issue 26: RSS growth under 5 % over 10 minutes at steady load). A release gateway with auth and the
# request log on, in front of an nginx mock like ../shared/bench's (or `switchyard mock` where nginx is not
# installed), loaded by wrk for a 1-minute warm-up plus MINUTES: half the requests plain, half streamed.
# RSS is sampled every 30 s after the warm-up; prints the samples and the growth (last vs first sample).
# Usage: bash Benchmarks/soak.sh [MINUTES]   (default 10; SWITCHYARD_BIN=… to skip the release build;
# CONNS=8 connections; WARMUP=60 seconds)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
MINUTES=${1:-10}
CONNS=${CONNS:-8}
WARMUP=${WARMUP:-60}
case "$MINUTES" in '' | *[!0-9]*) echo "MINUTES must be a whole number, not '$MINUTES'" >&2; exit 2 ;; esac
BIN=${SWITCHYARD_BIN:-}
if [ -z "$BIN" ]; then swift build -c release --product switchyard; BIN="$REPO/.build/release/switchyard"; fi
if ! command -v wrk > /dev/null; then
  echo "installing wrk (Debian's package)" >&2
  apt-get install -y wrk > /dev/null 2>&1 || { apt-get update > /dev/null && apt-get install -y wrk > /dev/null; }
fi
WORK=$(mktemp -d /tmp/switchyard-soak.XXXXXX)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
MOCK_PORT=$(free_port); GW_PORT=$(free_port)

if command -v nginx > /dev/null || [ -x /usr/sbin/nginx ]; then
  NGINX=$(command -v nginx || echo /usr/sbin/nginx)
  # The same fixed answers as ../shared/bench/start_mock.sh, on a port of its own.
  J='{"id":"chatcmpl-mock123","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! This is a fixed reply from the mock upstream."},"finish_reason":"stop"}],"usage":{"prompt_tokens":25,"completion_tokens":12,"total_tokens":37}}'
  H='data: {"id":"chatcmpl-mock123","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,'
  S="$H\"delta\":{\"role\":\"assistant\",\"content\":\"Hello\"},\"finish_reason\":null}]}\n\n$H\"delta\":{\"content\":\" world\"},\"finish_reason\":null}]}\n\n"
  S+="$H\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":25,\"completion_tokens\":2,\"total_tokens\":27}}\n\ndata: [DONE]\n\n"
  mkdir -p "$WORK/nginx/logs" "$WORK/nginx/tmp"
  cat > "$WORK/nginx/nginx.conf" <<C
worker_processes 1; daemon off; pid $WORK/nginx/nginx.pid; error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 4096; }
http { access_log off; client_body_temp_path $WORK/nginx/tmp; keepalive_requests 1000000;
 server { listen 127.0.0.1:$MOCK_PORT backlog=4096;
  location = /v1/chat/completions { default_type application/json; return 200 '$J'; }
  location = /sse/v1/chat/completions { default_type text/event-stream; return 200 '$S'; }
  location / { return 404; } } }
C
  "$NGINX" -p "$WORK/nginx/" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/logs/error.log" & PIDS+=($!)
  UPSTREAM="nginx mock"
  PLAIN_URL="http://127.0.0.1:$MOCK_PORT/v1"; STREAM_URL="http://127.0.0.1:$MOCK_PORT/sse/v1"
else
  "$BIN" mock --port "$MOCK_PORT" > "$WORK/mock.log" 2>&1 & PIDS+=($!)
  UPSTREAM="switchyard mock"
  PLAIN_URL="http://127.0.0.1:$MOCK_PORT/v1"; STREAM_URL="http://127.0.0.1:$MOCK_PORT/v1"
fi

cat > "$WORK/gateway.yaml" <<YAML
server: {host: 127.0.0.1, port: $GW_PORT}
storage: {sqlite: $WORK/gateway.db}
providers:
  - {name: mock, kind: openai, base_url: "$PLAIN_URL", api_key: dummy}
  - {name: mock-sse, kind: openai, base_url: "$STREAM_URL", api_key: dummy}
models:
  - {name: gpt-4o-mini, provider: mock, price: {input: 0.15, output: 0.60}, context_window: 128000}
  - {name: gpt-4o-mini-stream, provider: mock-sse, upstream: gpt-4o-mini, price: {input: 0.15, output: 0.60}, context_window: 128000}
auth: {keys: [sk-soak]}
YAML
"$BIN" serve --config "$WORK/gateway.yaml" --log-level warning > "$WORK/gateway.log" 2>&1 & GW=$!; PIDS+=($GW)
for _ in $(seq 150); do curl -sf -o /dev/null "http://127.0.0.1:$GW_PORT/health" && break; sleep 0.2; done
curl -sf -o /dev/null "http://127.0.0.1:$GW_PORT/health" || { echo "the gateway did not start"; cat "$WORK/gateway.log"; exit 1; }
for model in gpt-4o-mini gpt-4o-mini-stream; do
  stream=$([ "$model" = gpt-4o-mini-stream ] && echo true || echo false)
  curl -sf -o /dev/null -H 'authorization: Bearer sk-soak' -H 'content-type: application/json' \
    -d "{\"model\": \"$model\", \"stream\": $stream, \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}" \
    "http://127.0.0.1:$GW_PORT/v1/chat/completions" || { echo "sanity request for $model failed"; tail -20 "$WORK/gateway.log"; exit 1; }
done

# Alternating plain and streamed requests.
cat > "$WORK/load.lua" <<'LUA'
local n = 0
local plain = '{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello to the soak test."}]}'
local streamed = '{"model": "gpt-4o-mini-stream", "stream": true, "messages": [{"role": "user", "content": "Say hello to the soak test."}]}'
request = function()
  n = n + 1
  return wrk.format("POST", "/v1/chat/completions",
    {["content-type"] = "application/json", ["authorization"] = "Bearer sk-soak"}, (n % 2 == 0) and plain or streamed)
end
LUA
TOTAL=$((WARMUP + MINUTES * 60 + 5))
wrk -t1 -c"$CONNS" -d"${TOTAL}s" -s "$WORK/load.lua" "http://127.0.0.1:$GW_PORT" > "$WORK/wrk.txt" 2>&1 & WRK=$!; PIDS+=($WRK)
rss() { awk '/^VmRSS/ {print $2}' "/proc/$GW/status"; }
echo "soak: $UPSTREAM, $CONNS connections, ${WARMUP} s warm-up, then $MINUTES min; idle RSS before load $(($(rss) / 1024)) MB"
sleep "$WARMUP"
SAMPLES=()
for i in $(seq 0 $((MINUTES * 2))); do
  [ "$i" -gt 0 ] && sleep 30
  kill -0 "$GW" 2>/dev/null || { echo "the gateway died"; tail -40 "$WORK/gateway.log"; exit 1; }
  value=$(rss); SAMPLES+=("$value")
  printf '  t=%4ds  RSS %7.1f MB\n' $((i * 30)) "$(echo "$value/1024" | bc -l)"
done
wait "$WRK" || true
first=${SAMPLES[0]}; last=${SAMPLES[-1]}
printf 'growth: %.2f %% (first %.1f MB, last %.1f MB, peak %.1f MB)\n' "$(echo "($last - $first) * 100 / $first" | bc -l)" \
  "$(echo "$first/1024" | bc -l)" "$(echo "$last/1024" | bc -l)" "$(printf '%s\n' "${SAMPLES[@]}" | sort -n | tail -1 | awk '{print $1/1024}')"
grep -E "requests in|Requests/sec|Non-2xx|Socket errors" "$WORK/wrk.txt" | sed 's/^/wrk: /'
