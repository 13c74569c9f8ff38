"""`"model": "workflow/NAME"` through the official `openai` and `anthropic` SDKs (issue 22).

The generated config declares `draft-and-check` (conftest.WORKFLOW): draft with m-openai, review with
m-anthropic, format with m-openai, each prompt `[[echo]]`ed by the mock so the final answer carries all three
steps. Each call is checked against two other views of the same run: the runs API (every step, its output and
cost) and the request log (each step is a request of its own, with the tokens the upstream reported).
"""

from __future__ import annotations

import json
import time

import anthropic
import httpx
import openai
import pytest

from conftest import (
    GATEWAY_KEY, WORKFLOW_STEP_MODELS, close, expected_cost, expected_workflow_answer, nonce,
)

MODEL = "workflow/draft-and-check"
STEP_IDS = ["draft", "review", "final"]
AUTH = {"authorization": f"Bearer {GATEWAY_KEY}"}
MAX = 256


def extra(obj) -> dict:
    return getattr(obj, "model_extra", None) or {}


def question() -> str:
    return f"why is the sky blue? ({nonce()})"


def newest_log_ids(http: httpx.Client) -> set[str]:
    r = http.get("/v1/switchyard/requests", params={"limit": 200}, headers=AUTH)
    assert r.status_code == 200, r.text
    return {record["id"] for record in r.json()["data"]}


def step_log_records(http: httpx.Client, before: set[str], timeout: float = 5) -> list[dict]:
    """The request-log records of the three step calls made since `before` was read, oldest first (the log is
    written in batches, so it is polled)."""
    deadline = time.monotonic() + timeout
    while True:
        r = http.get("/v1/switchyard/requests", params={"limit": 200}, headers=AUTH)
        assert r.status_code == 200, r.text
        fresh = [rec for rec in r.json()["data"]
                 if rec["id"] not in before and not rec["model"].startswith("workflow/")]
        if len(fresh) >= 3 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    fresh.sort(key=lambda rec: (rec["created_at"], rec["id"]))
    assert [rec["model"] for rec in fresh] == [WORKFLOW_STEP_MODELS[s] for s in STEP_IDS], \
        f"expected one logged request per step; new records: {json.dumps(fresh)[:2000]}"
    return fresh


def fetch_run(http: httpx.Client, run_id: str) -> dict:
    r = http.get(f"/v1/switchyard/workflows/draft-and-check/runs/{run_id}", headers=AUTH)
    assert r.status_code == 200, r.text
    return r.json()


def check_run(http: httpx.Client, run_id: str, q: str, usage: tuple[int, int], cost: float | None,
              before: set[str]) -> dict:
    """The runs API and the request log agree with what the SDK saw: every step with its output, a cost, the
    run's cost the sum of the steps', and the answer's usage the sum of the steps' logged usage."""
    assert run_id and run_id.startswith("wfr_"), run_id
    run = fetch_run(http, run_id)
    answer = expected_workflow_answer(q)
    assert run["id"] == run_id and run["workflow"] == "draft-and-check"
    assert run["status"] == "completed", run
    assert run["input"] == q
    assert run["output"] == answer
    assert run["steps_done"] == 3
    assert [s["id"] for s in run["steps"]] == STEP_IDS
    outputs = {s["id"]: s["output"] for s in run["steps"]}
    assert outputs == {
        "draft": f"Answer briefly: {q}",
        "review": f"Improve this answer: Answer briefly: {q}",
        "final": answer,
    }, outputs
    for step in run["steps"]:
        assert step["status"] == "completed", step
        assert step["cost_usd"] > 0, step
        assert step["attempts"] == 1 and step["ms"] >= 0, step
        assert "error" not in step, step
    assert close(sum(s["cost_usd"] for s in run["steps"]), run["cost_usd"], 1e-12), run
    if cost is not None:
        assert close(run["cost_usd"], cost, 1e-12), (run["cost_usd"], cost)
    assert (run["usage"]["prompt_tokens"], run["usage"]["completion_tokens"]) == usage, (run["usage"], usage)

    logged = step_log_records(http, before)
    assert usage == (sum(rec["prompt_tokens"] for rec in logged), sum(rec["completion_tokens"] for rec in logged))
    for step, rec in zip(run["steps"], logged):
        assert close(step["cost_usd"], rec["cost_usd"], 1e-12), (step, rec)
        assert step["usage"] == {"prompt_tokens": rec["prompt_tokens"], "completion_tokens": rec["completion_tokens"]}, (step, rec)
        assert close(rec["cost_usd"], expected_cost(rec["model"], rec["prompt_tokens"], rec["completion_tokens"])), rec
    return run


