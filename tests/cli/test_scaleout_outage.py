"""A replica that loses its PostgreSQL keeps serving what it safely can (issue 24): keys it knows still
authenticate, requests without a budget are answered and their log lines kept; a hard budget fails closed
(503 storage_unavailable, nothing sent upstream); /ready says 503 and /metrics switchyard_storage_up 0 while
/health stays 200. When the database is back, /ready is 200 again and the kept log lines are stored.

Runs its own throwaway PostgreSQL (tests/postgres/start.sh), since it stops and restarts it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from test_first_hour import BIN, free_port, http

REPO = Path(__file__).resolve().parents[2]
ADMIN = "sk-admin-outage"
pytestmark = pytest.mark.skipif(not os.environ.get("SWITCHYARD_TEST_POSTGRES"), reason="needs the PostgreSQL packages scripts/test.sh installs")


def own_postgres() -> dict:
    out = subprocess.run(["bash", str(REPO / "tests/postgres/start.sh")], check=True, capture_output=True, text=True).stdout
    return dict(re.findall(r"export (\w+)='([^']*)'", out))


def pg_ctl(env: dict, *args: str):
    directory, binary = env["SWITCHYARD_TEST_POSTGRES_DIR"], env["SWITCHYARD_TEST_POSTGRES_BIN"]
    prefix = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
    subprocess.run(prefix + [f"{binary}/pg_ctl", "-D", f"{directory}/data", *args], check=True, capture_output=True)


def test_a_replica_without_its_database_serves_what_it_safely_can(tmp_path):
    pg = own_postgres()
    url = pg["SWITCHYARD_TEST_POSTGRES"]
    port_match = re.search(r":(\d+)/", url)
    assert port_match
    pg_port = port_match.group(1)
    mock_port, port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    mock = subprocess.Popen([BIN, "mock", "--port", str(mock_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    config = tmp_path / "switchyard.yaml"
    config.write_text(f"""
server: {{host: 127.0.0.1, port: {port}}}
storage: {{postgres: "{url}", flush_ms: 200}}
auth:
  keys:
    - {{key: {ADMIN}, name: admin, role: admin}}
    - {{key: sk-budgeted, name: budgeted, role: member, budget: {{usd: 100, period: month, mode: hard}}}}
providers:
  - {{name: mock, kind: openai, base_url: "http://127.0.0.1:{mock_port}/v1", api_key: dummy}}
models:
  - {{name: m, provider: mock, upstream: gpt-4o-mini, price: {{input: 1, output: 1}}}}
""")
    log = open(tmp_path / "serve.log", "wb")
    gateway = subprocess.Popen([BIN, "serve", "--config", str(config)], cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)

    def call(method, path, body=None, key=ADMIN):
        return http(method, base + path, body, headers={"authorization": f"Bearer {key}"}, timeout=15)

    def chat(key, text):
        return call("POST", "/v1/chat/completions", {"model": "m", "messages": [{"role": "user", "content": text}]}, key=key)

    try:
        deadline = time.time() + 90
        while True:
            assert gateway.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            try:
                if http("GET", base + "/ready", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            assert time.time() < deadline
            time.sleep(0.2)
        assert chat("sk-budgeted", "before")[0] == 200

        pg_ctl(pg, "-m", "immediate", "-w", "stop")
        # The replica notices at its next database call (heartbeats every 2 s).
        deadline = time.time() + 15
        while http("GET", base + "/ready", timeout=5)[0] != 503:
            assert time.time() < deadline, "still ready without its database"
            time.sleep(0.2)
        status, _, body = http("GET", base + "/health")
        assert status == 200 and json.loads(body)["storage"]["reachable"] is False, body
        assert "hunter" not in body
        status, _, body = call("GET", "/metrics")
        assert status == 200 and 'switchyard_storage_up{backend="postgres"} 0' in body, body[-2000:]

        # Served: a known key without a budget. Its log line is kept for later.
        status, headers, body = chat(ADMIN, "during the outage")
        assert status == 200, body
        during = {k.lower(): v for k, v in headers.items()}["x-switchyard-request-id"]
        # Fails closed: a hard budget cannot be checked, so nothing is spent blind.
        status, headers, body = chat("sk-budgeted", "during the outage")
        assert status == 503, body
        assert json.loads(body)["error"]["code"] == "storage_unavailable", body
        assert "retry-after" in {k.lower() for k in headers}

        # The database comes back on the same port: ready again, and the kept line is stored.
        directory = pg["SWITCHYARD_TEST_POSTGRES_DIR"]
        pg_ctl(pg, "-l", f"{directory}/server.log", "-w", "-t", "60", "-o",
               f"-c listen_addresses=127.0.0.1 -p {pg_port} -k {directory} -c fsync=off", "start")
        deadline = time.time() + 30
        while http("GET", base + "/ready", timeout=5)[0] != 200:
            assert time.time() < deadline, "not ready after the database came back"
            time.sleep(0.2)
        deadline = time.time() + 30
        while True:
            status, _, body = call("GET", f"/v1/switchyard/requests/{during}")
            if status == 200:
                break
            assert time.time() < deadline, f"the request answered during the outage is not in the log: {status} {body}"
            time.sleep(0.5)
        assert chat("sk-budgeted", "after")[0] == 200
        text = (tmp_path / "serve.log").read_text(errors="replace")
        assert "PostgreSQL unreachable" in text
        assert "hunter" not in text
    finally:
        gateway.send_signal(signal.SIGTERM)
        try:
            gateway.wait(timeout=20)
        except subprocess.TimeoutExpired:
            gateway.kill()
        mock.kill()
        subprocess.run(["bash", str(REPO / "tests/postgres/stop.sh")], env={**os.environ, **pg})
