"""Anchors for `switchyard eval retrieval`, on the same BEIR data: a reference BM25 (bm25s, and
rank-bm25) and exact brute-force dense search, all scored with pytrec_eval (nDCG@10, Recall@100)
and BEIR's MRR@10, averaged over queries with at least one relevant passage. Also re-scores
switchyard's exported runs with pytrec_eval, and compares BM25 scores on identical tokens.

    python retrieval_anchors.py DATA_DIR EXPORT_DIR [--reference-dir DIR] [--k1 0.9] [--b 0.4]
"""
import argparse
import json
import time
from pathlib import Path

import bm25s
import numpy as np
import pytrec_eval
import Stemmer
from rank_bm25 import BM25Okapi


def read_vectors(path):
    with open(path, "rb") as f:
        header = f.read(64)
    assert header[:8] == b"SYVEC001", f"{path} is not a vector file"
    rows = int.from_bytes(header[8:16], "little")
    dim = int.from_bytes(header[16:20], "little")
    return np.fromfile(path, dtype="<f4", offset=64).reshape(rows, dim)


def load_qrels(path):
    qrels = {}
    for number, line in enumerate(open(path)):
        parts = line.split()
        if len(parts) < 3:
            continue
        query, doc, grade = (parts[0], parts[1], parts[2]) if len(parts) == 3 else (parts[0], parts[2], parts[3])
        try:
            qrels.setdefault(query, {})[doc] = int(grade)
        except ValueError:
            if number == 0:
                continue
            raise
    return qrels


def evaluate(run, qrels):
    """run: {qid: {docid: score}} -> (nDCG@10, Recall@100, MRR@10) over queries with a relevant passage."""
    judged = {q: r for q, r in qrels.items() if any(g > 0 for g in r.values())}
    evaluator = pytrec_eval.RelevanceEvaluator(judged, {"ndcg_cut.10", "recall.100"})
    measures = evaluator.evaluate({q: run.get(q, {}) for q in judged})
    ndcg = np.mean([measures[q]["ndcg_cut_10"] if q in measures else 0.0 for q in judged])
    recall = np.mean([measures[q]["recall_100"] if q in measures else 0.0 for q in judged])
    mrr = []
    for q, grades in judged.items():
        # BEIR's MRR@k: sort by score, first relevant (grade > 0) within the top 10.
        ranked = sorted(run.get(q, {}).items(), key=lambda item: (-item[1], item[0]))[:10]
        mrr.append(next((1.0 / (rank + 1) for rank, (doc, _) in enumerate(ranked) if grades.get(doc, 0) > 0), 0.0))
    return ndcg, recall, float(np.mean(mrr)), len(judged)


def top_run(query_ids, doc_ids, score_matrix, k=100):
    run = {}
    for row, qid in enumerate(query_ids):
        scores = score_matrix[row]
        top = np.argpartition(-scores, min(k, len(scores) - 1))[:k]
        run[qid] = {doc_ids[i]: float(scores[i]) for i in top}
    return run


def bm25s_run(corpus_tokens, query_tokens, query_ids, doc_ids, k1, b, k=100):
    retriever = bm25s.BM25(k1=k1, b=b, method="lucene")
    retriever.index(corpus_tokens, show_progress=False)
    vocab = retriever.vocab_dict
    run = {}
    for qid, tokens in zip(query_ids, query_tokens):
        known = [t for t in tokens if t in vocab]
        if not known:
            run[qid] = {}
            continue
        scores = retriever.get_scores(known)
        top = np.argsort(-scores, kind="stable")[:k]
        run[qid] = {doc_ids[i]: float(scores[i]) for i in top if scores[i] > 0}
    return retriever, run