# --- OpenAI SDK ------------------------------------------------------------------------------------------

def test_openai_non_streamed(oai, http):
    q, before = question(), newest_log_ids(http)
    raw = oai.chat.completions.with_raw_response.create(model=MODEL, messages=[{"role": "user", "content": q}])
    completion = raw.parse()
    run_id = raw.headers.get("x-switchyard-workflow-run")
    assert raw.headers.get("x-switchyard-model") == MODEL
    assert completion.model == MODEL
    assert completion.choices[0].message.content == expected_workflow_answer(q)
    assert completion.choices[0].finish_reason == "stop"
    sy = extra(completion).get("switchyard")
    assert sy and sy["workflow_run"] == run_id and sy["steps"] == 3, sy
    assert close(float(raw.headers.get("x-switchyard-cost-usd")), sy["cost_usd"], 1e-9)
    usage = (completion.usage.prompt_tokens, completion.usage.completion_tokens)
    assert completion.usage.total_tokens == sum(usage)
    run = check_run(http, run_id, q, usage, sy["cost_usd"], before)
    assert completion.choices[0].message.content == run["steps"][-1]["output"]


def test_openai_streamed(oai, http):
    q, before = question(), newest_log_ids(http)
    raw = oai.chat.completions.with_raw_response.create(
        model=MODEL, messages=[{"role": "user", "content": q}], stream=True, stream_options={"include_usage": True})
    run_id = raw.headers.get("x-switchyard-workflow-run")
    assert raw.headers.get("content-type", "").startswith("text/event-stream")
    chunks = list(raw.parse())  # the step comment lines come first; the SDK must skip them
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == expected_workflow_answer(q)
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    final = chunks[-1]
    assert final.choices == [] and final.usage is not None, final
    sy = extra(final).get("switchyard")
    assert sy and sy["workflow_run"] == run_id, sy
    run = check_run(http, run_id, q, (final.usage.prompt_tokens, final.usage.completion_tokens), sy["cost_usd"], before)
    assert text == run["steps"][-1]["output"]


def test_openai_stream_helper_accumulates_the_answer(oai, http):
    q, before = question(), newest_log_ids(http)
    with oai.chat.completions.stream(model=MODEL, messages=[{"role": "user", "content": q}],
                                     stream_options={"include_usage": True}) as stream:
        deltas = [e.delta for e in stream if e.type == "content.delta"]
        final = stream.get_final_completion()
    assert "".join(deltas) == final.choices[0].message.content == expected_workflow_answer(q)
    logged = step_log_records(http, before)  # the helper hides the response headers, so not the run's id
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == \
        (sum(r["prompt_tokens"] for r in logged), sum(r["completion_tokens"] for r in logged))


def test_openai_unknown_workflow_is_not_found(oai):
    for stream in (False, True):
        with pytest.raises(openai.NotFoundError) as caught:
            oai.chat.completions.create(model="workflow/no-such-flow", messages=[{"role": "user", "content": "hi"}],
                                        stream=stream)
        assert caught.value.status_code == 404
        assert "no-such-flow" in caught.value.message and "draft-and-check" in caught.value.message, caught.value.message


# --- Anthropic SDK ---------------------------------------------------------------------------------------

def test_anthropic_non_streamed(ant, http):
    q, before = question(), newest_log_ids(http)
    raw = ant.messages.with_raw_response.create(model=MODEL, max_tokens=MAX, messages=[{"role": "user", "content": q}])
    message = raw.parse()
    run_id = raw.headers.get("x-switchyard-workflow-run")
    assert message.model == MODEL and message.stop_reason == "end_turn"
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].text == expected_workflow_answer(q)
    sy = extra(message).get("switchyard")
    assert sy and sy["workflow_run"] == run_id and sy["steps"] == 3, sy
    assert close(float(raw.headers.get("x-switchyard-cost-usd")), sy["cost_usd"], 1e-9)
    run = check_run(http, run_id, q, (message.usage.input_tokens, message.usage.output_tokens), sy["cost_usd"], before)
    assert message.content[0].text == run["steps"][-1]["output"]


