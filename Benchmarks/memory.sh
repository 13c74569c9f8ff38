#!/usr/bin/env bash
# Idle RSS of `serve` (issue 26: under 40 MB): the demo configuration a newcomer starts first (no config file),
# and a minimal one (one OpenAI-compatible provider, one model, as Benchmarks/streams.sh writes). Each gateway is
# started, /health is waited for, it idles SETTLE seconds, then VmRSS and the largest parts of
# /proc/PID/smaps_rollup are printed.
# Usage: bash Benchmarks/memory.sh   (SWITCHYARD_BIN=… to skip the release build; SETTLE=3; DETAIL=1 for the top
# mappings of each)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
SETTLE=${SETTLE:-3}
BIN=${SWITCHYARD_BIN:-}
if [ -z "$BIN" ]; then swift build -c release --product switchyard; BIN="$REPO/.build/release/switchyard"; fi
WORK=$(mktemp -d /tmp/switchyard-memory.XXXXXX)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# measure LABEL PORT PID: waits for /health, idles, prints the figures.
measure() {
  local label=$1 port=$2 pid=$3
  for _ in $(seq 300); do curl -sf -o /dev/null "http://127.0.0.1:$port/health" && break; sleep 0.2; done
  curl -sf -o /dev/null "http://127.0.0.1:$port/health" || { echo "$label: /health never answered"; cat "$WORK/$label.log"; exit 1; }
  sleep "$SETTLE"
  local rss anon file
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
  anon=$(awk '/^RssAnon/ {print $2}' "/proc/$pid/status")
  file=$(awk '/^RssFile/ {print $2}' "/proc/$pid/status")
  printf '%-10s idle RSS %6.1f MB (anonymous %.1f MB, file-backed %.1f MB), threads %s\n' "$label" \
    "$(echo "$rss/1024" | bc -l)" "$(echo "$anon/1024" | bc -l)" "$(echo "$file/1024" | bc -l)" \
    "$(awk '/^Threads/ {print $2}' "/proc/$pid/status")"
  if [ "${DETAIL:-0}" = 1 ]; then
    # The largest mappings by RSS (kB): what the remaining megabytes are.
    awk '/^[0-9a-f]+-[0-9a-f]+ / {name = ($6 == "" ? "[anon]" : $6)} /^Rss:/ {rss[name] += $2}
         END {for (n in rss) if (rss[n] >= 256) printf "  %8d kB  %s\n", rss[n], n}' "/proc/$pid/smaps" | sort -rn | head -12
  fi
}

# The demo: what `bin/switchyard serve` runs with no config file (its state goes to a folder of its own). Its first
# start embeds the demo's documents (so it reads the local model when that is pulled); a restart finds them stored.
DEMO_PORT=$(free_port)
for label in demo-first demo-again; do
  SWITCHYARD_STATE_DIR="$WORK/state" "$BIN" serve --demo --port "$DEMO_PORT" --log-level warning > "$WORK/$label.log" 2>&1 & PIDS+=($!)
  measure "$label" "$DEMO_PORT" "${PIDS[-1]}"
  kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
done

# Minimal: one provider, one model.
MIN_PORT=$(free_port)
cat > "$WORK/minimal.yaml" <<YAML
server: {host: 127.0.0.1, port: $MIN_PORT}
storage: {sqlite: $WORK/minimal.db}
providers:
  - {name: mock, kind: openai, base_url: "http://127.0.0.1:9/v1", api_key: dummy}
models:
  - {name: gpt-4o-mini, provider: mock, price: {input: 0.15, output: 0.60}, context_window: 128000}
YAML
"$BIN" serve --config "$WORK/minimal.yaml" --log-level warning > "$WORK/minimal.log" 2>&1 & PIDS+=($!)
measure minimal "$MIN_PORT" "${PIDS[-1]}"
