"""The hnswlib side of `switchyard bench index`: same vector files, same M / efConstruction / efSearch,
one thread, the same figures printed in the same shape.

    python hnswlib_side.py BASE.vec QUERIES.vec --m 16 --ef-construction 200 --ef-search 32,128
"""
import argparse
import resource
import time

import hnswlib
import numpy as np


def read_vectors(path):
    """VectorFile: 64-byte header ("SYVEC001", u64 rows, u32 dimension), then float32 rows."""
    with open(path, "rb") as f:
        header = f.read(64)
    assert header[:8] == b"SYVEC001", f"{path} is not a vector file"
    rows = int.from_bytes(header[8:16], "little")
    dim = int.from_bytes(header[16:20], "little")
    return np.fromfile(path, dtype="<f4", offset=64).reshape(rows, dim)


def rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("queries")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--m", type=int, default=16)
    parser.add_argument("--ef-construction", type=int, default=200)
    parser.add_argument("--ef-search", default="32,128")
    parser.add_argument("--metric", default="cosine")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42, help="random_seed of the level draws")
    parser.add_argument("--label", default="hnswlib")
    parser.add_argument("--ours", nargs="*", help="switchyard bench index outputs to print side by side")
    parser.add_argument("--theirs", nargs="*", default=[], help="earlier outputs of this script (best queries/s is kept)")
    parser.add_argument("--save", help="save the built index here")
    parser.add_argument("--load", help="load the index from here instead of building it")
    args = parser.parse_args()
    lines = []

    base = read_vectors(args.base)
    queries = read_vectors(args.queries)
    n, dim = base.shape
    space = "cosine" if args.metric == "cosine" else "ip"

    # Ground truth by brute force (cosine: on normalised vectors).
    if space == "cosine":
        nb = base / np.maximum(np.linalg.norm(base, axis=1, keepdims=True), 1e-30)
        nq = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-30)
    else:
        nb, nq = base, queries
    truth = [set(row) for row in np.argsort(-(nq @ nb.T), axis=1, kind="stable")[:, : args.k].tolist()]

    index = hnswlib.Index(space=space, dim=dim)
    if args.load:
        index.load_index(args.load, max_elements=n)
        index.set_num_threads(1)
        lines.append(f"{args.label} loaded: n={index.get_current_count()} from {args.load}")
    else:
        rss_before = rss_bytes()
        start = time.perf_counter()
        index.init_index(max_elements=n, M=args.m, ef_construction=args.ef_construction, random_seed=args.seed)
        index.set_num_threads(1)
        index.add_items(base, np.arange(n), num_threads=1)
        build = time.perf_counter() - start
        rss_after = rss_bytes()
        lines.append(f"{args.label} build: n={n} d={dim} M={args.m} efC={args.ef_construction} build_s={build:.2f} "
                     f"inserts_per_s={n / build:.0f} rss_delta_mib={(rss_after - rss_before) / 1048576:.1f} "
                     f"index_mib={index.index_file_size() / 1048576:.1f}")
        if args.save:
            index.save_index(args.save)
    print(lines[-1], flush=True)

    for ef in [int(x) for x in args.ef_search.split(",")]:
        index.set_ef(ef)
        best = float("inf")
        found = 0
        for round_number in range(max(args.rounds, 1)):
            # One batch call with one thread: hnswlib's fastest single-thread path (no per-query
            # Python overhead), i.e. the most favourable figure for hnswlib.
            start = time.perf_counter()
            labels, _ = index.knn_query(queries, k=args.k, num_threads=1)
            best = min(best, time.perf_counter() - start)
            if round_number == 0:
                found = sum(len(truth[i].intersection(labels[i].tolist())) for i in range(len(queries)))
        recall = found / (len(queries) * args.k)
        lines.append(f"{args.label} search: ef={ef} k={args.k} queries={len(queries)} recall={recall:.4f} "
                     f"qps={len(queries) / best:.0f} latency_us={best / len(queries) * 1e6:.1f}")
        print(lines[-1], flush=True)
    if args.ours:
        ours = [line for path in args.ours for line in open(path).read().splitlines()]
        theirs = [line for path in args.theirs for line in open(path).read().splitlines()] + lines
        side_by_side(ours, theirs)


def fields(line):
    return dict(part.split("=", 1) for part in line.split() if "=" in part)


def side_by_side(ours, theirs):
    """One table from both sides' lines: recall and queries/s per efSearch, build time and memory."""
    def parse(lines):
        # Several passes: the build from the pass that built, the fastest search pass per efSearch.
        build = next(fields(line) for line in lines if " build: " in line)
        search = {}
        for line in lines:
            if " search: " in line:
                f = fields(line)
                if f["ef"] not in search or float(f["qps"]) > float(search[f["ef"]]["qps"]):
                    search[f["ef"]] = f
        return build, search
    (ob, osearch), (tb, tsearch) = parse(ours), parse(theirs)
    print(f"{'':<22}{'switchyard':>12}{'hnswlib':>12}{'ratio':>9}")
    print(f"{'build s':<22}{ob['build_s']:>12}{tb['build_s']:>12}{float(tb['build_s']) / float(ob['build_s']):>8.2f}x")
    print(f"{'memory MiB (RSS delta)':<22}{ob['rss_delta_mib']:>12}{tb['rss_delta_mib']:>12}")
    print(f"{'index MiB':<22}{ob['index_mib']:>12}{tb['index_mib']:>12}")
    for ef in osearch:
        if ef not in tsearch:
            continue
        o, t = osearch[ef], tsearch[ef]
        print(f"{'ef=' + ef + ' recall@' + o['k']:<22}{o['recall']:>12}{t['recall']:>12}")
        print(f"{'ef=' + ef + ' queries/s':<22}{o['qps']:>12}{t['qps']:>12}{float(o['qps']) / float(t['qps']):>8.2f}x")


if __name__ == "__main__":
    main()
