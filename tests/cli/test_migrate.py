"""`switchyard migrate` (issue 24): an embedded deployment moved into PostgreSQL, then served by a replica.

A gateway on SQLite (upstream `switchyard mock`) gets a team, a key, chat requests, feedback, a collection
with two documents and a workflow run; it stops; `switchyard migrate --from sqlite:… --to postgres://…`
copies its file into a fresh database; a gateway started on that database must answer as the first did:
the key authenticates, the request log lists the same ids, the spend report is the same, the collection
search finds the document, the audit log verifies with the same entries. Then the command's safety: a
second run without --force refuses and writes nothing, with --force it adds only what is missing.

Also the read-only commands on PostgreSQL: `switchyard logs` and `explain` with a configuration whose
storage is PostgreSQL read that database.

Needs the test PostgreSQL (SWITCHYARD_TEST_POSTGRES, see tests/postgres/start.sh).
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from test_first_hour import BIN, free_port
from test_scaleout import ADMIN, SERVER, Replica, fresh_database

pytestmark = pytest.mark.skipif(not SERVER, reason="needs SWITCHYARD_TEST_POSTGRES (tests/postgres/start.sh starts one)")

COMMON = f"""
server: {{host: 127.0.0.1, port: 0}}
auth:
  keys:
    - {{key: {ADMIN}, name: admin, role: admin}}
models:
  - {{name: m, provider: mock, upstream: gpt-4o-mini, price: {{input: 1000, output: 1000}}}}
workflows:
  - name: echo-one
    steps:
      - {{id: first, llm: {{model: m, prompt: "[[echo]] one: {{{{input}}}}"}}}}
"""


def write_config(path: Path, storage: str, mock_url: str) -> Path:
    path.write_text(f"storage: {storage}\nproviders:\n"
                    f"  - {{name: mock, kind: openai, base_url: \"{mock_url}/v1\", api_key: dummy, timeout_ms: 60000}}\n" + COMMON)
    return path


def migrate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([BIN, "migrate", *args], capture_output=True, text=True, timeout=300)


def count(database: str, table: str) -> int:
    out = subprocess.run(["psql", database, "-tAc", f"SELECT count(*) FROM {table}"], check=True, capture_output=True, text=True)
    return int(out.stdout.strip())


TABLES = ["request_log", "feedback", "governance_key", "governance_team", "audit_log", "retrieval_collection", "retrieval_document",
          "retrieval_chunk", "workflow_runs", "workflow_steps"]


def counts(database: str) -> dict[str, int]:
    return {table: count(database, table) for table in TABLES}


def request_id(headers: dict) -> str:
    return {k.lower(): v for k, v in headers.items()}["x-switchyard-request-id"]


def snapshot(gateway: Replica, secret: str) -> dict:
    """What the deployment's API says about its data."""
    status, _, body = gateway.call("GET", "/v1/switchyard/requests?limit=1000")
    assert status == 200, body
    ids = sorted(row["id"] for row in json.loads(body)["data"])
    status, _, body = gateway.call("GET", "/v1/switchyard/spend?group_by=key")
    assert status == 200, body
    spend = {row.get("key"): (round(row["cost_usd"], 9), row["requests"]) for row in json.loads(body)["data"]}
    status, _, body = gateway.call("GET", "/v1/switchyard/audit?limit=1000")
    assert status == 200, body
    audit = json.loads(body)
    return {"ids": ids, "spend": spend, "audit": audit}


