"""Cross-protocol checks: upstream secrets never leak, the request log tells the truth."""

from __future__ import annotations

import json

import anthropic
import httpx
import pytest

from conftest import (
    ANTHROPIC_UPSTREAM_KEY, GEMINI_UPSTREAM_KEY, OPENAI_UPSTREAM_KEY, GATEWAY_KEY, MODELS, PROVIDER_MODELS, assert_headers_have_no_secrets, assert_no_secrets, close,
    expected_cost, fetch_log_record, nonce,
)

OAI_AUTH = {"authorization": f"Bearer {GATEWAY_KEY}"}
ANT_AUTH = {"x-api-key": GATEWAY_KEY, "anthropic-version": "2023-06-01"}


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def exchange(http: httpx.Client, method: str, path: str, **kwargs) -> httpx.Response:
    if kwargs.get("json", {}).get("stream"):
        with http.stream(method, path, **kwargs) as r:
            r.read()
            return r
    return http.request(method, path, **kwargs)


def test_health(http):
    r = http.get("/health")
    assert r.status_code == 200


@pytest.mark.parametrize("model", PROVIDER_MODELS + ["m-slow-gemini",
                                                     "m-wrongkey-openai", "m-wrongkey-anthropic",
                                                     "m-wrongkey-gemini"])
def test_upstream_secrets_never_appear(http, model):
    """Every kind of answer (success, stream, upstream error, unreachable, timeout, upstream auth failure),
    both client protocols: no upstream key in any header or body."""
    seen: list[httpx.Response] = []
    for stream in (False, True):
        for text in (f"hello {nonce()}", "[[error: 500]]", "[[error: 429 retry-after=1]]", "[[error: 401]]",
                     "[[reply: a b c d e]] [[disconnect-after: 2]]", "[[malformed]]", "[[delay: 1500]]"):
            if model == "m-slow-gemini" and text != "[[delay: 1500]]":
                continue
            if model not in ("m-slow-gemini",) and text == "[[delay: 1500]]":
                continue
            if model.startswith("m-wrongkey") and not text.startswith("hello"):
                continue
            body = {"model": model, "messages": user(text), "stream": stream}
            seen.append(exchange(http, "POST", "/v1/chat/completions", json=body, headers=OAI_AUTH))
            seen.append(exchange(http, "POST", "/v1/messages", json={**body, "max_tokens": 64}, headers=ANT_AUTH))
    assert seen
    for r in seen:
        assert_no_secrets(r.text)
        assert_headers_have_no_secrets(r.headers)
    if model.startswith(("m-slow", "m-wrongkey")):
        statuses = {r.status_code for r in seen}
        assert all(s >= 500 for s in statuses), \
            f"an upstream failure is not the caller's fault (got {statuses}): {seen[0].text[:300]}"
    if model.startswith("m-slow"):
        assert {r.status_code for r in seen} == {504}
    listing = http.get("/v1/switchyard/requests", params={"limit": 200}, headers=OAI_AUTH)
    assert listing.status_code == 200
    assert_no_secrets(listing.text)
    models = http.get("/v1/models", headers=OAI_AUTH)
    assert models.status_code == 200
    assert_no_secrets(models.text)


