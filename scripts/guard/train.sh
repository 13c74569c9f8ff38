#!/usr/bin/env bash
# Retrains the guard heads from the dev sets and rewrites Sources/Guardrails/Model/GuardWeights.swift, printing the
# grouped cross-validation figures on the way. Needs numpy (python3 -m pip install numpy) and a built binary.
# Usage: bash scripts/guard/train.sh   (BIN=… for another switchyard binary; OUT=… for the work folder)
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-.build/debug/switchyard}
OUT=${OUT:-/tmp/switchyard-guard-train}
DATA=../shared/data/guardrails
mkdir -p "$OUT"
python3 scripts/guard/synth_pii.py "$DATA/pii-dev.jsonl" > "$OUT/synth-pii.jsonl"
python3 scripts/guard/synth_injection.py > "$OUT/synth-inj.jsonl"
# Windows from layer 6 (injection), words from layer 2 (PII): what the shipped detector reads.
for name in injection-dev pii-dev; do "$BIN" guard features "$DATA/$name.jsonl" --output "$OUT/$name" --injection-layer 6 --pii-layer 2; done
for name in synth-pii synth-inj; do "$BIN" guard features "$OUT/$name.jsonl" --output "$OUT/$name" --injection-layer 6 --pii-layer 2; done
cd scripts/guard
python3 train_injection.py "$OUT/injection-dev" "../../$DATA/injection-dev.jsonl" --synthetic "$OUT/synth-inj" "$OUT/synth-inj.jsonl" \
  --dump-oof "$OUT/injection-oof.jsonl" --write "$OUT/injection.json"
python3 train_pii.py "$OUT/pii-dev" "../../$DATA/pii-dev.jsonl" --synthetic "$OUT/synth-pii" "$OUT/synth-pii.jsonl" --epochs 10 \
  --oof "$OUT/pii-oof.jsonl" --write "$OUT/pii.json"
cd ../..
python3 scripts/guard/export_weights.py "$OUT/injection.json" "$OUT/pii.json"
echo "out-of-fold PII spans of the head alone (before the pattern tier): $OUT/pii-oof.jsonl"
