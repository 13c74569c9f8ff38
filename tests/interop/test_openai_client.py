"""The official `openai` SDK against Switchyard's /v1/chat/completions, /v1/embeddings, /v1/models,
for every provider protocol behind the gateway."""

from __future__ import annotations

import base64
import json
import struct
import time

import httpx
import openai
import pydantic
import pytest

from conftest import (
    CONFIGURED_MODELS, EMBEDDING_MODEL, EMBEDDING_PRICE, ERROR_MODEL, GATEWAY_KEY, MODELS, PROVIDER_MODELS,
    assert_headers_have_no_secrets, assert_no_secrets, close, expected_cost, expected_default_reply,
    PNG_1PX, VISION_MODELS, check_error_headers, fetch_log_record, tools_at_upstream, images_at_upstream, forced_tool_at_upstream, nonce, sampling_at_upstream, system_text_at_upstream,
)

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
            "required": ["city"],
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Current time in a timezone.",
        "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]},
    },
}
PERSON_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["name", "age", "tags"],
    "additionalProperties": False,
}

each = pytest.mark.parametrize("model", PROVIDER_MODELS)


def extra(obj) -> dict:
    return getattr(obj, "model_extra", None) or {}


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def check_usage(usage) -> None:
    assert usage is not None, "no usage"
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0, usage
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens, usage


def cached_of(usage) -> int:
    details = usage.prompt_tokens_details
    return (details.cached_tokens or 0) if details is not None else 0


# --- plain completions -----------------------------------------------------------------------------

@each
def test_plain_completion(oai, model):
    resp = oai.chat.completions.create(model=model, messages=user(f"Hello there {nonce()}"))
    assert resp.object == "chat.completion"
    assert resp.id
    assert len(resp.choices) == 1
    choice = resp.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == expected_default_reply(model)
    assert choice.finish_reason == "stop"
    check_usage(resp.usage)
    sy = extra(resp).get("switchyard")
    assert sy, f"no switchyard extension in {resp.model_dump()}"
    assert sy["model"] == model and sy["provider"] == MODELS[model]["provider"]
    assert sy["request_id"]
    assert sy["usage_estimated"] is False
    assert close(sy["cost_usd"], expected_cost(model, resp.usage.prompt_tokens, resp.usage.completion_tokens,
                                               cached_of(resp.usage)))


@each
def test_reply_directive_and_stop_length(oai, model):
    resp = oai.chat.completions.create(model=model, messages=user("Say it [[reply: Exactly this, nothing more.]]"))
    assert resp.choices[0].message.content == "Exactly this, nothing more."
    cut = oai.chat.completions.create(model=model, max_tokens=5, messages=user("Go on [[stop: length]]"))
    assert cut.choices[0].finish_reason == "length"


@each
def test_multi_turn_history_reaches_upstream(oai, model, mock):
    marker = nonce()
    resp = oai.chat.completions.create(model=model, messages=[
        {"role": "user", "content": f"first turn {marker}"},
        {"role": "assistant", "content": f"first answer {marker}"},
        {"role": "user", "content": "second turn [[reply: ok]]"},
    ])
    assert resp.choices[0].message.content == "ok"
    body = json.dumps(mock.only_request_containing(marker)["body"])
    assert f"first turn {marker}" in body and f"first answer {marker}" in body


@each
@pytest.mark.parametrize("limit_field", ["max_tokens", "max_completion_tokens"])
def test_sampling_params_reach_upstream(oai, model, mock, limit_field):
    marker = nonce()
    oai.chat.completions.create(model=model, messages=user(f"params {marker}"), temperature=0.3, stop=["END"],
                                **{limit_field: 77})
    upstream = mock.only_request_containing(marker)
    got = sampling_at_upstream(MODELS[model]["protocol"], upstream["body"])
    assert got["max_tokens"] == 77, (got, upstream["body"])
    assert got["temperature"] == pytest.approx(0.3), (got, upstream["body"])
    assert got["stop"] in (["END"], "END"), (got, upstream["body"])


