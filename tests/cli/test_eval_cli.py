"""`switchyard eval run` (issue 21) as a user runs it: a promptfoo-format suite against two models behind
the mock upstream, every assertion type's verdict checked per model in promptfoo's results.json, the
exit status as a CI gate (100 / 0), the answer cache (a second run calls no provider), `--url` against a
running gateway, and errors that name the file and field."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from test_first_hour import BIN, free_port, http

JUDGE_PASS = '[[reply: {"reason": "meets the rubric", "pass": true, "score": 0.9}]]'
JUDGE_FAIL = '[[reply: {"reason": "misses the rubric", "pass": false, "score": 0.2}]]'
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]


def both(small: str, big: str) -> str:
    """A prompt the mock answers with `small` as small-1 and `big` as big-1."""
    return f"[[reply-for small-1: {small}]] [[reply-for big-1: {big}]]"


# (description, question, assertion, small passes, big passes)
CASES = [
    ("equals", both("exact", "not exact"), {"type": "equals", "value": "exact"}, True, False),
    ("contains", both("the cat sat", "a dog ran"), {"type": "contains", "value": "cat"}, True, False),
    ("icontains", both("The CAT sat", "a dog ran"), {"type": "icontains", "value": "cat"}, True, False),
    ("contains-any", both("a bird sang", "a dog ran"), {"type": "contains-any", "value": ["cat", "bird"]}, True, False),
    ("contains-all", both("the cat sat", "the dog ran"), {"type": "contains-all", "value": ["the", "sat"]}, True, False),
    ("starts-with", both("the cat sat", "a dog ran"), {"type": "starts-with", "value": "the"}, True, False),
    ("regex", both("the cat sat", "the dog ran"), {"type": "regex", "value": "^the \\w+ sat$"}, True, False),
    ("is-json", both('{"a": 1}', "not json"), {"type": "is-json"}, True, False),
    ("is-json-schema", both('{"a": 1}', '{"b": 1}'),
     {"type": "is-json", "value": {"type": "object", "required": ["a"]}}, True, False),
    ("contains-json", both('Here: {"a": 1} done', "no json here"), {"type": "contains-json"}, True, False),
    ("is-valid-openai-tools-call", '[[tool: get_weather {"city": "Paris"}]]', {"type": "is-valid-openai-tools-call"}, True, False),
    ("not-contains", both("the cat sat", "a dog ran"), {"type": "not-contains", "value": "dog"}, True, False),
    ("similar", both("The cat sat on the mat.", "Quarterly revenue grew by four percent."),
     {"type": "similar", "value": "A cat was sitting on a mat.", "threshold": 0.7}, True, False),
    ("llm-rubric", both(JUDGE_PASS, JUDGE_FAIL), {"type": "llm-rubric", "value": "Answers politely"}, True, False),
    ("model-graded-closedqa", both("[[reply: The submission names Paris.\nY]]", "[[reply: It names Lyon.\nN]]"),
     {"type": "model-graded-closedqa", "value": "names the capital of France"}, True, False),
    ("cost", "hello", {"type": "cost", "threshold": 0.0005}, True, False),
    ("latency", "hello", {"type": "latency", "threshold": 60000}, True, True),
    ("not-latency", "hello", {"type": "not-latency", "threshold": 60000}, False, False),
    ("weighted", both("the cat sat", "a dog ran"), None, True, False),
]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    work = tmp_path_factory.mktemp("evalcli")
    mock_port, port = free_port(), free_port()
    config = work / "switchyard.yaml"
    config.write_text(f"""
server: {{host: 127.0.0.1, port: {port}}}
storage: {{sqlite: {work}/gw.sqlite}}
providers:
  - {{name: mock, kind: openai, base_url: "http://127.0.0.1:{mock_port}/v1", api_key: dummy}}
models:
  - {{name: small, provider: mock, upstream: small-1, price: {{input: 0.01, output: 0.01}}}}
  - {{name: big, provider: mock, upstream: big-1, price: {{input: 100, output: 400}}}}
  - {{name: judge, provider: mock, upstream: judge-1, price: {{input: 0.1, output: 0.1}}}}
experiments:
  - name: ab
    variants:
      - {{name: control, target: small, weight: 1}}
      - {{name: treat, target: big, weight: 1}}