def test_anthropic_streamed(ant, http):
    q, before = question(), newest_log_ids(http)
    raw = ant.messages.with_raw_response.create(
        model=MODEL, max_tokens=MAX, messages=[{"role": "user", "content": q}], stream=True)
    run_id = raw.headers.get("x-switchyard-workflow-run")
    events = list(raw.parse())
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop", kinds
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta" and e.delta.type == "text_delta")
    assert text == expected_workflow_answer(q)
    delta = next(e for e in events if e.type == "message_delta")
    assert delta.delta.stop_reason == "end_turn"
    sy = extra(delta).get("switchyard")
    assert sy and sy["workflow_run"] == run_id, sy
    # message_delta's usage is the final one (message_start's input count is an estimate made before the run).
    run = check_run(http, run_id, q, (delta.usage.input_tokens, delta.usage.output_tokens), sy["cost_usd"], before)
    assert text == run["steps"][-1]["output"]


def test_anthropic_stream_helper_accumulates_the_answer(ant, http):
    q = question()
    with ant.messages.stream(model=MODEL, max_tokens=MAX, messages=[{"role": "user", "content": q}]) as stream:
        run_id = stream.response.headers.get("x-switchyard-workflow-run")
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == final.content[0].text == expected_workflow_answer(q)
    # The helper takes input_tokens from message_delta, so the final message has the run's real usage, not
    # message_start's estimate.
    run = fetch_run(http, run_id)
    assert (final.usage.input_tokens, final.usage.output_tokens) == \
        (run["usage"]["prompt_tokens"], run["usage"]["completion_tokens"])


def test_anthropic_unknown_workflow_is_not_found(ant):
    for stream in (False, True):
        with pytest.raises(anthropic.NotFoundError) as caught:
            ant.messages.create(model="workflow/no-such-flow", max_tokens=MAX,
                                messages=[{"role": "user", "content": "hi"}], stream=stream)
        assert caught.value.status_code == 404
        assert "no-such-flow" in caught.value.message, caught.value.message


# --- the wire: step comments, and the runs API for a run the SDKs did not start ----------------------------

def test_stream_carries_one_comment_per_step_before_the_answer(http):
    q = question()
    body = {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": q}]}
    with http.stream("POST", "/v1/chat/completions", json=body, headers=AUTH) as response:
        assert response.status_code == 200
        lines = [line for line in response.iter_lines() if line]
    comments = [line for line in lines if line.startswith(":")]
    assert [json.loads(c.split(" ", 2)[2])["id"] for c in comments] == STEP_IDS, comments
    for comment in comments:
        assert comment.startswith(": switchyard.workflow_step {"), comment
        step = json.loads(comment.split(" ", 2)[2])
        assert step["status"] == "completed" and step["cost_usd"] > 0 and step["attempts"] == 1, step
    first_data = next(i for i, line in enumerate(lines) if line.startswith("data:"))
    assert all(line.startswith(":") for line in lines[:first_data]), "every step comment comes before the answer"
    assert lines[-1] == "data: [DONE]"


def test_runs_api_run_matches_the_sdk_view(http):
    q, before = question(), newest_log_ids(http)
    r = http.post("/v1/switchyard/workflows/draft-and-check/runs", json={"input": q}, headers=AUTH)
    assert r.status_code == 202, r.text
    started = r.json()
    assert started["object"] == "workflow.run" and started["status"] == "running"
    deadline = time.monotonic() + 20
    while (run := fetch_run(http, started["id"]))["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    run = check_run(http, started["id"], q, (run["usage"]["prompt_tokens"], run["usage"]["completion_tokens"]), None, before)
    by_id = http.get(f"/v1/switchyard/workflow-runs/{started['id']}", headers=AUTH)
    assert by_id.status_code == 200 and by_id.json() == run, by_id.text
    newest = http.get("/v1/switchyard/workflows/draft-and-check/runs", params={"limit": 1}, headers=AUTH).json()
    assert newest["object"] == "list" and [r["id"] for r in newest["data"]] == [started["id"]], newest
    assert "steps" not in newest["data"][0] and newest["data"][0]["output"] == run["output"]
    listed = http.get("/v1/switchyard/workflows", headers=AUTH).json()
    item = next(w for w in listed["data"] if w["name"] == "draft-and-check")
    assert item["model"] == MODEL and item["steps"] == STEP_IDS