@pytest.mark.parametrize("model", VISION_MODELS)
def test_image_input_reaches_upstream(oai, model, mock):
    marker = nonce()
    resp = oai.chat.completions.create(model=model, messages=[{"role": "user", "content": [
        {"type": "text", "text": f"What is in this picture? {marker}"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_1PX}"}},
    ]}])
    assert resp.choices[0].message.content == expected_default_reply(model)
    upstream = mock.only_request_containing(marker)
    images = images_at_upstream(MODELS[model]["protocol"], upstream["body"])
    assert images == [("image/png", PNG_1PX)], upstream["body"]


# --- streaming -------------------------------------------------------------------------------------

@each
def test_stream_matches_non_stream(oai, model):
    prompt = f"Tell me something {nonce()}"
    plain = oai.chat.completions.create(model=model, messages=user(prompt))
    raw = oai.chat.completions.with_raw_response.create(
        model=model, messages=user(prompt), stream=True, stream_options={"include_usage": True})
    assert raw.headers.get("x-switchyard-model") == model
    assert raw.headers.get("x-switchyard-provider") == MODELS[model]["provider"]
    assert raw.headers.get("x-switchyard-request-id")
    assert raw.headers.get("content-type", "").startswith("text/event-stream")
    text, finish, usage_chunks, sy = "", None, [], None
    chunks = list(raw.parse())
    assert chunks, "empty stream"
    for chunk in chunks:
        assert chunk.object == "chat.completion.chunk"
        for choice in chunk.choices:
            text += choice.delta.content or ""
            finish = choice.finish_reason or finish
        if chunk.usage is not None:
            usage_chunks.append(chunk)
            sy = extra(chunk).get("switchyard") or sy
    assert text == plain.choices[0].message.content == expected_default_reply(model)
    assert len({c.id for c in chunks}) == 1, "every chunk of one completion carries the same id"
    assert chunks[0].choices and chunks[0].choices[0].delta.role == "assistant"
    assert finish == "stop"
    assert len(usage_chunks) == 1, "include_usage asks for exactly one usage chunk"
    final = usage_chunks[0]
    assert final is chunks[-1] and final.choices == [], "the usage chunk is the last one and has no choices"
    check_usage(final.usage)
    assert sy, f"no switchyard object in the final usage chunk: {final.model_dump()}"
    assert sy["request_id"] == raw.headers.get("x-switchyard-request-id")
    assert sy["model"] == model
    assert sy["usage_estimated"] is False, "the upstream reported usage for this stream"
    assert close(sy["cost_usd"], expected_cost(model, final.usage.prompt_tokens, final.usage.completion_tokens,
                                               cached_of(final.usage)))


