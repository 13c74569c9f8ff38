"""The support-triage label rules and splits, shared by build_suite.py, tune_classifier.py and measure.py.

The datasets carry intents only; routes are derived by these stated rules:
- CLINC150 `oos` (out of scope: nothing a bank's support covers)          -> person
- BANKING77 intents about a card or phone out of the customer's control,
  or money leaving the account that the customer does not recognise      -> urgent (URGENT_INTENTS)
- every other BANKING77 intent                                            -> routine

Splits (no ticket is both a classifier example and an eval ticket):
- BANKING77 train.csv is split by a hash of the text: bucket 0 of 5 (about 20 %) is HELD OUT for the eval
  suite, buckets 1-4 are DEV, the only source of the classifier's examples (and of tuning).
- CLINC150 `oos_train` gives the person examples; `oos_val` gives the suite's person tickets.
(BANKING77's and CLINC150's own test sets are not on this machine: they are kept for acceptance runs.)
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

DATA = Path("/work/shared/data/support")

URGENT_INTENTS = [
    "lost_or_stolen_card",
    "compromised_card",
    "card_swallowed",
    "lost_or_stolen_phone",
    "card_payment_not_recognised",
    "cash_withdrawal_not_recognised",
    "direct_debit_payment_not_recognised",
]

ROUTES = ["routine", "urgent", "person"]


def route_of(intent: str) -> str:
    if intent == "oos":
        return "person"
    return "urgent" if intent in URGENT_INTENTS else "routine"


def held_out(text: str) -> bool:
    """BANKING77 rows whose text hashes to bucket 0 of 5 are held out for the suite."""
    return hashlib.sha256(text.strip().lower().encode()).digest()[0] % 5 == 0


def banking77(data: Path = DATA) -> list[tuple[str, str]]:
    with open(data / "banking77-train.csv", newline="") as handle:
        return [(row["text"].strip(), row["category"]) for row in csv.DictReader(handle)]


def clinc(data: Path = DATA) -> dict[str, list[tuple[str, str]]]:
    raw = json.loads((data / "clinc150-train-val.json").read_text())
    return {key: [(text.strip(), intent) for text, intent in rows] for key, rows in raw.items()}


def dev_and_held_out(data: Path = DATA) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(dev, held_out) BANKING77 rows; identical texts always fall on the same side."""
    rows = banking77(data)
    return [r for r in rows if not held_out(r[0])], [r for r in rows if held_out(r[0])]
