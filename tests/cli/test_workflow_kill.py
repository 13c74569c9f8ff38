"""Durable workflow runs (issue 22): a three-step run whose middle step calls a slow upstream; the
gateway is killed with SIGKILL while that step runs and started again. The run must finish with the
right output by itself, and the first step's upstream call must have been made exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from test_first_hour import BIN, free_port, http

EXPECTED = "Format for the customer: Improve this answer: Answer briefly: why is the sky blue?"


def start_gateway(config: Path, work: Path, url: str, log: str) -> subprocess.Popen:
    env = {**os.environ, "SWITCHYARD_STATE_DIR": str(work / "state")}
    proc = subprocess.Popen([BIN, "serve", "--config", str(config)], cwd=work, env=env,
                            stdout=open(work / log, "wb"), stderr=subprocess.STDOUT)
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if http("GET", url + "/health", timeout=2)[0] == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError((work / log).read_text()[-3000:])


def upstream_prompts(mock_url: str) -> list[str]:
    status, _, body = http("GET", mock_url + "/_mock/requests")
    assert status == 200, body
    prompts = []
    for request in json.loads(body):
        body = request.get("body")
        messages = body.get("messages", []) if isinstance(body, dict) else []
        prompts.append(messages[-1]["content"] if messages else "")
    return prompts


def test_run_survives_kill_9_mid_step(tmp_path):
    mock_port, port = free_port(), free_port()
    mock_url, url = f"http://127.0.0.1:{mock_port}", f"http://127.0.0.1:{port}"
    config = tmp_path / "switchyard.yaml"
    config.write_text(f"""
server: {{host: 127.0.0.1, port: {port}}}
storage: {{sqlite: {tmp_path}/gw.sqlite}}
providers:
  - {{name: mock, kind: openai, base_url: "{mock_url}/v1", api_key: dummy, timeout_ms: 60000}}
models:
  - {{name: cheap-model, provider: mock, upstream: gpt-4o-mini, price: {{input: 0.15, output: 0.6}}}}
  - {{name: strong-model, provider: mock, upstream: gpt-4o, price: {{input: 2.5, output: 10}}}}
workflows:
  - name: draft-and-check
    steps:
      - {{id: draft, llm: {{model: cheap-model, prompt: "[[echo]] Answer briefly: {{{{input}}}}"}}}}
      - {{id: review, llm: {{model: strong-model, prompt: "[[delay: 4000]] [[echo]] Improve this answer: {{{{steps.draft.output}}}}"}}}}
      - {{id: final, llm: {{model: cheap-model, prompt: "[[echo]] Format for the customer: {{{{steps.review.output}}}}"}}}}
""")
    mock = subprocess.Popen([BIN, "mock", "--port", str(mock_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    gateway = None
    try:
        gateway = start_gateway(config, tmp_path, url, "serve-1.log")
        status, _, body = http("POST", url + "/v1/switchyard/workflows/draft-and-check/runs", {"input": "why is the sky blue?"})
        assert status == 202, body
        run_id = json.loads(body)["id"]

        # Wait until the slow middle step's upstream call has arrived, then kill the gateway in it.
        deadline = time.time() + 30
        while time.time() < deadline and not any("Improve this answer" in p for p in upstream_prompts(mock_url)):
            time.sleep(0.05)
        assert any("Improve this answer" in p for p in upstream_prompts(mock_url)), upstream_prompts(mock_url)
        gateway.send_signal(signal.SIGKILL)
        gateway.wait(timeout=30)

        gateway = start_gateway(config, tmp_path, url, "serve-2.log")
        deadline = time.time() + 60
        run = {}
        while time.time() < deadline:
            status, _, body = http("GET", f"{url}/v1/switchyard/workflows/draft-and-check/runs/{run_id}")
            assert status == 200, body
            run = json.loads(body)
            if run["status"] != "running":
                break
            time.sleep(0.2)
        assert run["status"] == "completed", run
        assert run["output"] == EXPECTED
        assert [step["id"] for step in run["steps"]] == ["draft", "review", "final"]
        assert all(step["status"] == "completed" and step["cost_usd"] > 0 for step in run["steps"]), run["steps"]

        prompts = upstream_prompts(mock_url)
        assert sum("Answer briefly" in p and "Improve" not in p for p in prompts) == 1, prompts  # the first step: once
        assert sum("Improve this answer" in p and "Format" not in p for p in prompts) == 2, prompts  # interrupted, then again
        assert sum("Format for the customer" in p for p in prompts) == 1, prompts
    finally:
        if gateway is not None and gateway.poll() is None:
            gateway.terminate()
            gateway.wait(timeout=30)
        mock.terminate()
        mock.wait(timeout=30)
