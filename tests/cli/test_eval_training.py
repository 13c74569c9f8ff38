"""Closing the loop (issue 21): `switchyard route train --from-eval results.json` builds the learned
router's training data from eval results. On results derived from ../shared/data/routing/mmlu-routing.jsonl
(each line a test, the weak and strong model's correctness as each cell's verdict, in promptfoo's
results.json shape) the router it trains matches the one trained from the file directly."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from test_first_hour import BIN, REPO

MMLU = REPO.parent / "shared" / "data" / "routing" / "mmlu-routing.jsonl"


def promptfoo_results(lines: list[dict]) -> dict:
    """What `eval run` (or promptfoo) writes for a suite of these prompts against two providers."""
    results = []
    for index, line in enumerate(lines):
        vars_ = {"prompt": line["prompt"], "id": line["id"], "source": line["source"]}
        for provider, field in (("openai:chat:weak", "weak_correct"), ("openai:chat:strong", "strong_correct")):
            passed = bool(line[field])
            results.append({
                "promptIdx": 0, "testIdx": index, "testCase": {"vars": vars_}, "vars": vars_,
                "provider": {"id": provider, "label": provider}, "prompt": {"raw": line["prompt"], "label": "{{prompt}}"},
                "response": {"output": "A" if passed else "B", "cached": False, "cost": 0.0, "latencyMs": 1},
                "error": None, "success": passed, "score": 1.0 if passed else 0.0, "failureReason": 0 if passed else 1,
                "gradingResult": {"pass": passed, "score": 1.0 if passed else 0.0, "reason": "", "componentResults": []},
                "namedScores": {}, "latencyMs": 1, "cost": 0.0,
            })
    successes = sum(r["success"] for r in results)
    return {"evalId": "derived", "results": {"version": 3, "results": results, "stats": {
        "successes": successes, "failures": len(results) - successes, "errors": 0}}}


def train(tmp_path: Path, name: str, *source: str) -> float:
    """The held-out APGR of the router `route train` chooses (logistic only, to keep CI quick; the
    embeddings are cached by text, so the second training reuses the first's)."""
    out = tmp_path / f"{name}.router.json"
    result = subprocess.run([BIN, "route", "train", *source, "--out", str(out), "--kinds", "logistic"],
                            capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout + result.stderr
    chosen = re.search(r"chosen: .*held-out APGR ([0-9.]+)", result.stdout)
    assert chosen, result.stdout
    return float(chosen.group(1))


@pytest.mark.skipif(not MMLU.exists(), reason="../shared/data is not beside the checkout")
def test_router_from_eval_results_matches_the_router_from_the_file(tmp_path):
    lines = [json.loads(line) for line in MMLU.read_text().split("\n") if line.strip()]
    results = tmp_path / "results.json"
    results.write_text(json.dumps(promptfoo_results(lines)))
    derived = tmp_path / "derived.jsonl"
    direct_apgr = train(tmp_path, "direct", "--data", str(MMLU))
    eval_apgr = train(tmp_path, "eval", "--from-eval", str(results), "--write-data", str(derived))
    assert abs(direct_apgr - eval_apgr) <= 0.01, (direct_apgr, eval_apgr)
    # The derived data is the file's: same prompts, sources and outcomes, in order. (The file repeats 24
    # prompts word for word, ids and all; identical tests are one prompt measured twice, so they merge
    # into one example with the mean outcome.)
    rows = [json.loads(line) for line in derived.read_text().split("\n") if line.strip()]
    distinct = {}
    for line in lines:
        distinct.setdefault((line["id"], line["prompt"]), []).append(line)
    assert len(rows) == len(distinct)
    for row in rows:
        group = distinct[(row["id"], row["prompt"])]
        assert row["source"] == group[0]["source"]
        for model, field in (("weak", "weak_correct"), ("strong", "strong_correct")):
            assert row["outcomes"][model] == pytest.approx(sum(float(g[field]) for g in group) / len(group))
    print(f"held-out APGR: from the file {direct_apgr:.4f}, from eval results {eval_apgr:.4f}")