def row(name, figures):
    ndcg, recall, mrr, _ = figures
    print(f"{name:<58} {ndcg:.4f}   {recall:.4f}     {mrr:.4f}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("export")
    parser.add_argument("--reference-dir")
    parser.add_argument("--k1", type=float, default=0.9)
    parser.add_argument("--b", type=float, default=0.4)
    args = parser.parse_args()
    data, export = Path(args.data), Path(args.export)

    corpus = [json.loads(line) for line in open(data / "corpus.jsonl")]
    queries = [json.loads(line) for line in open(data / "queries.jsonl")]
    qrels = load_qrels(data / "qrels.tsv")
    doc_ids = [str(c["_id"]) for c in corpus]
    query_ids = [str(q["_id"]) for q in queries]
    texts = [(c.get("title") or "") + " " + c["text"] if c.get("title") else c["text"] for c in corpus]

    print(f"{'system':<58} nDCG@10  Recall@100 MRR@10")

    # 1. bm25s end to end: its own tokeniser (scikit-learn's \w\w+), its English stopwords and
    #    PyStemmer's original Porter algorithm, Lucene scoring, same k1 and b.
    stemmer = Stemmer.Stemmer("porter")
    own_corpus = bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, return_ids=False, show_progress=False)
    own_queries = bm25s.tokenize([q["text"] for q in queries], stopwords="en", stemmer=stemmer, return_ids=False, show_progress=False)
    _, run = bm25s_run(own_corpus, own_queries, query_ids, doc_ids, args.k1, args.b)
    row(f"bm25s {bm25s.__version__} (own tokens, porter; lucene k1={args.k1} b={args.b})", evaluate(run, qrels))

    # 2. bm25s and rank-bm25 on switchyard's own terms (exported), to compare the scoring alone.
    ours_corpus = {}
    for line in open(export / "passage-terms.jsonl"):
        item = json.loads(line)
        ours_corpus[item["id"]] = item["terms"]
    ours_queries = {json.loads(line)["id"]: json.loads(line)["terms"] for line in open(export / "query-terms.jsonl")}
    corpus_terms = [ours_corpus[d] for d in doc_ids]
    query_terms = [ours_queries[q] for q in query_ids]
    retriever, run = bm25s_run(corpus_terms, query_terms, query_ids, doc_ids, args.k1, args.b)
    row("bm25s on switchyard's terms", evaluate(run, qrels))
    okapi = BM25Okapi(corpus_terms, k1=args.k1, b=args.b)
    run_okapi = top_run(query_ids, doc_ids, np.array([okapi.get_scores(t) for t in query_terms]))
    row("rank-bm25 BM25Okapi on switchyard's terms (Robertson idf)", evaluate(run_okapi, qrels))

    # 3. Exact dense search: reference embeddings when given, and switchyard's exported vectors.
    dense_sets = []
    if args.reference_dir and (Path(args.reference_dir) / "reference-passages.vec").exists():
        dense_sets.append(("exact dense, reference embeddings (sentence-transformers)", Path(args.reference_dir) / "reference-passages.vec", Path(args.reference_dir) / "reference-queries.vec"))
    dense_sets.append(("exact dense, switchyard's embeddings (numpy)", export / "passages.vec", export / "queries.vec"))
    for name, passages_path, queries_path in dense_sets:
        passages, query_vectors = read_vectors(passages_path), read_vectors(queries_path)
        passages = passages / np.linalg.norm(passages, axis=1, keepdims=True)
        query_vectors = query_vectors / np.linalg.norm(query_vectors, axis=1, keepdims=True)
        row(name, evaluate(top_run(query_ids, doc_ids, query_vectors @ passages.T), qrels))

    print()
    print("switchyard's runs re-scored with pytrec_eval:")
    for path in sorted(export.glob("run-*.trec")):
        run = {}
        for line in open(path):
            qid, _, doc, _, score, _ = line.split()
            run.setdefault(qid, {})[doc] = float(score)
        row(f"switchyard {path.stem[4:]}", evaluate(run, qrels))

    # 4. Agreement checks.
    print()
    worst, compared = 0.0, 0
    for line in open(export / "bm25-scores.jsonl"):
        item = json.loads(line)
        known = [t for t in ours_queries[item["id"]] if t in retriever.vocab_dict]
        if not known:
            continue
        reference = retriever.get_scores(known)
        index = {d: i for i, d in enumerate(doc_ids)}
        ours = np.zeros(len(doc_ids))
        for hit in item["scores"]:
            ours[index[hit["id"]]] = hit["score"]
        worst = max(worst, float(np.max(np.abs(ours - reference))))
        compared += 1
    print(f"BM25 scores on identical terms, switchyard vs bm25s (every passage, {compared} queries): max |difference| = {worst:.2e}")
    if len(dense_sets) == 2:
        ours_p = read_vectors(export / "passages.vec")
        ref_p = read_vectors(Path(args.reference_dir) / "reference-passages.vec")
        cosines = np.sum(ours_p * ref_p, axis=1) / (np.linalg.norm(ours_p, axis=1) * np.linalg.norm(ref_p, axis=1))
        print(f"passage embeddings, switchyard vs sentence-transformers: min cosine {cosines.min():.7f}, mean {cosines.mean():.7f}")


if __name__ == "__main__":
    main()