@pytest.fixture
def mock_url():
    port = free_port()
    mock = subprocess.Popen([BIN, "mock", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    yield f"http://127.0.0.1:{port}"
    mock.kill()


def test_migrate_moves_an_embedded_deployment_to_postgres(tmp_path, mock_url):
    sqlite_path = tmp_path / "gateway.db"
    sqlite_config = write_config(tmp_path / "sqlite.yaml", f'{{sqlite: "{sqlite_path}", flush_ms: 200}}', mock_url)

    embedded = Replica(sqlite_config, tmp_path, 0, free_port()).start()
    try:
        status, _, body = embedded.call("POST", "/v1/switchyard/teams", {"name": "research", "budget": {"usd": 50, "period": "month"}})
        assert status == 201, body
        status, _, body = embedded.call("POST", "/v1/switchyard/keys", {"name": "alice", "team": "research"})
        assert status == 201, body
        key_id, secret = json.loads(body)["id"], json.loads(body)["key"]
        served = []
        for text in ["first question", "second question", "third question"]:
            status, headers, body = embedded.chat(secret, text)
            assert status == 200, body
            served.append(request_id(headers))
        status, headers, body = embedded.chat(ADMIN, "from the admin")
        assert status == 200, body
        served.append(request_id(headers))
        status, _, body = embedded.call("POST", "/v1/switchyard/feedback", {"request_id": served[0], "metric": "helpful", "value": True})
        assert status in (200, 201), body
        status, _, body = embedded.call("POST", "/v1/switchyard/collections", {"name": "notes"})
        assert status == 200, body
        documents = {"documents": [{"id": "zebra", "text": "The zebra code word is periwinkle."},
                                   {"id": "yak", "text": "The yak code word is marmalade."}]}
        status, _, body = embedded.call("POST", "/v1/switchyard/collections/notes/documents", documents)
        assert status == 200, body
        status, _, body = embedded.call("POST", "/v1/switchyard/workflows/echo-one/runs", {"input": "sky"})
        assert status == 202, body
        run_id = json.loads(body)["id"]
        deadline = time.time() + 30
        while True:
            status, _, body = embedded.call("GET", f"/v1/switchyard/workflows/echo-one/runs/{run_id}")
            assert status == 200, body
            run = json.loads(body)
            if run["status"] == "completed":
                break
            assert time.time() < deadline, run
            time.sleep(0.1)
        time.sleep(0.6)  # flush_ms: 200
        before = snapshot(embedded, secret)
    finally:
        embedded.stop()
    assert set(served) <= set(before["ids"]), (served, before["ids"])
    assert before["audit"]["verified"] and before["audit"]["entries"] >= 2, before["audit"]  # the team and the key
    assert key_id in before["spend"], before["spend"]

    # A password in the URL is never printed, even when the database cannot be reached.
    refused = migrate("--from", f"sqlite:{sqlite_path}", "--to", "postgres://someone:hunter2secret@127.0.0.1:1/nowhere?sslmode=disable")
    assert refused.returncode != 0
    assert "hunter2secret" not in refused.stdout + refused.stderr
    assert "postgres://someone@127.0.0.1:1/nowhere" in refused.stderr, refused.stderr

    database = fresh_database()
    done = migrate("--from", f"sqlite:{sqlite_path}", "--to", database)
    assert done.returncode == 0, done.stdout + done.stderr
    requests = len(before["ids"])
    assert f"copied {requests} requests, 1 feedback, 1 keys, 1 teams, {before['audit']['entries']} audit entries, " \
           f"1 collections (2 documents, " in done.stdout, done.stdout
    assert "1 workflow runs (1 steps)" in done.stdout, done.stdout
    assert re.search(r"^requests: \d+", done.stdout, re.M) and "verified: the audit chain" in done.stdout, done.stdout
    after_first = counts(database)
    assert after_first["request_log"] == requests and after_first["governance_key"] == 1, after_first
    assert after_first["retrieval_document"] == 2 and after_first["retrieval_chunk"] >= 2, after_first

    postgres_config = write_config(tmp_path / "postgres.yaml", f'{{postgres: "{database}", flush_ms: 200}}', mock_url)
    replica = Replica(postgres_config, tmp_path, 1, free_port()).start()
    try:
        after = snapshot(replica, secret)
        assert replica.call("GET", "/v1/models", key=secret)[0] == 200
        assert replica.call("GET", "/v1/models", key="sk-not-a-key")[0] == 401
        assert after["ids"] == before["ids"]
        assert after["spend"] == before["spend"]
        assert after["audit"]["verified"], after["audit"]
        assert after["audit"]["entries"] == before["audit"]["entries"]
        assert [e["hash"] for e in after["audit"]["data"]] == [e["hash"] for e in before["audit"]["data"]]
        status, _, body = replica.call("POST", "/v1/switchyard/collections/notes/search", {"query": "marmalade", "top_k": 1})
        assert status == 200, body
        assert json.loads(body)["results"][0]["document_id"] == "yak", body
        status, _, body = replica.call("GET", f"/v1/switchyard/requests/{served[0]}")
        assert status == 200, body
        assert [f["metric"] for f in json.loads(body).get("feedback", [])] == ["helpful"], body
        status, _, body = replica.call("GET", f"/v1/switchyard/workflows/echo-one/runs/{run_id}")
        assert status == 200, body
        assert json.loads(body)["status"] == "completed" and "sky" in json.dumps(json.loads(body)["output"]), body
    finally:
        replica.stop()

    # The read-only commands read the database the configuration names.
    explained = subprocess.run([BIN, "explain", run_id, "--config", str(postgres_config), "--json"], capture_output=True, text=True, timeout=60)
    assert explained.returncode == 0, explained.stderr
    assert json.loads(explained.stdout)["status"] == "completed", explained.stdout

    # Again without --force: refused, and nothing written (a row removed meanwhile stays missing).
    subprocess.run(["psql", database, "-qc", f"DELETE FROM request_log WHERE id = '{served[1]}'"], check=True, capture_output=True)
    again = migrate("--from", str(sqlite_path), "--to", database)
    assert again.returncode != 0, again.stdout
    assert "--force" in again.stderr and "nothing was copied" in again.stderr, again.stderr
    assert count(database, "request_log") == requests - 1

    # With --force: only what is missing is added; a second forced run adds nothing.
    forced = migrate("--from", str(sqlite_path), "--to", database, "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert "requests: %d (1 new" % requests in forced.stdout, forced.stdout
    settled = counts(database)
    assert settled["request_log"] == requests
    forced_again = migrate("--from", f"sqlite:{sqlite_path}", "--to", database, "--force")
    assert forced_again.returncode == 0, forced_again.stdout + forced_again.stderr
    assert "nothing new" in forced_again.stdout, forced_again.stdout
    assert counts(database) == settled


def test_migrate_refuses_a_missing_source(tmp_path):
    missing = tmp_path / "nothing-here.db"
    result = migrate("--from", f"sqlite:{missing}", "--to", fresh_database())
    assert result.returncode == 66, result.stdout + result.stderr
    assert "No SQLite database" in result.stderr
    assert not missing.exists()


def test_logs_reads_the_postgres_database_a_configuration_names(tmp_path, mock_url):
    database = fresh_database()
    config = write_config(tmp_path / "switchyard.yaml", f'{{postgres: "{database}", flush_ms: 200}}', mock_url)
    replica = Replica(config, tmp_path, 0, free_port()).start()
    served = []
    try:
        for text in ["one", "two"]:
            status, headers, body = replica.chat(ADMIN, text)
            assert status == 200, body
            served.append(request_id(headers))
        time.sleep(0.6)  # flush_ms: 200
    finally:
        replica.stop()
    # From another folder, so nothing but --config can lead it to the database.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run([BIN, "logs", "--config", str(config), "--json"], capture_output=True, text=True, timeout=60, cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    ids = {json.loads(line)["id"] for line in result.stdout.splitlines() if line.strip()}
    assert set(served) <= ids, (served, result.stdout)
    table = subprocess.run([BIN, "logs", "--config", str(config)], capture_output=True, text=True, timeout=60, cwd=elsewhere)
    assert table.returncode == 0 and served[0] in table.stdout, table.stdout + table.stderr
    explained = subprocess.run([BIN, "explain", served[1], "--config", str(config)], capture_output=True, text=True, timeout=60, cwd=elsewhere)
    assert explained.returncode == 0 and served[1] in explained.stdout, explained.stdout + explained.stderr
