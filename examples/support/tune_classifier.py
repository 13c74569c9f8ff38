#!/usr/bin/env python3
"""Chooses how many examples per intent the embedding classifier gets, by cross-validation on the DEV split only.

    python3 examples/support/tune_classifier.py [--bin .build/debug/switchyard]

The `classify: {method: embedding}` step picks the label whose centroid (the mean of the unit MiniLM vectors of
the label's description and examples) is nearest the ticket by cosine. This script reproduces that rule with
vectors from `switchyard embed --json` (cached in .build/support-embeddings.json, never in git) and reports,
for each candidate number of examples per intent:

- grouped 5-fold CV: folds of whole INTENTS (and of person examples), so a fold's tickets come from intents
  the centroids saw no example of — how the router does on kinds of tickets it was not shown;
- row 5-fold CV: folds of tickets within every intent — how it does on new tickets of known intents (what the
  suite, drawn from held-out tickets of the same intents, measures).

Figures are means over folds, the spread is the fold range; the held-out suite tickets are never read here.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
from collections import defaultdict
from pathlib import Path

import labels

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DESCRIPTIONS = {
    "routine": "a question about using a bank account, card, transfer, top-up, fee or exchange rate",
    "urgent": "a lost, stolen or compromised card or phone, a card kept by a cash machine, or a payment the customer did not make",
    "person": "a request that is not about banking at all",
}


def embed(texts: list[str], binary: str, cache: Path) -> dict[str, list[float]]:
    known: dict[str, list[float]] = json.loads(cache.read_text()) if cache.exists() else {}
    missing = sorted({t for t in texts if t not in known})
    for start in range(0, len(missing), 400):
        batch = missing[start:start + 400]
        out = subprocess.run([binary, "embed", "--json", *batch], check=True, capture_output=True, text=True).stdout
        vectors = [json.loads(line) for line in out.splitlines() if line.startswith("[")]
        assert len(vectors) == len(batch), (len(vectors), len(batch))
        known.update(zip(batch, (unit(v) for v in vectors)))
        print(f"  embedded {min(start + 400, len(missing))}/{len(missing)}", flush=True)
    if missing:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(known))
    return known


def unit(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


def centroid(vectors: list[list[float]]) -> list[float]:
    return unit([sum(column) for column in zip(*vectors)])


def classify(vector: list[float], centroids: dict[str, list[float]], min_score: float | None = None) -> str:
    """The nearest centroid's label; `person` (the step's `otherwise`) when even that is below `min_score`."""
    scores = {label: sum(a * b for a, b in zip(vector, centroid)) for label, centroid in centroids.items()}
    best = max(scores, key=scores.get)
    return "person" if min_score is not None and scores[best] < min_score else best


def evaluate(train: dict[str, list[str]], test: list[tuple[str, str]], per_intent: dict[str, int],
             vectors: dict[str, list[float]], descriptions: dict[str, list[float]], rng: random.Random,
             min_score: float | None = None) -> float:
    """Centroids from `per_intent[route]` examples of each training intent; the accuracy on `test` (text, route),
    each route's accuracy weighted 2:1:1 (routine, urgent, person) as in the suite's mix."""
    members: dict[str, list[list[float]]] = {route: [descriptions[route]] for route in labels.ROUTES}
    for intent, texts in sorted(train.items()):
        route = labels.route_of(intent)
        take = len(texts) if route == "person" else min(per_intent[route], len(texts))
        members[route] += [vectors[t] for t in rng.sample(texts, take)]
    centroids = {route: centroid(vs) for route, vs in members.items()}
    weights = {"routine": 0.5, "urgent": 0.25, "person": 0.25}
    accuracy = 0.0
    for route, weight in weights.items():
        cases = [text for text, expected in test if expected == route]
        accuracy += weight * sum(classify(vectors[text], centroids, min_score) == route for text in cases) / len(cases)
    return accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", default=str(REPO / ".build" / "debug" / "switchyard"))
    parser.add_argument("--data", type=Path, default=labels.DATA)
    parser.add_argument("--cache", type=Path, default=REPO / ".build" / "support-embeddings.json")
    args = parser.parse_args()

    dev, _ = labels.dev_and_held_out(args.data)
    by_intent: dict[str, list[str]] = defaultdict(list)
    for text, intent in dev:
        by_intent[intent].append(text)
    by_intent = {intent: sorted(set(texts)) for intent, texts in by_intent.items()}
    person = sorted({text for text, _ in labels.clinc(args.data)["oos_train"]})
    vectors = embed([t for ts in by_intent.values() for t in ts] + person + list(DESCRIPTIONS.values()), args.bin, args.cache)
    descriptions = {route: vectors[text] for route, text in DESCRIPTIONS.items()}

    rng = random.Random(22)  # the intent and person folds
    intents = sorted(by_intent)
    urgent = [i for i in intents if labels.route_of(i) == "urgent"]
    routine = [i for i in intents if labels.route_of(i) == "routine"]
    rng.shuffle(urgent)
    rng.shuffle(routine)
    shuffled_person = person[:]
    rng.shuffle(shuffled_person)
    folds = 5

    def cross_validate(per: dict[str, int], min_score: float | None) -> tuple[list[float], list[float]]:
        grouped, rows = [], []
        for fold in range(folds):
            held = set(urgent[fold::folds] + routine[fold::folds])
            held_person = set(shuffled_person[fold::folds])
            train = {i: ts for i, ts in by_intent.items() if i not in held}
            train["oos"] = [t for t in person if t not in held_person]
            test = [(t, labels.route_of(i)) for i in held for t in by_intent[i]] + [(t, "person") for t in held_person]
            grouped.append(evaluate(train, test, per, vectors, descriptions, random.Random(fold), min_score))
            train_rows = {i: [t for n, t in enumerate(ts) if n % folds != fold] for i, ts in by_intent.items()}
            train_rows["oos"] = [t for n, t in enumerate(person) if n % folds != fold]
            test_rows = [(t, labels.route_of(i)) for i, ts in by_intent.items() for n, t in enumerate(ts) if n % folds == fold]
            test_rows += [(t, "person") for n, t in enumerate(person) if n % folds == fold]
            rows.append(evaluate(train_rows, test_rows, per, vectors, descriptions, random.Random(fold), min_score))
        return grouped, rows

    print("examples per intent (routine / urgent), no min_score: grouped-by-intent CV | row CV  (accuracy, 2:1:1 routes)")
    for routine_k, urgent_k in [(1, 4), (2, 6), (4, 12), (8, 24), (16, 48)]:
        grouped, rows = cross_validate({"routine": routine_k, "urgent": urgent_k}, None)
        print(f"  {routine_k:>2} / {urgent_k:>2}: grouped {fmt(grouped)}  rows {fmt(rows)}", flush=True)
    print("min_score (below it: person), 2 / 6 examples per intent")
    for min_score in [None, 0.1, 0.15, 0.175, 0.2, 0.225, 0.25, 0.3]:
        grouped, rows = cross_validate({"routine": 2, "urgent": 6}, min_score)
        print(f"  {str(min_score):>5}: grouped {fmt(grouped)}  rows {fmt(rows)}", flush=True)

def fmt(values: list[float]) -> str:
    return f"{sum(values) / len(values):.3f} ({min(values):.3f}–{max(values):.3f})"


if __name__ == "__main__":
    main()
