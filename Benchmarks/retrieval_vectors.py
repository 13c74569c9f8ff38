"""A larger vector set for the index benchmark, derived from real passage embeddings.

Each vector is a random convex mix of two real passage embeddings plus a little isotropic noise,
normalised: it stays on the data's manifold (so HNSW behaves as on real embeddings, unlike uniform
random vectors) while giving as many distinct points as asked. Queries come from the same recipe
with a different stream, so they are not in the base set. Seeded: every run makes the same files.

    python retrieval_vectors.py PASSAGES.vec OUT_DIR --count 100000 --queries 1000
"""
import argparse
from pathlib import Path

import numpy as np


def read_vectors(path):
    with open(path, "rb") as f:
        header = f.read(64)
    assert header[:8] == b"SYVEC001", f"{path} is not a vector file"
    rows = int.from_bytes(header[8:16], "little")
    dim = int.from_bytes(header[16:20], "little")
    return np.fromfile(path, dtype="<f4", offset=64).reshape(rows, dim)


def write_vectors(path, rows):
    rows = np.ascontiguousarray(rows, dtype="<f4")
    header = b"SYVEC001" + rows.shape[0].to_bytes(8, "little") + rows.shape[1].to_bytes(4, "little")
    with open(path, "wb") as f:
        f.write(header.ljust(64, b"\0"))
        f.write(rows.tobytes())


def mix(seed, count, passages, noise=0.25):
    rng = np.random.default_rng(seed)
    first = rng.integers(0, len(passages), count)
    second = rng.integers(0, len(passages), count)
    weight = rng.uniform(0.2, 0.8, (count, 1)).astype(np.float32)
    jitter = rng.standard_normal((count, passages.shape[1])).astype(np.float32)
    jitter /= np.linalg.norm(jitter, axis=1, keepdims=True)
    rows = weight * passages[first] + (1 - weight) * passages[second] + noise * jitter
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("passages")
    parser.add_argument("out")
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    args = parser.parse_args()
    passages = read_vectors(args.passages)
    passages = passages / np.linalg.norm(passages, axis=1, keepdims=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_vectors(out / f"mixed-{args.count}.vec", mix(1, args.count, passages))
    write_vectors(out / f"mixed-{args.count}-queries.vec", mix(2, args.queries, passages))
    print(f"wrote {out}/mixed-{args.count}.vec ({args.count} x {passages.shape[1]}) and {args.queries} queries")


if __name__ == "__main__":
    main()
