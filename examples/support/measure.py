#!/usr/bin/env python3
"""Runs the support-triage suite on the mock upstream and prints the figures: routing accuracy of the triage step,
escalation rate, hand-off rate and cost per ticket, for the triage workflow and the everything-to-the-strong-model
baseline.

    python3 examples/support/measure.py [--bin .build/debug/switchyard] [--limit N] [--out DIR]

What it does, in order (each a plain CLI command, printed as it runs):
1. starts `switchyard mock` on a free port and tells it to quote each prompt back (the fault `echo` for the
   small and the strong upstream model): the mock's "answer" is the passages and the ticket, which cites [1];
2. `switchyard ingest examples/support-kb --collection support-kb --config examples/support-triage.yaml`
   into a fresh database in DIR;
3. `switchyard eval run examples/support/triage-suite.yaml --config examples/support-triage.yaml
   --output DIR/results.json --no-cache` (the first N tests with --limit);
4. reads DIR/results.json (promptfoo's shape) and writes DIR/summary.json.

Real: the route (local MiniLM embeddings), the retrieval, token counts of prompts (the mock counts 4 characters a
token) and prices. Mock: every answer's text, so its length (output tokens) and whether it passes the check.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CONFIG = REPO / "examples" / "support-triage.yaml"
KB = REPO / "examples" / "support-kb"
SUITE = HERE / "triage-suite.yaml"
TESTS = HERE / "triage-tests.jsonl"
ROUTES = ["routine", "urgent", "person"]
# The upstream models of demo-llama and demo-claude in the config; the mock quotes prompts back for both.
ECHO_MODELS = ["llama3.2", "claude-haiku-4-5"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url: str, body: dict) -> None:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status in (200, 204), response.status


def start_mock(binary: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    mock = subprocess.Popen([binary, "mock", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url + "/_mock/requests", timeout=2).read()
            break
        except OSError:
            time.sleep(0.1)
    for model in ECHO_MODELS:
        post(url + "/_mock/faults", {"model": model, "fault": "echo", "count": -1})
    return mock, url


def run(command: list[str], env: dict, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess:
    print("$ " + " ".join(str(c) for c in command), file=sys.stderr, flush=True)
    done = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True)
    if done.returncode not in ok:
        raise SystemExit(f"{command[1]} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def sliced_suite(limit: int, work: Path) -> Path:
    """The suite over the first `limit` tests (the tests file is shuffled, so a prefix mixes the routes)."""
    tests = work / "triage-tests.jsonl"
    tests.write_text("".join(TESTS.read_text().splitlines(keepends=True)[:limit]))
    suite = work / "triage-suite.yaml"
    suite.write_text(SUITE.read_text())
    return suite


def figures(results: dict) -> dict:
    """Per provider: tickets, route accuracy and confusion (triage), escalation and hand-off rates, cost per ticket."""
    by_provider: dict[str, list[dict]] = {}
    for cell in results["results"]["results"]:
        provider = cell.get("provider", {})
        by_provider.setdefault(provider.get("label") or provider.get("id"), []).append(cell)
    summary = {}
    for provider, cells in by_provider.items():
        routes, confusion, errors = [], Counter(), []
        for cell in cells:
            expected = cell["vars"]["expected_route"]
            output = (cell.get("response") or {}).get("output")
            try:
                route = json.loads(output)["route"] if isinstance(output, str) else None
            except (ValueError, KeyError, TypeError):
                route = None
            if route is None:
                errors.append(cell.get("error") or f"unreadable output: {str(output)[:200]}")
            routes.append(route)
            confusion[f"{expected}->{route}"] += 1
        costs = [float(cell.get("cost") or 0) for cell in cells]
        n = len(cells)
        strong = sum(cost > 0 for cost in costs)  # the strong model is the only priced model either workflow calls
        summary[provider] = {
            "tickets": n,
            "route_accuracy": sum(r == c["vars"]["expected_route"] for r, c in zip(routes, cells)) / n,
            "confusion": dict(sorted(confusion.items())),
            "per_route_accuracy": {
                route: (sum(r == route for r, c in zip(routes, cells) if c["vars"]["expected_route"] == route)
                        / max(1, sum(c["vars"]["expected_route"] == route for c in cells)))
                for route in ROUTES
            },
            "escalation_rate": strong / n,
            "escalated_after_failed_check": sum(r == "routine" and cost > 0 for r, cost in zip(routes, costs)) / n,
            "handoff_rate": sum(r == "person" for r in routes) / n,
            "cost_per_ticket_usd": sum(costs) / n,
            "prompt_tokens_per_ticket": sum((c.get("tokenUsage") or {}).get("prompt", 0) for c in cells) / n,
            "completion_tokens_per_ticket": sum((c.get("tokenUsage") or {}).get("completion", 0) for c in cells) / n,
            "cost_total_usd": sum(costs),
            "passed": sum(bool(c.get("success")) for c in cells) / n,
            "errors": errors[:5],
            "error_count": len(errors),
        }
    return summary


def measure(binary: str, work: Path, limit: int | None = None, mock_url: str | None = None) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    mock = None
    if mock_url is None:
        mock, mock_url = start_mock(binary)
    try:
        db = work / "support-triage.db"
        for stale in work.glob("support-triage.db*"):
            shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
        env = {**os.environ, "SWITCHYARD_DB": str(db), "SWITCHYARD_MOCK_URL": mock_url}
        env.pop("SWITCHYARD_URL", None)
        run([binary, "ingest", str(KB), "--collection", "support-kb", "--config", str(CONFIG)], env)
        suite = sliced_suite(limit, work) if limit else SUITE
        results_path = work / "results.json"
        started = time.time()
        run([binary, "eval", "run", str(suite), "--config", str(CONFIG), "--output", str(results_path), "--no-cache"], env, ok=(0, 100))
        summary = {"seconds": round(time.time() - started, 1), "providers": figures(json.loads(results_path.read_text()))}
        (work / "summary.json").write_text(json.dumps(summary, indent=2))
        return summary
    finally:
        if mock is not None:
            mock.terminate()
            mock.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", default=os.environ.get("SWITCHYARD_BIN") or str(REPO / ".build" / "debug" / "switchyard"))
    parser.add_argument("--limit", type=int, help="only the first N tickets")
    parser.add_argument("--out", type=Path, help="folder for the database, results.json and summary.json (default: a temporary one)")
    parser.add_argument("--mock-url", help="an already running `switchyard mock` (its faults are left as they are)")
    args = parser.parse_args()
    work = args.out or Path(tempfile.mkdtemp(prefix="support-triage-"))
    summary = measure(args.bin, work.resolve(), args.limit, args.mock_url)
    print(json.dumps(summary, indent=2))
    print(f"results: {work / 'results.json'}", file=sys.stderr)


if __name__ == "__main__":
    main()
