"""Trains the PII word-labelling head (BIO tags over Presidio types) and reports grouped cross-validation.

    bin/switchyard guard features ../shared/data/guardrails/pii-dev.jsonl --output /tmp/gf/pii
    python3 scripts/guard/train_pii.py /tmp/gf/pii ../shared/data/guardrails/pii-dev.jsonl --oof /tmp/oof.jsonl [--write w.json]

Folds are grouped by template (and identities never repeat across the held-out split), so a template's
sentences are never on both sides. The out-of-fold spans go to `--oof` for score.py.
"""
import argparse
import json
from collections import defaultdict

import numpy as np

import nn

TYPES = ["PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS", "DATE_TIME", "LOCATION", "ADDRESS"]
LABELS = ["O"] + [f"{p}-{t}" for t in TYPES for p in "BI"]

parser = argparse.ArgumentParser()
parser.add_argument("prefix")
parser.add_argument("data")
parser.add_argument("--hidden", type=int, default=128)
parser.add_argument("--epochs", type=int, default=30)
parser.add_argument("--folds", type=int, default=5)
parser.add_argument("--oof")
parser.add_argument("--write")
parser.add_argument("--synthetic", nargs=2, metavar=("PREFIX", "JSONL"), help="extra training rows (synth_pii.py)")
parser.add_argument("--lr", type=float, default=2e-3)
parser.add_argument("--l2", type=float, default=1e-4)
args = parser.parse_args()

rows = {}
order = []
for line in open(args.data):
    r = json.loads(line)
    rows[r["id"]] = r
    order.append(r["id"])
index = [json.loads(l) for l in open(args.prefix + ".words.jsonl")]
x = np.fromfile(args.prefix + ".words.f32", dtype="<f4").reshape(len(index), -1).astype(np.float64)
synthetic_ids = []
if args.synthetic:
    for line in open(args.synthetic[1]):
        r = json.loads(line)
        rows[r["id"]] = r
        synthetic_ids.append(r["id"])
    extra_index = [json.loads(l) for l in open(args.synthetic[0] + ".words.jsonl")]
    extra_x = np.fromfile(args.synthetic[0] + ".words.f32", dtype="<f4").reshape(len(extra_index), -1).astype(np.float64)
    index += extra_index
    x = np.vstack([x, extra_x])
words_of = defaultdict(list)
for i, w in enumerate(index):
    words_of[w["id"]].append(i)

y = np.zeros(len(index), dtype=int)
for text_id, word_ids in words_of.items():
    for span in rows[text_id]["spans"]:
        inside = [i for i in word_ids if index[i]["start"] >= span["start"] and index[i]["end"] <= span["end"]]
        for k, i in enumerate(inside):
            y[i] = LABELS.index(("B-" if k == 0 else "I-") + span["type"])


def allowed(previous, label):
    """BIO: an I- tag only continues a B- or I- of the same type."""
    if not label.startswith("I-"):
        return True
    return previous != "O" and previous[2:] == label[2:]


def decode(text_id, probs):
    """Viterbi over the word probabilities with BIO transitions, then spans from the best path."""
    logp = np.log(np.maximum(probs, 1e-9))
    n, k = logp.shape
    score = np.where([allowed("O", l) for l in LABELS], logp[0], -1e9)
    back = np.zeros((n, k), dtype=int)
    mask = np.array([[0.0 if allowed(a, b) else -1e9 for b in LABELS] for a in LABELS])
    for t in range(1, n):
        total = score[:, None] + mask
        back[t] = total.argmax(axis=0)
        score = total.max(axis=0) + logp[t]
    path = [int(score.argmax())]
    for t in range(n - 1, 0, -1):
        path.append(back[t][path[-1]])
    path.reverse()
    spans, current = [], None
    for t, (i, label_index) in enumerate(zip(words_of[text_id], path)):
        label, w = LABELS[label_index], index[i]
        p = float(probs[t][label_index])
        if label == "O":
            current = None
        elif label.startswith("I-") and current is not None:
            current["end"] = w["end"]
            current["score"] = min(current["score"], p)
        else:
            current = {"start": w["start"], "end": w["end"], "type": label[2:], "score": p}
            spans.append(current)
    return spans


# Rows without a template (documentation sentences) are independent items: each is its own group.
def group_of(t):
    return rows[t]["template"] or t


groups = [group_of(t) for t in order]
fold_of = nn.grouped_folds(groups, args.folds, seed=11)

predictions = {}
for f in range(args.folds):
    train_ids = [t for t in order if fold_of[group_of(t)] != f]
    test_ids = [t for t in order if fold_of[group_of(t)] == f]
    held = set(test_ids)
    # Synthetic rows whose values came from a test-fold row would leak its identity into training.
    train_ids += [t for t in synthetic_ids if not held.intersection(rows[t]["donors"])]
    train_words = [i for t in train_ids for i in words_of[t]]
    model = nn.train(x[train_words], y[train_words], len(LABELS), hidden=args.hidden, epochs=args.epochs, seed=f, lr=args.lr, l2=args.l2)
    for t in test_ids:
        predictions[t] = decode(t, nn.predict(model, x[words_of[t]])) if words_of[t] else []
    print(f"fold {f} done", flush=True)

if args.oof:
    with open(args.oof, "w") as out:
        for t in order:
            out.write(json.dumps({"id": t, "spans": predictions[t]}) + "\n")
    print("wrote", args.oof)

if args.write:
    all_words = [i for t in order + synthetic_ids for i in words_of[t]]
    model = nn.train(x[all_words], y[all_words], len(LABELS), hidden=args.hidden, epochs=args.epochs, seed=0)
    out = {"labels": LABELS, "layers": [{"weights": w.astype(np.float32).tolist(), "bias": b.astype(np.float32).tolist()} for w, b in model]}
    json.dump(out, open(args.write, "w"))
    print("wrote", args.write)
