"""Governance from the command line (issue 18): `switchyard teams`, `keys`, `spend` and `audit`
against a real gateway with a role-carrying admin key in its YAML, the mock upstream behind it, and
the audit chain checked offline before and after one row of the database is edited."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from test_first_hour import BIN, free_port, http

ADMIN = "sk-admin-governance-cli"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    work = tmp_path_factory.mktemp("govcli")
    mock_port, port = free_port(), free_port()
    config = work / "switchyard.yaml"
    config.write_text(f"""
server: {{host: 127.0.0.1, port: {port}}}
storage: {{sqlite: {work}/gw.sqlite}}
providers:
  - {{name: mock, kind: openai, base_url: "http://127.0.0.1:{mock_port}/v1", api_key: dummy}}
models:
  - {{name: m, provider: mock, upstream: gpt-4o-mini, price: {{input: 0.15, output: 0.6}}}}
auth: {{keys: [{{key: "${{ADMIN_KEY}}", name: admin, role: admin}}]}}
""")
    env = {**os.environ, "ADMIN_KEY": ADMIN, "SWITCHYARD_STATE_DIR": str(work / "state")}
    env.pop("SWITCHYARD_URL", None)
    env.pop("SWITCHYARD_KEY", None)
    procs = [subprocess.Popen([BIN, "mock", "--port", str(mock_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
             subprocess.Popen([BIN, "serve", "--config", str(config)], cwd=work, env=env,
                              stdout=open(work / "serve.log", "wb"), stderr=subprocess.STDOUT)]
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if http("GET", url + "/health", timeout=2)[0] == 200:
                break
        except OSError:
            time.sleep(0.2)
    else:
        raise AssertionError((work / "serve.log").read_text()[-3000:])
    yield {"url": url, "work": work, "config": config, "env": {**env, "SWITCHYARD_URL": url, "SWITCHYARD_KEY": ADMIN}}
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=30)


def run(gateway, *args, key: str | None = None) -> subprocess.CompletedProcess:
    env = dict(gateway["env"])
    if key:
        env["SWITCHYARD_KEY"] = key
    return subprocess.run([BIN, *args], cwd=gateway["work"], env=env, capture_output=True, text=True, timeout=60)


def chat(gateway, key: str, max_tokens: int = 40):
    return http("POST", gateway["url"] + "/v1/chat/completions",
                {"model": "m", "messages": [{"role": "user", "content": "hello there"}], "max_tokens": max_tokens},
                {"authorization": f"Bearer {key}"})


def test_keys_teams_spend_and_audit_round_trip(gateway):
    created = run(gateway, "teams", "create", "research", "--budget", "5", "--period", "week", "--rpm", "100")
    assert created.returncode == 0, created.stderr
    teams = run(gateway, "teams", "list")
    assert "research" in teams.stdout and "$5.00/week hard" in teams.stdout

    made = run(gateway, "keys", "create", "bob", "--team", "research", "--tag", "project=apollo", "--json")
    assert made.returncode == 0, made.stderr
    answer = json.loads(made.stdout)
    secret, key_id = answer["key"], answer["id"]
    assert secret.startswith("sk-sy-") and key_id.startswith("key_")

    listed = run(gateway, "keys", "list")
    assert key_id in listed.stdout and secret not in listed.stdout

    costs = []
    for _ in range(3):
        status, headers, body = chat(gateway, secret)
        assert status == 200, body
        headers = {k.lower(): v for k, v in headers.items()}
        assert headers["x-ratelimit-limit-requests"] == "100"
        costs.append(float(headers["x-switchyard-cost-usd"]))

    deadline = time.time() + 10
    while True:  # the request log is written asynchronously
        report = run(gateway, "spend", "--by", "key", "--format", "json")
        assert report.returncode == 0, report.stderr
        rows = {row["key"]: row for row in json.loads(report.stdout)["data"]}
        if key_id in rows and rows[key_id]["requests"] == 3 or time.time() > deadline:
            break
        time.sleep(0.2)
    assert rows[key_id]["requests"] == 3
    assert abs(rows[key_id]["cost_usd"] - sum(costs)) < 1e-6

    by_tag = list(csv.DictReader(io.StringIO(run(gateway, "spend", "--by", "tag:project", "--format", "csv").stdout)))
    assert [(row["tag"], row["requests"]) for row in by_tag] == [("apollo", "3")]

    member = run(gateway, "keys", "list", key=secret)
    assert member.returncode == 77 and "403" in member.stderr

    revoked = run(gateway, "keys", "revoke", key_id)
    assert revoked.returncode == 0, revoked.stderr
    assert chat(gateway, secret)[0] == 401

    database = (gateway["work"] / "gw.sqlite").read_bytes()
    assert secret.encode() not in database and ADMIN.encode() not in database

    verify = run(gateway, "audit", "verify", "--config", str(gateway["config"]))
    assert verify.returncode == 0, verify.stderr
    assert "verified: 3 entries" in verify.stdout  # team.create, key.create, key.revoke

    with sqlite3.connect(gateway["work"] / "gw.sqlite") as db:
        db.execute("UPDATE audit_log SET target = 'mallory' WHERE seq = 2")
    broken = run(gateway, "audit", "verify", "--config", str(gateway["config"]))
    assert broken.returncode == 65
    assert "entry 2" in broken.stderr


def test_spend_csv_quotes_user_values_and_carries_feedback(gateway):
    status, headers, _ = http("POST", gateway["url"] + "/v1/chat/completions",
                              {"model": "m", "user": 'doe, "jane"', "messages": [{"role": "user", "content": "hi"}]},
                              {"authorization": f"Bearer {ADMIN}"})
    assert status == 200
    request_id = {k.lower(): v for k, v in headers.items()}["x-switchyard-request-id"]
    status, _, body = http("POST", gateway["url"] + "/v1/switchyard/feedback",
                           {"request_id": request_id, "metric": "helpful", "value": True}, {"authorization": f"Bearer {ADMIN}"})
    assert status == 201, body
    deadline = time.time() + 10
    while True:
        rows = list(csv.DictReader(io.StringIO(run(gateway, "spend", "--by", "user", "--format", "csv").stdout)))
        mine = [row for row in rows if row["user"] == 'doe, "jane"']
        if mine and mine[0]["feedback"] or time.time() > deadline:
            break
        time.sleep(0.2)
    assert mine and mine[0]["requests"] == "1"  # the comma and quotes stayed inside one field
    assert mine[0]["feedback"] == "helpful 1.00 (n=1)"