workflows:
  - name: draft-and-review
    steps:
      - {{id: draft, llm: {{model: small, prompt: "{{{{input}}}}"}}}}
      - {{id: review, llm: {{model: big, prompt: "[[reply: reviewed]] {{{{steps.draft.output}}}}"}}}}
""")
    mock = subprocess.Popen([BIN, "mock", "--port", str(mock_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    mock_url = f"http://127.0.0.1:{mock_port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            http("GET", mock_url + "/_mock/requests", timeout=2)
            break
        except OSError:
            time.sleep(0.1)
    env = {**os.environ, "SWITCHYARD_STATE_DIR": str(work / "state"), "SWITCHYARD_EVAL_CACHE": str(work / "cache")}
    env.pop("SWITCHYARD_URL", None)
    env.pop("SWITCHYARD_KEY", None)
    yield {"work": work, "config": config, "mock": mock_url, "port": port, "env": env}
    mock.terminate()
    mock.wait(timeout=30)


def mock_calls(setup) -> int:
    body = json.loads(http("GET", setup["mock"] + "/_mock/requests")[2])
    return len(body if isinstance(body, list) else body.get("requests", body.get("data", [])))


def write_suite(path: Path, cases) -> None:
    tests = []
    for description, question, assertion, _, _ in cases:
        if assertion is None:  # two assertions, one failing for each model: the test's threshold decides
            tests.append({"description": description, "vars": {"q": question}, "threshold": 0.5, "assert": [
                {"type": "contains", "value": "cat", "weight": 3, "metric": "animal"},
                {"type": "contains", "value": "dog", "weight": 1, "metric": "animal"}]})
        else:
            tests.append({"description": description, "vars": {"q": question}, "assert": [assertion]})
    suite = {
        "description": "every assertion type, two models",
        "prompts": ["{{q}}"],
        "providers": [{"id": "openai:chat:small", "config": {"tools": TOOLS, "temperature": 0}}, "big"],
        "defaultTest": {"options": {"provider": "openai:chat:judge"}},
        "tests": tests,
        "evaluateOptions": {"maxConcurrency": 4},
    }
    path.write_text(json.dumps(suite, indent=1))


def eval_run(setup, *args) -> subprocess.CompletedProcess:
    return subprocess.run([BIN, "eval", "run", *args, "--no-progress"], cwd=setup["work"], env=setup["env"],
                          capture_output=True, text=True, timeout=600)


def test_every_assertion_type_gets_the_right_verdict_per_model(setup):
    suite = setup["work"] / "suite.json"
    write_suite(suite, CASES)
    out = setup["work"] / "results.json"
    before = mock_calls(setup)
    result = eval_run(setup, str(suite), "--config", str(setup["config"]), "--output", str(out),
                      "--output", str(setup["work"] / "results.csv"), "--output", str(setup["work"] / "report.html"))
    assert result.returncode == 100, result.stdout + result.stderr  # some tests fail: promptfoo's CI status
    first_calls = mock_calls(setup) - before
    assert first_calls > len(CASES)  # identical prompts (the three "hello" tests) are asked once
    data = json.loads(out.read_text())
    rows = data["results"]["results"]
    assert len(rows) == 2 * len(CASES)
    verdicts = {(r["testCase"].get("description") or r.get("description"), r["provider"]["id"]): r for r in rows}
    for description, _, _, small, big in CASES:
        for provider, expected in (("openai:chat:small", small), ("big", big)):
            row = verdicts[(description, provider)]
            assert row["success"] is expected, (description, provider, row["gradingResult"], row["response"])
            assert row["failureReason"] in (0, 1)  # a verdict, not an error
    stats = data["results"]["stats"]
    assert stats["successes"] == sum(c[3] for c in CASES) + sum(c[4] for c in CASES)
    assert stats["failures"] == 2 * len(CASES) - stats["successes"] and stats["errors"] == 0
    for row in rows:  # promptfoo's per-cell fields
        assert set(row) >= {"success", "score", "provider", "vars", "response", "gradingResult", "cost", "latencyMs"}
        # Text, or (promptfoo's way) the tool calls when the answer is only tool calls.
        assert isinstance(row["response"]["output"], (str, list)) and isinstance(row["latencyMs"], (int, float))
    weighted = verdicts[("weighted", "openai:chat:small")]
    assert abs(weighted["score"] - 0.75) < 1e-9 and weighted["namedScores"]["animal"] == pytest.approx(0.75)
    assert abs(verdicts[("weighted", "big")]["score"] - 0.25) < 1e-9
    # The summary shows both providers side by side.
    assert "small" in result.stdout and "big" in result.stdout
    assert (setup["work"] / "results.csv").read_text().count("\n") >= len(CASES)

    # The same suite again: every answer (and every judge verdict) from the cache, no provider call.
    again = setup["work"] / "again.json"
    before = mock_calls(setup)
    result = eval_run(setup, str(suite), "--config", str(setup["config"]), "--output", str(again))
    assert result.returncode == 100
    assert mock_calls(setup) == before
    rows2 = json.loads(again.read_text())["results"]["results"]
    assert [(r["success"], r["response"]["output"]) for r in rows2] == [(r["success"], r["response"]["output"]) for r in rows]
    assert all(r["response"]["cached"] for r in rows2)


def test_a_passing_suite_exits_zero(setup):
    suite = setup["work"] / "passing.json"
    write_suite(suite, [c for c in CASES if c[3] and c[1] != "hello" and c[2] and c[2]["type"] not in ("similar",)][:5])
    data = json.loads(suite.read_text())
    data["providers"] = [data["providers"][0]]
    suite.write_text(json.dumps(data))
    result = eval_run(setup, str(suite), "--config", str(setup["config"]))
    assert result.returncode == 0, result.stdout + result.stderr


def test_against_a_running_gateway_with_url(setup):
    env = dict(setup["env"])
    serve = subprocess.Popen([BIN, "serve", "--config", str(setup["config"])], cwd=setup["work"], env=env,
                             stdout=open(setup["work"] / "serve.log", "wb"), stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{setup['port']}"
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                if http("GET", url + "/health", timeout=2)[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        suite = setup["work"] / "url.yaml"
        suite.write_text("""
