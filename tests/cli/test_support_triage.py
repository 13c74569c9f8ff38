"""Support triage (issue 22's example): examples/support-triage.yaml run on a 20-ticket slice of its eval suite
through `switchyard eval run`, on the mock upstream, as examples/support/measure.py runs it.

The routes come from the local embedding classifier, so the route accuracy is a real figure (the slice's tickets
are held out from the classifier's examples); the answers are the mock quoting its prompt back. Deterministic:
no sampling, fixed tickets, the eval cache off."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from test_first_hour import BIN, REPO

sys.path.insert(0, str(REPO / "examples" / "support"))
import measure  # noqa: E402

SLICE = 20


def test_triage_routes_the_slice_and_costs_less_than_the_strong_model(tmp_path):
    summary = measure.measure(BIN, tmp_path, limit=SLICE)
    triage, strong = summary["providers"]["triage"], summary["providers"]["strong-only"]
    assert triage["tickets"] == strong["tickets"] == SLICE
    assert triage["error_count"] == 0, triage["errors"]
    assert strong["error_count"] == 0, strong["errors"]

    # The slice's expected routes, and what the classifier made of them (see examples/support/README.md).
    tests = [json.loads(line) for line in (REPO / "examples/support/triage-tests.jsonl").read_text().splitlines()[:SLICE]]
    assert {t["vars"]["expected_route"] for t in tests} == {"routine", "urgent", "person"}
    assert triage["route_accuracy"] >= 0.8, triage["confusion"]

    # Every routine ticket the small model answered passed the check for free; urgent ones went to the strong model.
    assert 0 < triage["escalation_rate"] < 1, triage
    assert strong["escalation_rate"] == 1.0, strong
    assert triage["cost_per_ticket_usd"] < strong["cost_per_ticket_usd"], (triage, strong)
