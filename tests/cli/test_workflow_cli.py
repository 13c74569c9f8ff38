"""`switchyard workflow list|run|show|resume`, `switchyard explain wfr_…` and `switchyard bench workflow`
against a live gateway with the mock upstream: what a person reads, and the exit statuses scripts rely on
(0 done, 1 a failed run, 64 usage, 65 refused, 66 not found, 69 no gateway)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from test_first_hour import BIN, free_port, http

QUESTION = "why is the sky blue?"
ANSWER = f"Format for the customer: Improve this answer: Answer briefly: {QUESTION}"


class Stack:
    def __init__(self, work: Path):
        self.work = work
        self.mock_port, self.port = free_port(), free_port()
        self.mock_url, self.url = f"http://127.0.0.1:{self.mock_port}", f"http://127.0.0.1:{self.port}"
        self.db = work / "gw.sqlite"
        self.config = work / "switchyard.yaml"
        self.config.write_text(f"""
server: {{host: 127.0.0.1, port: {self.port}}}
storage: {{sqlite: {self.db}}}
providers:
  - {{name: mock, kind: openai, base_url: "{self.mock_url}/v1", api_key: dummy}}
models:
  - {{name: cheap-model, provider: mock, upstream: gpt-4o-mini, price: {{input: 0.15, output: 0.6}}}}
  - {{name: strong-model, provider: mock, upstream: gpt-4o, price: {{input: 2.5, output: 10}}}}
  - {{name: flaky-model, provider: mock, upstream: gpt-4-turbo, price: {{input: 10, output: 30}}}}
routing: {{circuit_breaker: {{failures: 100000, min_calls: 100000}}}}
workflows:
  - name: draft-and-check
    description: Draft with a cheap model, review with a strong one, format with the cheap one.
    steps:
      - {{id: draft, llm: {{model: cheap-model, prompt: "[[echo]] Answer briefly: {{{{input}}}}"}}}}
      - {{id: review, llm: {{model: strong-model, prompt: "[[echo]] Improve this answer: {{{{steps.draft.output}}}}"}}}}
      - {{id: final, llm: {{model: cheap-model, prompt: "[[echo]] Format for the customer: {{{{steps.review.output}}}}"}}}}
  - name: flaky
    steps:
      - {{id: first, llm: {{model: cheap-model, prompt: "[[echo]] first: {{{{input}}}}"}}}}
      - {{id: second, llm: {{model: flaky-model, prompt: "[[echo]] second: {{{{steps.first.output}}}}"}}}}
  - name: approve
    steps:
      - {{id: draft, llm: {{model: cheap-model, prompt: "[[echo]] Draft: {{{{input}}}}"}}}}
      - {{id: sign-off, human: {{prompt: "Approve this draft? {{{{steps.draft.output}}}}"}}}}
      - {{id: final, llm: {{model: cheap-model, prompt: "[[echo]] Final ({{{{steps.sign-off.output}}}}): {{{{steps.draft.output}}}}"}}}}