prompts: ["{{q}} [[reply-for small-1: small says yes]] [[reply-for big-1: big says no]]"]
providers: [small, big]
tests:
  - vars: {q: "via http"}
    assert: [{type: contains, value: "yes"}]
""")
        out = setup["work"] / "url.json"
        result = eval_run(setup, str(suite), "--url", url, "--output", str(out), "--no-cache")
        assert result.returncode == 100, result.stdout + result.stderr
        rows = json.loads(out.read_text())["results"]["results"]
        assert [r["success"] for r in rows] == [True, False]
        assert rows[0]["response"]["metadata"]["switchyard_request_id"].startswith("req_") or rows[0]["response"]["metadata"]["switchyard_request_id"]
        assert all(r["cost"] > 0 for r in rows)  # from x-switchyard-cost-usd

        # A workflow as a provider over HTTP: the suite check knows it (it is not in /v1/models).
        out = setup["work"] / "url-workflow.json"
        result = eval_run(setup, str(write_workflow_suite(setup)), "--url", url, "--output", str(out), "--no-cache")
        assert result.returncode == 0, result.stdout + result.stderr
        check_workflow_cells(out)
    finally:
        serve.terminate()
        serve.wait(timeout=30)


def write_workflow_suite(setup) -> Path:
    suite = setup["work"] / "workflow.yaml"
    suite.write_text("""
prompts: ["{{q}}"]
providers: [workflow/draft-and-review]
tests:
  - vars: {q: "a draft"}
    assert: [{type: equals, value: reviewed}]
