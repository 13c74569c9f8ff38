#!/usr/bin/env bash
# Learned routing on MMLU, evaluated on subjects the router never saw (and, for comparison, in-domain).
# Prints the figures of the "Learned routing" README section. Embeddings are cached in
# ~/.cache/switchyard/router-embeddings.bin, so reruns skip the (slow) embedding of 7,658 prompts.
#   bash Benchmarks/learned-routing.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/routing/mmlu-routing.jsonl}
OUT=${1:-.build/learned-routing}
BIN=${BIN:-.build/debug/switchyard}
MAX_WORDS=${MAX_WORDS:-16}    # the first 16 words (route train's default); 0: the whole turn, shared with the semantic cache
CUT=${CUT:-head}
mkdir -p "$OUT"

# New subjects: the split of Benchmarks/routing/split-by-subject.json (seed 8).
"$BIN" route split --data "$DATA" --out-dir "$OUT/subjects" --seed 8
# In domain (every subject in training; rows split), the setting of RouteLLM's MMLU anchor.
"$BIN" route split --data "$DATA" --out-dir "$OUT/rows" --seed 8 --by row

for SPLIT in subjects rows; do
  echo "== $SPLIT =="
  "$BIN" route train --data "$OUT/$SPLIT/train.jsonl" --out "$OUT/$SPLIT/router.bin" --max-words "$MAX_WORDS" --cut "$CUT"
  "$BIN" route calibrate --router "$OUT/$SPLIT/router.bin" --data "$OUT/$SPLIT/calibration.jsonl" --target-quality 0.95
  "$BIN" route eval --router "$OUT/$SPLIT/router.bin" --data "$OUT/$SPLIT/test.jsonl" --plot "$OUT/$SPLIT/pgr.svg"
  "$BIN" route score --router "$OUT/$SPLIT/router.bin" --data "$OUT/$SPLIT/test.jsonl" > "$OUT/$SPLIT/scores.jsonl"
done

"$BIN" bench learned-routing --router "$OUT/subjects/router.bin" --data "$OUT/subjects/test.jsonl" --samples 300