@each
def test_stream_without_include_usage_has_no_usage_chunk(oai, model):
    chunks = list(oai.chat.completions.create(model=model, messages=user(f"hi {nonce()}"), stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == expected_default_reply(model)
    assert all(c.choices for c in chunks), "a choices-less usage chunk without stream_options.include_usage"


@each
def test_stream_helper(oai, model):
    with oai.chat.completions.stream(model=model, messages=user(f"helper {nonce()} [[reply: via the helper]]"),
                                     stream_options={"include_usage": True}) as stream:
        deltas = [e.delta for e in stream if e.type == "content.delta"]
        final = stream.get_final_completion()
    assert "".join(deltas) == "via the helper"
    assert final.choices[0].message.content == "via the helper"
    assert final.choices[0].finish_reason == "stop"
    check_usage(final.usage)


@each
def test_stream_chunk_delay_still_complete(oai, model):
    chunks = list(oai.chat.completions.create(
        model=model, messages=user("slowly [[chunk-delay: 20]] [[reply: one two three four five]]"), stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "one two three four five"


@each
def test_stream_is_not_buffered(oai, model):
    # Six words, 100 ms apart at the upstream: the first delta must reach the client long before the last.
    start = time.monotonic()
    arrivals = []
    for chunk in oai.chat.completions.create(
            model=model, stream=True, messages=user("[[chunk-delay: 100]] [[reply: one two three four five six]]")):
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(time.monotonic() - start)
    assert len(arrivals) >= 3
    assert arrivals[-1] - arrivals[0] >= 0.3, f"deltas arrived in a burst (buffered?): {arrivals}"


@each
def test_stream_upstream_disconnect_is_an_error(oai, model):
    # An upstream failure after the first byte must end the stream with an error the SDK sees,
    # not a silently truncated answer.
    with pytest.raises(openai.APIError):
        stream = oai.chat.completions.create(
            model=ERROR_MODEL[model], stream=True,
            messages=user("cut me off [[reply: a b c d e f g h i j k l]] [[disconnect-after: 2]]"))
        for _ in stream:
            pass


# --- system / developer prompt ---------------------------------------------------------------------

@each
@pytest.mark.parametrize("role", ["system", "developer"])
def test_system_prompt_reaches_upstream(oai, model, mock, role):
    marker = f"You are terse {nonce()}"
    resp = oai.chat.completions.create(model=model, messages=[
        {"role": role, "content": marker}, {"role": "user", "content": "hello"}])
    assert resp.choices[0].message.content == expected_default_reply(model)
    protocol = MODELS[model]["protocol"]
    upstream = mock.only_request_containing(marker)
    assert upstream["protocol"] == protocol
    assert marker in system_text_at_upstream(protocol, upstream["body"]), \
        f"system text not in the {protocol} system slot: {json.dumps(upstream['body'])}"
    if protocol in ("anthropic", "gemini"):
        roles = [m.get("role") for m in upstream["body"].get("messages", upstream["body"].get("contents", []))]
        assert roles == ["user"], f"system text must not stay a conversation turn: {roles}"


# --- tools -----------------------------------------------------------------------------------------

@each
def test_tool_call_round_trip(oai, model, mock):
    messages = user('What is the weather in Paris? [[tool: get_weather {"city": "Paris", "unit": "c"}]]')
    first = oai.chat.completions.create(model=model, messages=messages, tools=[WEATHER_TOOL, TIME_TOOL])
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert calls and len(calls) == 1
    call = calls[0]
    assert call.type == "function" and call.id
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris", "unit": "c"}
    # The tool definitions reached the upstream in its own shape, schemas intact.
    upstream = mock.requests()[-1]
    tools = tools_at_upstream(MODELS[model]["protocol"], upstream["body"])
    assert set(tools) == {"get_weather", "get_time"}, upstream["body"]
    assert tools["get_weather"]["required"] == ["city"]
    assert set(tools["get_weather"]["properties"]) == {"city", "unit"}

    messages += [
        choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "18C and sunny"},
    ]
    second = oai.chat.completions.create(model=model, messages=messages, tools=[WEATHER_TOOL, TIME_TOOL])
    assert second.choices[0].message.content == "Tool results: 18C and sunny"
    assert second.choices[0].finish_reason == "stop"


@pytest.mark.parametrize("model", ["m-openai", "m-anthropic", "m-gemini"])
def test_forced_tool_choice_reaches_upstream(oai, model, mock):
    marker = nonce()
    oai.chat.completions.create(model=model, messages=user(f'time? {marker} [[tool: get_time {{"tz": "UTC"}}]]'),
                                tools=[WEATHER_TOOL, TIME_TOOL],
                                tool_choice={"type": "function", "function": {"name": "get_time"}})
    upstream = mock.only_request_containing(marker)
    assert forced_tool_at_upstream(MODELS[model]["protocol"], upstream["body"]) == "get_time", upstream["body"]


def collect_stream(stream):
    text, finish, calls = "", None, {}
    for chunk in stream:
        for choice in chunk.choices:
            delta = choice.delta
            text += delta.content or ""
            finish = choice.finish_reason or finish
            for tc in delta.tool_calls or []:
                slot = calls.setdefault(tc.index, {"id": None, "name": "", "arguments": ""})
                if tc.id:
                    assert slot["id"] in (None, tc.id), "a tool call's id changed mid-stream"
                    slot["id"] = tc.id
                if tc.function is not None:
                    slot["name"] += tc.function.name or ""
                    slot["arguments"] += tc.function.arguments or ""
    return text, finish, [calls[i] for i in sorted(calls)]


@each
def test_tool_call_round_trip_streamed(oai, model):
    messages = user('Weather please [[tool: get_weather {"city": "Oslo"}]]')
    text, finish, calls = collect_stream(oai.chat.completions.create(
        model=model, messages=messages, tools=[WEATHER_TOOL], stream=True))
    assert finish == "tool_calls"
    assert len(calls) == 1 and calls[0]["id"] and calls[0]["name"] == "get_weather"
    assert json.loads(calls[0]["arguments"]) == {"city": "Oslo"}
    messages += [
        {"role": "assistant", "content": text or None, "tool_calls": [
            {"id": calls[0]["id"], "type": "function",
             "function": {"name": "get_weather", "arguments": calls[0]["arguments"]}}]},
        {"role": "tool", "tool_call_id": calls[0]["id"], "content": "-3C, snow"},
    ]
    text2, finish2, calls2 = collect_stream(oai.chat.completions.create(
        model=model, messages=messages, tools=[WEATHER_TOOL], stream=True))
    assert text2 == "Tool results: -3C, snow"
    assert finish2 == "stop" and calls2 == []


@each
def test_parallel_tool_calls(oai, model):
    messages = user('Two things [[tool: get_weather {"city": "Rome"}]] [[tool: get_time {"tz": "Europe/Rome"}]]')
    first = oai.chat.completions.create(model=model, messages=messages, tools=[WEATHER_TOOL, TIME_TOOL])
    msg = first.choices[0].message
    assert first.choices[0].finish_reason == "tool_calls"
    assert msg.tool_calls and len(msg.tool_calls) == 2
    assert [c.function.name for c in msg.tool_calls] == ["get_weather", "get_time"]
    assert [json.loads(c.function.arguments) for c in msg.tool_calls] == [{"city": "Rome"}, {"tz": "Europe/Rome"}]
    ids = [c.id for c in msg.tool_calls]
    assert all(ids) and len(set(ids)) == 2, f"tool call ids must be distinct: {ids}"
    messages += [
        msg.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": ids[0], "content": "22C"},
        {"role": "tool", "tool_call_id": ids[1], "content": "14:05"},
    ]
    second = oai.chat.completions.create(model=model, messages=messages, tools=[WEATHER_TOOL, TIME_TOOL])
    assert second.choices[0].message.content == "Tool results: 22C | 14:05"


@each
def test_parallel_tool_calls_streamed(oai, model):
    _, finish, calls = collect_stream(oai.chat.completions.create(
        model=model, tools=[WEATHER_TOOL, TIME_TOOL], stream=True,
        messages=user('Both [[tool: get_weather {"city": "Lima"}]] [[tool: get_time {"tz": "America/Lima"}]]')))
    assert finish == "tool_calls"
    assert [c["name"] for c in calls] == ["get_weather", "get_time"]
    assert [json.loads(c["arguments"]) for c in calls] == [{"city": "Lima"}, {"tz": "America/Lima"}]
    assert len({c["id"] for c in calls}) == 2 and all(c["id"] for c in calls)


# --- JSON mode -------------------------------------------------------------------------------------

@each
def test_json_object_mode(oai, model):
    resp = oai.chat.completions.create(model=model, response_format={"type": "json_object"},
                                       messages=user(f"Reply in JSON {nonce()}"))
    value = json.loads(resp.choices[0].message.content)
    assert isinstance(value, dict) and value


@each
def test_json_schema_mode(oai, model):
    resp = oai.chat.completions.create(
        model=model, messages=user(f"Describe a person {nonce()}"),
        response_format={"type": "json_schema",
                         "json_schema": {"name": "person", "strict": True, "schema": PERSON_SCHEMA}})
    value = json.loads(resp.choices[0].message.content)
    assert set(PERSON_SCHEMA["required"]) <= set(value), value
    assert isinstance(value["name"], str) and isinstance(value["age"], int) and isinstance(value["tags"], list)


class Person(pydantic.BaseModel):
    name: str
    age: int
    tags: list[str]


@each
def test_json_schema_parse_helper(oai, model):
    resp = oai.chat.completions.parse(model=model, messages=user(f"A person {nonce()}"), response_format=Person)
    parsed = resp.choices[0].message.parsed
    assert isinstance(parsed, Person)


@each
def test_json_directive_without_schema(oai, model):
    resp = oai.chat.completions.create(model=model, messages=user("data please [[json]]"))
    assert json.loads(resp.choices[0].message.content) == {"answer": "mock", "ok": True}


# --- usage, cost, caching --------------------------------------------------------------------------

@each
def test_cost_header_matches_usage(oai, model):
    raw = oai.chat.completions.with_raw_response.create(model=model, messages=user(f"cost check {nonce()} " * 5))
    resp = raw.parse()
    headers = raw.headers
    assert headers.get("x-switchyard-model") == model
    assert headers.get("x-switchyard-provider") == MODELS[model]["provider"]
    request_id = headers.get("x-switchyard-request-id")
    assert request_id
    cost_header = headers.get("x-switchyard-cost-usd")
    assert cost_header is not None, f"no x-switchyard-cost-usd in {dict(headers)}"
    assert "e" not in cost_header.lower(), f"cost header should be a plain decimal string: {cost_header}"
    cost = float(cost_header)
    u = resp.usage
    assert close(cost, expected_cost(model, u.prompt_tokens, u.completion_tokens, cached_of(u)))
    sy = extra(resp)["switchyard"]
    assert sy["request_id"] == request_id
    assert close(sy["cost_usd"], cost)
    if MODELS[model]["price"]["input"] > 0:
        assert cost > 0


CACHE_MODELS = {"m-openai": "m-openai", "m-anthropic": "c-anthropic", "m-gemini": "c-gemini"}


@each
def test_cached_tokens(oai, model):
    if model not in CACHE_MODELS:
        # Ollama reports no cache reads: the gateway must not invent any.
        resp = oai.chat.completions.create(model=model, messages=user("lots of context [[cached: 6]]"))
        assert cached_of(resp.usage) == 0
        return
    for public in sorted({model, CACHE_MODELS[model]}):
        raw = oai.chat.completions.with_raw_response.create(
            model=public, messages=user(f"a long shared prefix {nonce()} [[cached: 6]]"))
        resp = raw.parse()
        u = resp.usage
        assert cached_of(u) == 6, f"{public}: {u}"
        assert u.prompt_tokens >= 6
        cost = float(raw.headers["x-switchyard-cost-usd"])
        assert close(cost, expected_cost(public, u.prompt_tokens, u.completion_tokens, 6))
        price = MODELS[public]["price"]
        if price.get("cached_input", price["input"]) < price["input"]:
            assert cost < expected_cost(public, u.prompt_tokens, u.completion_tokens, 0) - 1e-12


@each
def test_usage_none_is_estimated(oai, model):
    resp = oai.chat.completions.create(model=model, messages=user(f"no usage {nonce()} [[usage: none]]"))
    assert resp.choices[0].message.content == expected_default_reply(model)
    sy = extra(resp)["switchyard"]
    assert sy["usage_estimated"] is True, (resp.usage, sy)
    check_usage(resp.usage)


# --- errors ----------------------------------------------------------------------------------------

def openai_envelope(response: httpx.Response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error.get("message"), str) and error["message"]
    assert {"type", "param", "code"} <= set(error), error
    assert_no_secrets(response.text)
    assert_headers_have_no_secrets(response.headers)
    return error


@each
def test_unknown_model(oai, model):
    bad = f"{model}-does-not-exist"
    with pytest.raises(openai.NotFoundError) as info:
        oai.chat.completions.create(model=bad, messages=user("hi"))
    assert info.value.status_code == 404
    assert bad in info.value.message
    openai_envelope(info.value.response)


@each
def test_upstream_429_keeps_retry_after(oai, model):
    with pytest.raises(openai.RateLimitError) as info:
        oai.chat.completions.create(model=ERROR_MODEL[model], messages=user("slow down [[error: 429 retry-after=2]]"))
    assert info.value.status_code == 429
    assert info.value.response.headers.get("retry-after") == "2"
    openai_envelope(info.value.response)


@each
def test_upstream_500(oai, model):
    with pytest.raises(openai.InternalServerError) as info:
        oai.chat.completions.create(model=ERROR_MODEL[model], messages=user("boom [[error: 500]]"))
    assert info.value.status_code == 500
    openai_envelope(info.value.response)


@each
def test_upstream_503_from_fault(oai, model, mock):
    mock.fault(MODELS[model]["upstream"], "error: 503", 50)
    with pytest.raises(openai.InternalServerError) as info:
        oai.chat.completions.create(model=ERROR_MODEL[model], messages=user(f"hello {nonce()}"))
    assert info.value.status_code == 503
    openai_envelope(info.value.response)
    assert mock.requests(), "the fault was not exercised at the upstream"


def test_upstream_error_response_headers(oai):
    problems = []
    for model in PROVIDER_MODELS:
        with pytest.raises(openai.APIStatusError) as info:
            oai.chat.completions.create(model=ERROR_MODEL[model], messages=user("[[error: 500]]"))
        try:
            check_error_headers(info.value.response, ERROR_MODEL[model])
        except AssertionError as e:
            problems.append(f"{model}: {e}")
    assert not problems, "\n".join(problems)


@each
def test_streamed_upstream_error_before_first_byte(oai, model):
    with pytest.raises(openai.RateLimitError) as info:
        for _ in oai.chat.completions.create(model=ERROR_MODEL[model], stream=True,
                                             messages=user("stream [[error: 429 retry-after=3]]")):
            pass
    assert info.value.response.headers.get("retry-after") == "3"


@each
def test_malformed_upstream_response(oai, model):
    with pytest.raises(openai.APIStatusError) as info:
        oai.chat.completions.create(model=ERROR_MODEL[model], messages=user("garbage [[malformed]]"))
    assert info.value.status_code == 502
    openai_envelope(info.value.response)


@each
def test_bad_gateway_key(stack, model):
    client = openai.OpenAI(api_key="sk-wrong-key", base_url=f"{stack.gateway}/v1", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as info:
        client.chat.completions.create(model=model, messages=user("hi"))
    assert info.value.status_code == 401
    openai_envelope(info.value.response)


# --- checks that do not depend on the provider -----------------------------------------------------

def test_missing_key_raw(http):
    r = http.post("/v1/chat/completions", json={"model": "m-openai", "messages": user("hi")})
    assert r.status_code == 401
    openai_envelope(r)


def test_malformed_json_body(http):
    r = http.post("/v1/chat/completions", content=b'{"model": "m-openai", "messages": [',
                  headers={"authorization": f"Bearer {GATEWAY_KEY}", "content-type": "application/json"})
    assert r.status_code == 400
    error = openai_envelope(r)
    assert error["type"] == "invalid_request_error"


@pytest.mark.parametrize("payload", [
    {"model": "m-openai"},
    {"model": "m-openai", "messages": "hello"},
    {"model": "m-openai", "messages": [{"role": "user", "content": "hi"}], "max_tokens": "ten"},
])
def test_missing_or_wrong_typed_field(http, payload):
    r = http.post("/v1/chat/completions", json=payload, headers={"authorization": f"Bearer {GATEWAY_KEY}"})
    assert r.status_code == 400, r.text
    error = openai_envelope(r)
    field = "max_tokens" if "max_tokens" in payload else "messages"
    assert field in error["message"] or error.get("param") == field, error


def test_body_over_limit(http):
    big = "x" * (11 * 1024 * 1024)
    r = http.post("/v1/chat/completions", json={"model": "m-openai", "messages": user(big)},
                  headers={"authorization": f"Bearer {GATEWAY_KEY}"})
    assert r.status_code == 413
    openai_envelope(r)


def test_unreachable_upstream_is_502(oai):
    with pytest.raises(openai.APIStatusError) as info:
        oai.chat.completions.create(model="m-dead", messages=user("anyone there?"))
    assert info.value.status_code == 502
    openai_envelope(info.value.response)


def test_unreachable_upstream_fails_fast(http):
    # Nothing listens on the port: the connection is refused at once, so the 502 should be quick too
    # (a client waits on every unreachable provider otherwise).
    try:
        r = http.post("/v1/chat/completions", json={"model": "m-dead", "messages": user("anyone?")},
                      headers={"authorization": f"Bearer {GATEWAY_KEY}"}, timeout=3)
    except httpx.TimeoutException:
        pytest.fail("a refused upstream connection took more than 3 s to become an error")
    assert r.status_code == 502


def test_upstream_timeout_is_504(oai):
    with pytest.raises(openai.APIStatusError) as info:
        oai.chat.completions.create(model="m-slow", messages=user("take your time [[delay: 5000]]"))
    assert info.value.status_code == 504
    openai_envelope(info.value.response)


def test_models_list(oai):
    listed = oai.models.list()
    ids = [m.id for m in listed.data]
    for name in CONFIGURED_MODELS:
        assert name in ids, ids
    assert all(m.object == "model" for m in listed.data)
    assert oai.models.with_raw_response.list().http_request.url.path == "/v1/models"
    assert_no_secrets(listed.model_dump())


def test_embeddings(oai, mock):
    texts = ["the quick brown fox", "jumps over", "the lazy dog"]
    raw = oai.embeddings.with_raw_response.create(model=EMBEDDING_MODEL, input=texts, encoding_format="float")
    resp = raw.parse()
    assert [d.index for d in resp.data] == [0, 1, 2]
    vectors = [d.embedding for d in resp.data]
    assert all(isinstance(v, list) and v and all(isinstance(x, float) for x in v) for v in vectors)
    assert len({len(v) for v in vectors}) == 1
    assert vectors[0] != vectors[1]
    assert resp.usage.prompt_tokens > 0
    assert raw.headers.get("x-switchyard-model") == EMBEDDING_MODEL
    assert raw.headers.get("x-switchyard-provider") == "up-openai"
    assert raw.headers.get("x-switchyard-request-id")
    assert close(float(raw.headers["x-switchyard-cost-usd"]), resp.usage.prompt_tokens * EMBEDDING_PRICE / 1e6)
    upstream = mock.requests()[-1]
    assert upstream["path"].endswith("/embeddings") and upstream["body"]["model"] == "text-embedding-3-small"

    # base64, explicitly: the raw string decodes to the same float32 vector.
    b64 = oai.embeddings.create(model=EMBEDDING_MODEL, input=texts, encoding_format="base64")
    assert len(b64.data) == 3
    encoded = b64.data[1].embedding
    assert isinstance(encoded, str)
    raw_bytes = base64.b64decode(encoded)
    decoded = list(struct.unpack(f"<{len(raw_bytes) // 4}f", raw_bytes))
    assert len(decoded) == len(vectors[1])
    assert all(abs(a - b) < 1e-6 for a, b in zip(decoded, vectors[1]))

    # The SDK default (it asks for base64 and decodes it itself) and a single string input.
    default = oai.embeddings.create(model=EMBEDDING_MODEL, input="jumps over")
    assert len(default.data) == 1
    assert all(abs(a - b) < 1e-6 for a, b in zip(default.data[0].embedding, vectors[1]))


def test_embeddings_unknown_model(oai):
    with pytest.raises(openai.NotFoundError) as info:
        oai.embeddings.create(model="e-nope", input=["x"])
    assert "e-nope" in info.value.message
    openai_envelope(info.value.response)


def test_request_log_records_openai_protocol(oai, http):
    raw = oai.chat.completions.with_raw_response.create(model="m-gemini", messages=user(f"log me {nonce()}"))
    resp = raw.parse()
    request_id = raw.headers["x-switchyard-request-id"]
    record = fetch_log_record(http, request_id)
    assert record["protocol"] == "openai"
    assert record["model"] == "m-gemini"
    assert record["provider"] == "up-gemini"
    assert record["upstream_model"] == "gemini-2.0-flash"
    assert record["prompt_tokens"] == resp.usage.prompt_tokens
    assert record["completion_tokens"] == resp.usage.completion_tokens
    assert close(record["cost_usd"], float(raw.headers["x-switchyard-cost-usd"]))
    assert record["stream"] is False
    assert record["status"] in (200, "200", "ok", "success"), record
    assert not record.get("error")
    assert record["latency_ms"] >= 0
    one = http.get(f"/v1/switchyard/requests/{request_id}", headers={"authorization": f"Bearer {GATEWAY_KEY}"})
    assert one.status_code == 200
    got = one.json()
    got = got.get("data", got) if isinstance(got.get("data"), dict) else got
    assert got["id"] == request_id and got["model"] == "m-gemini"