""")
    return suite


def check_workflow_cells(out: Path) -> None:
    rows = json.loads(out.read_text())["results"]["results"]
    assert [r["success"] for r in rows] == [True], rows
    assert rows[0]["response"]["output"] == "reviewed"
    # Both steps' cost: the big model's alone is at least 400 USD/M × 1 output token.
    assert rows[0]["cost"] > 0.0004, rows[0]


def test_a_workflow_as_provider_in_process(setup):
    """workflow/NAME in a suite runs the workflow (before, the in-process check refused it as 'not served')."""
    out = setup["work"] / "workflow.json"
    result = eval_run(setup, str(write_workflow_suite(setup)), "--config", str(setup["config"]), "--output", str(out), "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr
    check_workflow_cells(out)


@pytest.mark.parametrize("suite_text, expected", [
    ("prompts: [x]\nproviders: [openai:chat:nope]\n", "providers[0]: 'openai:chat:nope' (read as the Switchyard model 'nope') is not served"),
    ("prompts: [x]\nproviders: [small]\ntests: [{assert: [{type: contains}]}]\n", "tests[0].assert[0]"),
    ("prompts: [x]\nproviders: [small]\ntests: [{assert: [{type: frobnicate, value: 1}]}]\n", "frobnicate"),
    ("prompts: [x]\nproviders: [small]\ntests: [{assert: [{type: similar, value: a, threshold: 1e309}]}]\n", "threshold"),
    ("prompts: [x]\nproviders: [small]\nevaluateOptions: {maxConcurrency: -1}\n", "evaluateOptions.maxConcurrency"),
])
def test_bad_suites_fail_with_the_field_named(setup, suite_text, expected):
    suite = setup["work"] / "bad.yaml"
    suite.write_text(suite_text)
    result = eval_run(setup, str(suite), "--config", str(setup["config"]))
    assert result.returncode == 65, result.stdout + result.stderr
    assert expected in result.stderr and "Traceback" not in result.stderr


def test_bad_output_name_is_a_usage_error(setup):
    result = eval_run(setup, "suite.json", "--config", str(setup["config"]), "--output", "results.xlsx")
    assert result.returncode == 64 and ".xlsx" in result.stderr


def test_calibrate_judge_reports_cohens_kappa(setup):
    # The judge (the mock) answers whatever verdict the output carries; humans agree on 5 of 6:
    # κ = (5/6 − 1/2) / (1 − 1/2) = 2/3.
    verdicts = [(JUDGE_PASS, True), (JUDGE_PASS, True), (JUDGE_PASS, True), (JUDGE_FAIL, True), (JUDGE_FAIL, False), (JUDGE_FAIL, False)]
    labels = setup["work"] / "labels.jsonl"
    labels.write_text("".join(json.dumps({"id": i, "output": f"answer {i} {o}", "rubric": "is polite", "label": h}) + "\n"
                              for i, (o, h) in enumerate(verdicts)))
    out = setup["work"] / "calibration.json"
    result = subprocess.run([BIN, "eval", "calibrate-judge", str(labels), "--judge", "openai:chat:judge", "--config", str(setup["config"]),
                             "--output", str(out)], cwd=setup["work"], env=setup["env"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0.667" in result.stdout
    report = json.loads(out.read_text())
    assert abs(report["kappa"] - 2 / 3) < 1e-9 and report["graded"] == 6
    assert report["confusion"]["judge_fail_human_pass"] == 1
    bad = setup["work"] / "bad-labels.jsonl"
    bad.write_text('{"output": "x", "rubric": "y", "label": "maybe"}\n')
    result = subprocess.run([BIN, "eval", "calibrate-judge", str(bad), "--judge", "judge", "--config", str(setup["config"])],
                            cwd=setup["work"], env=setup["env"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 65 and "line 1" in result.stderr and "label" in result.stderr


def test_the_readme_shows_the_example_suite_as_it_is_in_the_repository():
    from test_first_hour import REPO
    assert (REPO / "examples" / "evals" / "demo-suite.yaml").read_text() in (REPO / "README.md").read_text()


def test_an_experiment_as_provider_records_each_cells_variant(setup):
    suite = setup["work"] / "experiment.yaml"
    suite.write_text("prompts: [\"Q{{n}} [[reply-for small-1: yes]] [[reply-for big-1: no]]\"]\nproviders: [ab]\n"
                     "tests: [" + ", ".join("{vars: {n: %d}, assert: [{type: contains, value: 'yes'}]}" % i for i in range(24)) + "]\n")
    out = setup["work"] / "experiment.json"
    result = eval_run(setup, str(suite), "--config", str(setup["config"]), "--output", str(out))
    assert result.returncode == 100, result.stdout + result.stderr
    rows = json.loads(out.read_text())["results"]["results"]
    variants = {r["response"]["metadata"]["switchyard_variant"] for r in rows}
    assert variants == {"ab/control", "ab/treat"}  # each request is its own unit: 24 cells see both (p of not ≈ 1e-7)
    for row in rows:  # the variant's target answered, and the verdict follows it
        control = row["response"]["metadata"]["switchyard_variant"] == "ab/control"
        assert row["response"]["metadata"]["served_model"] == ("small" if control else "big")
        assert row["success"] is control
