"""Trains the prompt-injection head on the dev set's window features and reports grouped cross-validation.

    bin/switchyard guard features ../shared/data/guardrails/injection-dev.jsonl --output /tmp/gf/inj
    python3 scripts/guard/train_injection.py /tmp/gf/inj ../shared/data/guardrails/injection-dev.jsonl [--write weights.json]

A text's score is the highest of its windows' scores. Training is multiple-instance: first every window of an
injected text counts as an injection; then, for texts with several windows, only the window the first model
scores highest (a document is innocent apart from the part that was injected).
"""
import argparse
import json
import sys
from collections import defaultdict

import numpy as np

import nn

parser = argparse.ArgumentParser()
parser.add_argument("prefix")
parser.add_argument("data")
parser.add_argument("--hidden", type=int, default=64)
parser.add_argument("--epochs", type=int, default=40)
parser.add_argument("--folds", type=int, default=5)
parser.add_argument("--target-fpr", type=float, default=0.02)
parser.add_argument("--write")
parser.add_argument("--dump-oof", help="write out-of-fold scores {id, score} here")
parser.add_argument("--synthetic", nargs=2, metavar=("PREFIX", "JSONL"), help="extra training rows (synth_injection.py)")
args = parser.parse_args()

rows = {}
for line in open(args.data):
    r = json.loads(line)
    rows[str(r["id"])] = r
index = [json.loads(l) for l in open(args.prefix + ".windows.jsonl")]
x = np.fromfile(args.prefix + ".windows.f32", dtype="<f4").reshape(len(index), -1).astype(np.float64)
ids = [str(i) for i in rows]
synthetic_ids = []
if args.synthetic:
    for line in open(args.synthetic[1]):
        r = json.loads(line)
        rows[r["id"]] = r
        synthetic_ids.append(r["id"])
    extra_index = [json.loads(l) for l in open(args.synthetic[0] + ".windows.jsonl")]
    x = np.vstack([x, np.fromfile(args.synthetic[0] + ".windows.f32", dtype="<f4").reshape(len(extra_index), -1)])
    index += extra_index
windows_of = defaultdict(list)
for i, w in enumerate(index):
    windows_of[str(w["id"])].append(i)
labels = np.array([rows[i]["label"] for i in ids])
clusters = [rows[i]["cluster"] for i in ids]


def fit(train_ids, seed=0):
    def run(window_sets):
        xs, ys = [], []
        for text_id, windows in window_sets:
            for w in windows:
                xs.append(w)
                ys.append(rows[text_id]["label"])
        ys = np.array(ys)
        weights = np.where(ys == 1, 0.5 / max(1, ys.sum()), 0.5 / max(1, (1 - ys).sum())) * len(ys)
        return nn.train(x[xs], ys, 2, hidden=args.hidden, epochs=args.epochs, seed=seed, weights=weights)

    model = run([(t, windows_of[t]) for t in train_ids])
    refined = []
    for t in train_ids:
        windows = windows_of[t]
        if rows[t]["label"] == 1 and len(windows) > 1:
            scores = nn.predict(model, x[windows])[:, 1]
            windows = [windows[int(np.argmax(scores))]]
        refined.append((t, windows))
    return run(refined)


def score(model, text_ids):
    return np.array([nn.predict(model, x[windows_of[t]])[:, 1].max() for t in text_ids])


def auc(scores, y):
    order = np.argsort(scores)
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    positives = y.sum()
    return (ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * (len(y) - positives))


# Grouped folds: near-copies (a cluster) never sit on both sides.
fold_of = nn.grouped_folds(clusters, args.folds, seed=7)
oof = np.zeros(len(ids))
for f in range(args.folds):
    train_ids = [t for t, c in zip(ids, clusters) if fold_of[c] != f]
    test = [k for k, c in enumerate(clusters) if fold_of[c] == f]
    model = fit(train_ids + synthetic_ids, seed=f)
    oof[test] = score(model, [ids[k] for k in test])

if args.dump_oof:
    with open(args.dump_oof, "w") as out:
        for t, value in zip(ids, oof):
            out.write(json.dumps({"id": t, "score": float(value)}) + "\n")
negatives = np.sort(oof[labels == 0])
threshold = float(negatives[int(np.ceil((1 - args.target_fpr) * len(negatives))) - 1]) + 1e-6
flags = oof >= threshold
hard = np.array([bool(rows[i].get("hard_negative")) for i in ids])
channel = np.array([rows[i]["channel"] for i in ids])
print(f"grouped {args.folds}-fold CV (by cluster), out-of-fold scores:")
print(f"  AUC {auc(oof, labels):.4f}")
for fpr in (0.01, 0.05):
    t = negatives[int(np.ceil((1 - fpr) * len(negatives))) - 1] + 1e-9
    print(f"  recall at FPR <= {fpr:.0%} (threshold picked on the OOF scores): {(oof[labels == 1] >= t).mean():.3f}")
print(f"  threshold for OOF FPR {args.target_fpr:.0%}: {threshold:.4f} -> recall {flags[labels == 1].mean():.3f}, "
      f"FPR {flags[labels == 0].mean():.3f}, hard-negative FPR {flags[(labels == 0) & hard].mean():.3f}")
for ch in ("user", "tool_output", "memory"):
    m = channel == ch
    if (m & (labels == 1)).any():
        print(f"  {ch}: recall {flags[m & (labels == 1)].mean():.3f} ({(m & (labels == 1)).sum()}), FPR {flags[m & (labels == 0)].mean():.3f} ({(m & (labels == 0)).sum()})")
by_source = defaultdict(list)
for k, i in enumerate(ids):
    by_source[(rows[i]["source"], labels[k])].append(flags[k])
for (source, label), values in sorted(by_source.items()):
    print(f"    {source} label {label}: flagged {np.mean(values):.3f} of {len(values)}")

if args.write:
    model = fit(ids + synthetic_ids, seed=0)
    out = {"layers": [{"weights": w.astype(np.float32).tolist(), "bias": b.astype(np.float32).tolist()} for w, b in model],
           "threshold": threshold, "target_fpr": args.target_fpr, "cv": {"auc": auc(oof, labels)}}
    json.dump(out, open(args.write, "w"))
    print("wrote", args.write)
