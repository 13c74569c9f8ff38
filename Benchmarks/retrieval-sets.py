#!/usr/bin/env python3
"""Builds BEIR-format retrieval sets (corpus.jsonl, queries.jsonl, qrels.tsv) from the public data in
../shared/data, for judging fusion and reranking on more than one domain. Deterministic: the same
input gives byte-identical output. Standard library only.

  paraphrase   GPTCache's 600 paraphrase pairs (MIT): each `origin` is a query, the corpus is every
               `similar`, its own pair's is the one relevant passage (duplicate-question retrieval,
               like BEIR's Quora set).
  banking77    BANKING77 train (CC-BY-4.0): 3 queries per intent (the rows whose position within the
               intent is 0, 40, 80) taken out of the corpus; every other row of the same intent is
               relevant (same-intent retrieval; about 125 relevant passages per query).
  clinc150     CLINC150 train + val in scope (CC-BY-3.0): the same, 2 queries per intent (positions
               0 and 60).

Usage: python3 Benchmarks/retrieval-sets.py [--data ../shared/data] [--out .build/retrieval-sets]
"""
import argparse
import csv
import json
import os


def write(folder, corpus, queries, qrels):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "corpus.jsonl"), "w", encoding="utf-8") as f:
        for doc_id, text in corpus:
            f.write(json.dumps({"_id": doc_id, "title": "", "text": text}, ensure_ascii=False) + "\n")
    with open(os.path.join(folder, "queries.jsonl"), "w", encoding="utf-8") as f:
        for query_id, text in queries:
            f.write(json.dumps({"_id": query_id, "text": text}, ensure_ascii=False) + "\n")
    with open(os.path.join(folder, "qrels.tsv"), "w", encoding="utf-8") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for query_id, doc_id in qrels:
            f.write(f"{query_id}\t{doc_id}\t1\n")
    print(f"{folder}: {len(corpus)} passages, {len(queries)} queries, {len(qrels)} judgements")


def intent_set(rows, picks, prefix):
    """rows: [(text, intent)] in file order. picks: positions within each intent that become queries."""
    by_intent = {}
    for text, intent in rows:
        by_intent.setdefault(intent, []).append(text)
    corpus, queries, members = [], [], {}
    for intent in sorted(by_intent):
        for position, text in enumerate(by_intent[intent]):
            if position in picks:
                queries.append((f"{prefix}q-{intent}-{position}", text, intent))
            else:
                doc_id = f"{prefix}d-{len(corpus)}"
                corpus.append((doc_id, text))
                members.setdefault(intent, []).append(doc_id)
    qrels = [(query_id, doc_id) for query_id, _, intent in queries for doc_id in members.get(intent, [])]
    return corpus, [(q, t) for q, t, _ in queries], qrels


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--out", default=".build/retrieval-sets")
    args = parser.parse_args()

    pairs = [json.loads(line) for line in open(os.path.join(args.data, "cache/paraphrase-pairs.jsonl"), encoding="utf-8") if line.strip()]
    write(
        os.path.join(args.out, "paraphrase"),
        [(f"p{i}", pair["similar"]) for i, pair in enumerate(pairs)],
        [(f"q{i}", pair["origin"]) for i, pair in enumerate(pairs)],
        [(f"q{i}", f"p{i}") for i in range(len(pairs))],
    )

    with open(os.path.join(args.data, "support/banking77-train.csv"), encoding="utf-8", newline="") as f:
        banking = [(row["text"], row["category"]) for row in csv.DictReader(f)]
    write(os.path.join(args.out, "banking77"), *intent_set(banking, {0, 40, 80}, "b"))

    clinc = json.load(open(os.path.join(args.data, "support/clinc150-train-val.json"), encoding="utf-8"))
    rows = [(text, intent) for text, intent in clinc["train"] + clinc["val"]]
    write(os.path.join(args.out, "clinc150"), *intent_set(rows, {0, 60}, "c"))


if __name__ == "__main__":
    main()