""")
        self.env = {**os.environ, "SWITCHYARD_STATE_DIR": str(work / "state"), "SWITCHYARD_URL": self.url}
        self.env.pop("SWITCHYARD_KEY", None)
        self.mock = subprocess.Popen([BIN, "mock", "--port", str(self.mock_port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.gateway = subprocess.Popen([BIN, "serve", "--config", str(self.config)], cwd=work, env=self.env,
                                        stdout=open(work / "serve.log", "wb"), stderr=subprocess.STDOUT)
        deadline = time.time() + 90
        while time.time() < deadline:
            assert self.gateway.poll() is None, (work / "serve.log").read_text()[-3000:]
            try:
                if http("GET", self.url + "/health", timeout=2)[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise AssertionError((work / "serve.log").read_text()[-3000:])

    def cli(self, *args: str, env: dict | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([BIN, *args], cwd=self.work / "elsewhere", env=env or self.env, capture_output=True,
                              text=True, timeout=120, input=stdin)

    def api_run(self, name: str, run_id: str) -> dict:
        status, _, body = http("GET", f"{self.url}/v1/switchyard/workflows/{name}/runs/{run_id}")
        assert status == 200, body
        return json.loads(body)

    def fault(self, upstream: str, fault: str, count: int):
        status, _, body = http("POST", self.mock_url + "/_mock/faults", {"model": upstream, "fault": fault, "count": count})
        assert status < 300, body

    def clear_faults(self):
        assert http("DELETE", self.mock_url + "/_mock/faults")[0] < 300

    def stop(self):
        for proc in (self.gateway, self.mock):
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    work = tmp_path_factory.mktemp("workflow-cli")
    (work / "elsewhere").mkdir()
    s = Stack(work)
    yield s
    s.stop()


def started_id(stdout: str) -> str:
    words = [w for w in stdout.split() if w.startswith("wfr_")]
    assert words, stdout
    return words[0]


def test_list_shows_each_workflow_with_its_steps(stack):
    result = stack.cli("workflow", "list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    draft = next(line for line in lines if line.startswith("draft-and-check"))
    assert "draft → review → final" in draft and "Draft with a cheap model" in draft
    assert any(line.startswith("flaky") and "first → second" in line for line in lines), lines
    assert any(line.startswith("approve") and "draft → sign-off → final" in line for line in lines), lines
    listed = json.loads(stack.cli("workflow", "list", "--json").stdout)
    assert [w["name"] for w in listed["data"]] == ["draft-and-check", "flaky", "approve"]


def test_run_wait_prints_each_step_then_the_output(stack):
    result = stack.cli("workflow", "run", "draft-and-check", "--input", QUESTION, "--wait")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    run_id = started_id(lines[0])
    assert lines[0] == f"started run {run_id} of draft-and-check"
    steps = [line for line in lines if line.startswith("step ")]
    assert [line.split()[1:3] for line in steps] == [["draft", "completed"], ["review", "completed"], ["final", "completed"]], lines
    assert steps[0].endswith(f": Answer briefly: {QUESTION}"), steps[0]
    assert ", 1 attempt, $" in steps[1] and steps[2].endswith(ANSWER), steps
    assert f"output: {ANSWER}" in lines
    run = stack.api_run("draft-and-check", run_id)
    assert run["status"] == "completed" and run["output"] == ANSWER
    assert lines[-1] == f"completed: 3 steps run, total cost ${run['cost_usd']:.8f}"
    assert run["cost_usd"] > 0


def test_run_wait_json_is_the_finished_run(stack):
    result = stack.cli("workflow", "run", "draft-and-check", "--input", QUESTION, "--wait", "--json")
    assert result.returncode == 0, result.stderr
    run = json.loads(result.stdout)  # JSON only: nothing else on stdout
    assert run["status"] == "completed" and run["output"] == ANSWER
    assert [s["id"] for s in run["steps"]] == ["draft", "review", "final"]
    assert abs(sum(s["cost_usd"] for s in run["steps"]) - run["cost_usd"]) < 1e-12


def test_run_without_wait_returns_at_once_and_show_prints_the_run(stack):
    result = stack.cli("workflow", "run", "draft-and-check", "--input", QUESTION)
    assert result.returncode == 0, result.stderr
    run_id = started_id(result.stdout)
    assert f"see it with: switchyard workflow show draft-and-check {run_id}" in result.stdout
    deadline = time.time() + 20
    while stack.api_run("draft-and-check", run_id)["status"] == "running" and time.time() < deadline:
        time.sleep(0.1)
    api = stack.api_run("draft-and-check", run_id)

    shown = stack.cli("workflow", "show", "draft-and-check", run_id)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith(f"run {run_id} of draft-and-check: completed, started ")
    assert lines[1] == f"input: {QUESTION}"
    header = lines[2].split()
    assert header == ["step", "status", "attempts", "ms", "cost_usd", "output"]
    for row, step in zip(lines[3:6], api["steps"]):
        cells = row.split(maxsplit=5)
        assert cells[:3] == [step["id"], "completed", "1"], row
        assert float(cells[3]) == pytest.approx(step["ms"], abs=0.06)
        assert cells[4] == f"{step['cost_usd']:.8f}"
        assert step["output"].startswith(cells[5].rstrip("…")), (row, step["output"])
    assert lines[5].endswith("…"), "a long output is cut short in the table"
    assert f"output: {ANSWER}" in lines
    assert any(line.startswith(f"total cost: ${api['cost_usd']:.8f}, tokens ") for line in lines), lines

    as_json = stack.cli("workflow", "show", "draft-and-check", run_id, "--json")
    assert json.loads(as_json.stdout) == api


def test_input_json_and_input_file(stack, tmp_path):
    result = stack.cli("workflow", "run", "draft-and-check", "--input-json", '{"topic": "sky", "n": 2}', "--wait", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["input"] == {"topic": "sky", "n": 2}

    question = tmp_path / "question.txt"
    question.write_text("what is a rainbow?\nbriefly")
    result = stack.cli("workflow", "run", "draft-and-check", "--input-file", str(question), "--wait", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["input"] == "what is a rainbow?\nbriefly"

    result = stack.cli("workflow", "run", "draft-and-check", "--input-file", "-", "--wait", "--json", stdin="from stdin")
    assert json.loads(result.stdout)["input"] == "from stdin"


def test_usage_errors_exit_64(stack):
    two = stack.cli("workflow", "run", "draft-and-check", "--input", "a", "--input-json", '"b"')
    assert two.returncode == 64 and "at most one of --input, --input-json and --input-file" in two.stderr, two.stderr
    bad = stack.cli("workflow", "run", "draft-and-check", "--input-json", "{not json")
    assert bad.returncode == 64 and "--input-json is not valid JSON" in bad.stderr, bad.stderr
    missing = stack.cli("workflow", "run", "draft-and-check", "--input-file", "/nonexistent/q.txt")
    assert missing.returncode == 66 and "Cannot read --input-file" in missing.stderr, missing.stderr


def test_unknown_workflow_and_run_exit_66(stack):
    result = stack.cli("workflow", "run", "no-such-flow", "--input", "x")
    assert result.returncode == 66, result.stderr
    assert result.stderr.startswith("Error: HTTP 404: No workflow 'no-such-flow'") and "draft-and-check" in result.stderr
    result = stack.cli("workflow", "show", "draft-and-check", "wfr_000000000000000000000000")
    assert result.returncode == 66 and "No run 'wfr_000000000000000000000000'" in result.stderr, result.stderr
    result = stack.cli("explain", "wfr_000000000000000000000000", "--db", str(stack.db))
    assert result.returncode == 66 and "No workflow run 'wfr_000000000000000000000000'" in result.stderr, result.stderr


def test_no_gateway_exits_69(stack):
    env = {**stack.env, "SWITCHYARD_URL": f"http://127.0.0.1:{free_port()}"}
    result = stack.cli("workflow", "list", env=env)
    assert result.returncode == 69 and "Cannot reach the gateway" in result.stderr, result.stderr


def test_failed_run_exits_1_with_the_reason(stack):
    stack.fault("gpt-4-turbo", "error: 500", 1000)
    try:
        result = stack.cli("workflow", "run", "flaky", "--input", "hello", "--wait")
    finally:
        stack.clear_faults()
    assert result.returncode == 1, result.stdout + result.stderr
    run_id = started_id(result.stdout)
    assert "step first completed" in result.stdout
    assert "step second failed" in result.stdout and "    error: step 'second' failed after 1 attempt" in result.stdout
    assert result.stderr.startswith(f"Error: Workflow run {run_id} failed: workflow 'flaky': step 'second' failed"), result.stderr


def test_explain_reads_the_run_from_the_database(stack):
    result = stack.cli("workflow", "run", "draft-and-check", "--input", QUESTION, "--wait")
    run_id = started_id(result.stdout)
    explained = stack.cli("explain", run_id, "--db", str(stack.db))
    assert explained.returncode == 0, explained.stderr
    lines = explained.stdout.splitlines()
    assert lines[0].startswith(f"run {run_id} of draft-and-check: completed")
    # Each step with the prompt it was given (its rendered messages), which `show` leaves out.
    inputs = [line for line in lines if line.startswith("    input: ")]
    assert inputs == [
        f"    input: user: [[echo]] Answer briefly: {QUESTION}",
        f"    input: user: [[echo]] Improve this answer: Answer briefly: {QUESTION}",
        f"    input: user: [[echo]] Format for the customer: Improve this answer: Answer briefly: {QUESTION}",
    ], lines
    assert f"output: {ANSWER}" in lines
    as_json = json.loads(stack.cli("explain", run_id, "--db", str(stack.db), "--json").stdout)
    api = stack.api_run("draft-and-check", run_id)
    for field in ("id", "workflow", "status", "input", "output", "cost_usd", "steps_done", "usage"):
        assert as_json[field] == api[field], field
    assert as_json["steps"] == api["steps"], "the database and the API show a run the same way"


# --- resume, human steps, and explain through the gateway ----------------------------------------------

def test_resume_a_failed_run_from_its_failed_step(stack):
    stack.fault("gpt-4-turbo", "error: 500", 1000)
    try:
        failed = stack.cli("workflow", "run", "flaky", "--input", "hello", "--wait")
    finally:
        stack.clear_faults()
    assert failed.returncode == 1
    run_id = started_id(failed.stdout)
    first_output = stack.api_run("flaky", run_id)["steps"][0]["output"]
    result = stack.cli("workflow", "resume", "flaky", run_id, "--wait")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[0] == f"resumed run {run_id} of flaky"
    assert "step second completed" in result.stdout
    assert "step first" not in result.stdout, "a step finished before the failure is not run (nor printed) again"
    run = stack.api_run("flaky", run_id)
    assert run["status"] == "completed" and run["output"] == "second: first: hello"
    assert run["steps"][0]["output"] == first_output


def test_resume_a_completed_run_is_refused(stack):
    run_id = started_id(stack.cli("workflow", "run", "draft-and-check", "--input", QUESTION, "--wait").stdout)
    result = stack.cli("workflow", "resume", "draft-and-check", run_id)
    assert result.returncode == 65, result.stderr
    assert result.stderr.startswith("Error: HTTP 409: "), result.stderr


def test_explain_through_the_running_gateway(stack):
    run_id = started_id(stack.cli("workflow", "run", "draft-and-check", "--input", QUESTION, "--wait").stdout)
    explained = stack.cli("explain", run_id)  # no --db: the gateway SWITCHYARD_URL names
    assert explained.returncode == 0, explained.stderr
    assert explained.stdout.startswith(f"run {run_id} of draft-and-check: completed")
    assert f"output: {ANSWER}" in explained.stdout.splitlines()


def test_human_step_waits_then_resume_with_input_finishes_the_run(stack):
    result = stack.cli("workflow", "run", "approve", "--input", "refund the order", "--wait")
    assert result.returncode == 0, result.stdout + result.stderr
    run_id = started_id(result.stdout)
    lines = result.stdout.splitlines()
    assert lines[1].startswith("step draft completed") and lines[1].endswith(": Draft: refund the order"), lines
    assert lines[2:] == [
        "step 'sign-off' waits for a person's input: Approve this draft? Draft: refund the order",
        f"answer it with: switchyard workflow resume approve {run_id} --input TEXT",
    ], lines

    shown = stack.cli("workflow", "show", "approve", run_id)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[0].startswith(f"run {run_id} of approve: waiting")
    assert any(line.split()[:2] == ["sign-off", "waiting"] for line in shown.stdout.splitlines()), shown.stdout
    assert "step 'sign-off' waits for a person's input: Approve this draft? Draft: refund the order" in shown.stdout
    assert "output:" not in shown.stdout, "a waiting run has no output yet"

    without = stack.cli("workflow", "resume", "approve", run_id)
    assert without.returncode == 65 and "waits for input at step 'sign-off'" in without.stderr, without.stderr

    resumed = stack.cli("workflow", "resume", "approve", run_id, "--input", "approved", "--wait")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    lines = resumed.stdout.splitlines()
    assert lines[0] == f"resumed run {run_id} of approve"
    assert [line.split()[1:3] for line in lines if line.startswith("step ")] == [["sign-off", "completed"], ["final", "completed"]], lines
    assert "output: Final (approved): Draft: refund the order" in lines
    run = stack.api_run("approve", run_id)
    assert run["status"] == "completed" and [s["status"] for s in run["steps"]] == ["completed"] * 3


def test_resume_needs_a_known_run(stack):
    result = stack.cli("workflow", "resume", "approve", "wfr_000000000000000000000000", "--input", "x")
    assert result.returncode == 66 and "No run 'wfr_000000000000000000000000'" in result.stderr, result.stderr


# --- the benchmark --------------------------------------------------------------------------------------

def test_bench_workflow_runs_with_tiny_numbers(tmp_path):
    result = subprocess.run([BIN, "bench", "workflow", "--steps", "3", "--runs", "4", "--passes", "2", "--gateway-calls", "3"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "workflow engine: 3 llm steps a run" in out
    header = next(line for line in out.splitlines() if "in-memory" in line and "SQLite" in line)
    assert header.index("in-memory") < header.index("SQLite")
    for label in ("per-step overhead p50 µs", "per-step overhead p99 µs", "runs/s", "steps/s"):
        line = next(line for line in out.splitlines() if line.startswith(label))
        assert len(line[44:].split()) >= 2, line
    assert "rows written per step" in out and "2 (1 workflow_steps insert + 1 workflow_runs update)" in out
    assert "1 create + 1 finish" in out
    # Every timed run left its rows: 1 warm-up + 2 passes × 4 runs, 3 steps each, plus the untimed row-count run.
    assert "30 / 30 = 1.00" in out
    assert "a step's overhead beyond its model call (p50 difference)" in out
    assert not list(tmp_path.iterdir()), "the benchmark leaves no files behind"