def test_request_log_across_protocols(oai, ant, http):
    expectations = {}
    raw = oai.chat.completions.with_raw_response.create(model="m-anthropic", messages=user(f"one {nonce()}"))
    resp = raw.parse()
    expectations[raw.headers["x-switchyard-request-id"]] = dict(
        protocol="openai", model="m-anthropic", stream=False, prompt=resp.usage.prompt_tokens,
        completion=resp.usage.completion_tokens, cached=0, cost=float(raw.headers["x-switchyard-cost-usd"]))

    raw = ant.messages.with_raw_response.create(model="m-openai", max_tokens=64,
                                                messages=user(f"two {nonce()} [[cached: 4]]"))
    msg = raw.parse()
    expectations[raw.headers["x-switchyard-request-id"]] = dict(
        protocol="anthropic", model="m-openai", stream=False,
        prompt=msg.usage.input_tokens + (msg.usage.cache_read_input_tokens or 0),
        completion=msg.usage.output_tokens, cached=4, cost=float(raw.headers["x-switchyard-cost-usd"]))

    raw = oai.chat.completions.with_raw_response.create(
        model="m-gemini", messages=user(f"three {nonce()}"), stream=True, stream_options={"include_usage": True})
    chunks = list(raw.parse())
    final = chunks[-1]
    expectations[raw.headers["x-switchyard-request-id"]] = dict(
        protocol="openai", model="m-gemini", stream=True, prompt=final.usage.prompt_tokens,
        completion=final.usage.completion_tokens, cached=0, cost=final.model_extra["switchyard"]["cost_usd"])

    with pytest.raises(anthropic.RateLimitError) as info:
        ant.messages.create(model="x-ollama", max_tokens=64, messages=user("[[error: 429 retry-after=1]]"))
    failed_id = info.value.response.headers.get("x-switchyard-request-id")
    assert failed_id, "error responses carry x-switchyard-request-id too"

    for request_id, want in expectations.items():
        record = fetch_log_record(http, request_id)
        info_ = MODELS[want["model"]]
        assert record["protocol"] == want["protocol"], record
        assert record["model"] == want["model"]
        assert record["provider"] == info_["provider"]
        assert record["upstream_model"] == info_["upstream"]
        assert record["stream"] is want["stream"]
        assert record["prompt_tokens"] == want["prompt"], record
        assert record["completion_tokens"] == want["completion"], record
        assert record["cached_tokens"] == want["cached"], record
        assert record["usage_estimated"] is False
        assert close(record["cost_usd"], want["cost"])
        assert close(record["cost_usd"], expected_cost(want["model"], want["prompt"], want["completion"],
                                                       want["cached"]))
        assert record["caller"], record
        assert record["created_at"], record
        assert record["latency_ms"] >= 0
        assert not record.get("error"), record
        if want["stream"]:
            assert record["ttft_ms"] is not None and 0 <= record["ttft_ms"] <= record["latency_ms"]
        one = http.get(f"/v1/switchyard/requests/{request_id}", headers=OAI_AUTH)
        assert one.status_code == 200, one.text
        assert one.json()["id"] == request_id

    failed = fetch_log_record(http, failed_id)
    assert failed["protocol"] == "anthropic" and failed["model"] == "x-ollama"
    assert failed["status"] in (429, "429", "error"), failed
    assert failed["error"], failed

    limited = http.get("/v1/switchyard/requests", params={"limit": 2}, headers=OAI_AUTH)
    assert limited.status_code == 200 and len(limited.json()["data"]) == 2
    missing = http.get("/v1/switchyard/requests/req_does_not_exist", headers=OAI_AUTH)
    assert missing.status_code == 404


def test_request_log_requires_auth(http):
    assert http.get("/v1/switchyard/requests").status_code == 401


@pytest.mark.parametrize("model", PROVIDER_MODELS)
def test_upstream_gets_its_own_key_and_never_the_callers(oai, ant, mock, model):
    for stream in (False, True):
        oai.chat.completions.create(model=model, messages=user(f"key check {nonce()}"), stream=stream)
        ant.messages.create(model=model, max_tokens=64, messages=user(f"key check {nonce()}"), stream=stream)
    recorded = mock.requests()
    assert len(recorded) == 4, recorded
    protocol = MODELS[model]["protocol"]
    for req in recorded:
        assert req["protocol"] == protocol
        headers = {k.lower(): v for k, v in req["headers"].items()}
        dump = json.dumps(req)
        assert GATEWAY_KEY not in dump, f"the caller's gateway key was forwarded upstream: {dump[:800]}"
        if protocol == "openai":
            assert headers.get("authorization") == f"Bearer {OPENAI_UPSTREAM_KEY}"
        elif protocol == "anthropic":
            assert headers.get("x-api-key") == ANTHROPIC_UPSTREAM_KEY
            assert headers.get("anthropic-version")
            assert "authorization" not in headers
        elif protocol == "gemini":
            assert headers.get("x-goog-api-key") == GEMINI_UPSTREAM_KEY or f"key={GEMINI_UPSTREAM_KEY}" in req["query"]
        elif protocol == "ollama":
            assert "authorization" not in headers and "x-api-key" not in headers
    # Streams go to the protocol's streaming endpoint/flag.
    streamed = [r for r in recorded if (r["body"] or {}).get("stream") is True
                or "streamGenerateContent" in r["path"]]
    assert len(streamed) == 2, [(r["path"], r["query"]) for r in recorded]
    for req in streamed:
        if protocol == "gemini":
            assert req["path"].endswith(":streamGenerateContent") and "alt=sse" in req["query"], req["path"]
        if protocol == "openai":
            assert (req["body"].get("stream_options") or {}).get("include_usage") is True, \
                "without include_usage an OpenAI upstream sends no usage on streams"
