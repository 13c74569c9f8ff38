"""The official `anthropic` SDK against Switchyard's /v1/messages, for every provider protocol behind
the gateway."""

from __future__ import annotations

import json
import time

import anthropic
import httpx
import pydantic
import pytest

from conftest import (
    ERROR_MODEL, GATEWAY_KEY, MODELS, PROVIDER_MODELS, assert_headers_have_no_secrets, assert_no_secrets, close,
    PNG_1PX, VISION_MODELS, check_error_headers, images_at_upstream, tools_at_upstream, forced_tool_at_upstream, expected_cost, expected_default_reply, fetch_log_record, nonce, sampling_at_upstream,
    system_text_at_upstream,
)

each = pytest.mark.parametrize("model", PROVIDER_MODELS)

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
        "required": ["city"],
    },
}
TIME_TOOL = {
    "name": "get_time",
    "description": "Current time in a timezone.",
    "input_schema": {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]},
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
MAX = 512


def extra(obj) -> dict:
    return getattr(obj, "model_extra", None) or {}


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def text_of(message) -> str:
    return "".join(block.text for block in message.content if block.type == "text")


def prompt_tokens(usage) -> int:
    # Anthropic's input_tokens excludes cache reads and cache writes.
    return usage.input_tokens + (usage.cache_read_input_tokens or 0) + (usage.cache_creation_input_tokens or 0)


def check_usage(usage) -> None:
    assert usage is not None
    assert usage.input_tokens > 0 and usage.output_tokens > 0, usage


def cost_of(model, usage) -> float:
    return expected_cost(model, prompt_tokens(usage), usage.output_tokens, usage.cache_read_input_tokens or 0)


RAW_EVENTS = {"message_start", "content_block_start", "content_block_delta", "content_block_stop",
              "message_delta", "message_stop"}


def check_event_order(events) -> None:
    """Anthropic's SSE grammar: message_start, then per block start/delta*/stop with matching indexes
    (0, 1, 2...), then one message_delta and message_stop."""
    raw = [e for e in events if e.type in RAW_EVENTS]
    kinds = [e.type for e in raw]
    assert kinds[0] == "message_start" and kinds[-2:] == ["message_delta", "message_stop"], kinds
    open_index, next_index = None, 0
    for e in raw[1:-2]:
        if e.type == "content_block_start":
            assert open_index is None and e.index == next_index, kinds
            open_index = e.index
        elif e.type == "content_block_delta":
            assert e.index == open_index, kinds
        elif e.type == "content_block_stop":
            assert e.index == open_index, kinds
            open_index, next_index = None, next_index + 1
        else:
            raise AssertionError(f"unexpected {e.type} inside the message: {kinds}")
    assert open_index is None, kinds


# --- plain messages --------------------------------------------------------------------------------

@each
def test_plain_message(ant, model):
    msg = ant.messages.create(model=model, max_tokens=MAX, messages=user(f"Hello there {nonce()}"))
    assert msg.type == "message" and msg.role == "assistant" and msg.id
    assert len(msg.content) == 1 and msg.content[0].type == "text"
    assert msg.content[0].text == expected_default_reply(model)
    assert msg.stop_reason == "end_turn"
    check_usage(msg.usage)
    sy = extra(msg).get("switchyard")
    assert sy, f"no switchyard extension in {msg.model_dump()}"
    assert sy["model"] == model and sy["provider"] == MODELS[model]["provider"] and sy["request_id"]
    assert sy["usage_estimated"] is False
    assert close(sy["cost_usd"], cost_of(model, msg.usage))


@each
def test_reply_directive_and_max_tokens_stop(ant, model):
    msg = ant.messages.create(model=model, max_tokens=MAX, messages=user("[[reply: Exactly this, nothing more.]]"))
    assert text_of(msg) == "Exactly this, nothing more."
    cut = ant.messages.create(model=model, max_tokens=5, messages=user("go on [[stop: length]]"))
    assert cut.stop_reason == "max_tokens"


@each
def test_content_blocks_and_history(ant, model, mock):
    marker = nonce()
    msg = ant.messages.create(model=model, max_tokens=MAX, messages=[
        {"role": "user", "content": [{"type": "text", "text": f"first turn {marker}"}]},
        {"role": "assistant", "content": [{"type": "text", "text": f"first answer {marker}"}]},
        {"role": "user", "content": [{"type": "text", "text": "second turn"},
                                     {"type": "text", "text": "[[reply: ok]]"}]},
    ])
    assert text_of(msg) == "ok"
    body = json.dumps(mock.only_request_containing(marker)["body"])
    assert f"first turn {marker}" in body and f"first answer {marker}" in body


@each
def test_sampling_params_reach_upstream(ant, model, mock):
    marker = nonce()
    # anthropic>=2 no longer has a typed `temperature`; the wire field is still part of the Messages API.
    ant.messages.create(model=model, messages=user(f"params {marker}"), max_tokens=77, stop_sequences=["END"],
                        extra_body={"temperature": 0.3})
    upstream = mock.only_request_containing(marker)
    got = sampling_at_upstream(MODELS[model]["protocol"], upstream["body"])
    assert got["max_tokens"] == 77, (got, upstream["body"])
    assert got["temperature"] == pytest.approx(0.3), (got, upstream["body"])
    assert got["stop"] in (["END"], "END"), (got, upstream["body"])


@pytest.mark.parametrize("model", VISION_MODELS)
def test_image_input_reaches_upstream(ant, model, mock):
    marker = nonce()
    msg = ant.messages.create(model=model, max_tokens=MAX, messages=[{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_1PX}},
        {"type": "text", "text": f"What is in this picture? {marker}"},
    ]}])
    assert text_of(msg) == expected_default_reply(model)
    upstream = mock.only_request_containing(marker)
    images = images_at_upstream(MODELS[model]["protocol"], upstream["body"])
    assert images == [("image/png", PNG_1PX)], upstream["body"]


# --- streaming -------------------------------------------------------------------------------------

@each
def test_raw_stream_events(ant, model):
    prompt = f"Tell me something {nonce()}"
    plain = ant.messages.create(model=model, max_tokens=MAX, messages=user(prompt))
    raw = ant.messages.with_raw_response.create(model=model, max_tokens=MAX, messages=user(prompt), stream=True)
    assert raw.headers.get("x-switchyard-model") == model
    assert raw.headers.get("x-switchyard-provider") == MODELS[model]["provider"]
    request_id = raw.headers.get("x-switchyard-request-id")
    assert request_id
    events = list(raw.parse())
    kinds = [e.type for e in events]
    check_event_order(events)
    assert kinds.count("message_delta") == 1
    assert "content_block_start" in kinds and "content_block_stop" in kinds
    text = "".join(e.delta.text for e in events
                   if e.type == "content_block_delta" and e.delta.type == "text_delta")
    assert text == text_of(plain) == expected_default_reply(model)
    delta = next(e for e in events if e.type == "message_delta")
    assert delta.delta.stop_reason == "end_turn"
    assert delta.usage.output_tokens > 0
    sy = extra(delta).get("switchyard")
    assert sy, f"no switchyard object on message_delta: {delta.model_dump()}"
    assert sy["request_id"] == request_id and sy["model"] == model
    assert sy["usage_estimated"] is False, "the upstream reported usage for this stream"
    start = next(e for e in events if e.type == "message_start")
    usage = start.message.usage.model_copy()
    # message_delta's usage is cumulative and final (input/cache fields when present override message_start's).
    for field in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"):
        value = getattr(delta.usage, field, None)
        if value is not None:
            setattr(usage, field, value)
    usage.output_tokens = delta.usage.output_tokens
    assert close(sy["cost_usd"], cost_of(model, usage)), (sy, usage)


@each
def test_stream_helper_final_message(ant, model):
    prompt = f"Stream me {nonce()}"
    with ant.messages.stream(model=model, max_tokens=MAX, messages=user(prompt)) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(pieces) == expected_default_reply(model)
    assert len(pieces) > 1, "the answer should arrive in several deltas"
    assert text_of(final) == expected_default_reply(model)
    assert final.stop_reason == "end_turn"
    check_usage(final.usage)
    plain = ant.messages.create(model=model, max_tokens=MAX, messages=user(prompt))
    assert final.usage.output_tokens == plain.usage.output_tokens
    assert prompt_tokens(final.usage) == prompt_tokens(plain.usage)


@each
def test_stream_is_not_buffered(ant, model):
    start = time.monotonic()
    arrivals = []
    with ant.messages.stream(model=model, max_tokens=MAX,
                             messages=user("[[chunk-delay: 100]] [[reply: one two three four five six]]")) as stream:
        for _ in stream.text_stream:
            arrivals.append(time.monotonic() - start)
    assert len(arrivals) >= 3
    assert arrivals[-1] - arrivals[0] >= 0.3, f"deltas arrived in a burst (buffered?): {arrivals}"


@each
def test_stream_upstream_disconnect_is_an_error(ant, model):
    with pytest.raises(anthropic.APIError):
        with ant.messages.stream(model=ERROR_MODEL[model], max_tokens=MAX,
                                 messages=user("cut [[reply: a b c d e f g h i j k l]] [[disconnect-after: 2]]")) as s:
            s.get_final_message()


# --- system prompt ---------------------------------------------------------------------------------

@each
@pytest.mark.parametrize("form", ["string", "blocks"])
def test_system_prompt_reaches_upstream(ant, model, mock, form):
    marker = f"You are terse {nonce()}"
    system = marker if form == "string" else [{"type": "text", "text": marker}]
    msg = ant.messages.create(model=model, max_tokens=MAX, system=system, messages=user("hello"))
    assert text_of(msg) == expected_default_reply(model)
    protocol = MODELS[model]["protocol"]
    upstream = mock.only_request_containing(marker)
    assert upstream["protocol"] == protocol
    assert marker in system_text_at_upstream(protocol, upstream["body"]), json.dumps(upstream["body"])


# --- tools -----------------------------------------------------------------------------------------

@each
def test_tool_use_round_trip(ant, model, mock):
    messages = user('Weather in Paris? [[tool: get_weather {"city": "Paris", "unit": "c"}]]')
    first = ant.messages.create(model=model, max_tokens=MAX, messages=messages, tools=[WEATHER_TOOL, TIME_TOOL])
    assert first.stop_reason == "tool_use"
    uses = [b for b in first.content if b.type == "tool_use"]
    assert len(uses) == 1
    use = uses[0]
    assert use.id and use.name == "get_weather"
    assert use.input == {"city": "Paris", "unit": "c"}
    upstream = mock.requests()[-1]
    tools = tools_at_upstream(MODELS[model]["protocol"], upstream["body"])
    assert set(tools) == {"get_weather", "get_time"}, upstream["body"]
    assert tools["get_weather"]["required"] == ["city"]
    assert set(tools["get_weather"]["properties"]) == {"city", "unit"}
    messages += [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "18C and sunny"}]},
    ]
    second = ant.messages.create(model=model, max_tokens=MAX, messages=messages, tools=[WEATHER_TOOL, TIME_TOOL])
    assert text_of(second) == "Tool results: 18C and sunny"
    assert second.stop_reason == "end_turn"


@pytest.mark.parametrize("model", ["m-openai", "m-anthropic", "m-gemini"])
def test_forced_tool_choice_reaches_upstream(ant, model, mock):
    marker = nonce()
    ant.messages.create(model=model, max_tokens=MAX, tools=[WEATHER_TOOL, TIME_TOOL],
                        tool_choice={"type": "tool", "name": "get_time"},
                        messages=user(f'time? {marker} [[tool: get_time {{"tz": "UTC"}}]]'))
    upstream = mock.only_request_containing(marker)
    assert forced_tool_at_upstream(MODELS[model]["protocol"], upstream["body"]) == "get_time", upstream["body"]


@each
def test_tool_use_round_trip_streamed(ant, model):
    messages = user('Weather please [[tool: get_weather {"city": "Oslo"}]]')
    with ant.messages.stream(model=model, max_tokens=MAX, messages=messages, tools=[WEATHER_TOOL]) as stream:
        events = list(stream)
        first = stream.get_final_message()
    check_event_order(events)
    assert first.stop_reason == "tool_use"
    uses = [b for b in first.content if b.type == "tool_use"]
    assert len(uses) == 1 and uses[0].name == "get_weather" and uses[0].id
    assert uses[0].input == {"city": "Oslo"}
    assert any(e.type == "content_block_delta" and e.delta.type == "input_json_delta" for e in events), \
        "tool arguments should stream as input_json_delta"
    messages += [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": uses[0].id,
                                      "content": [{"type": "text", "text": "-3C, snow"}]}]},
    ]
    with ant.messages.stream(model=model, max_tokens=MAX, messages=messages, tools=[WEATHER_TOOL]) as stream:
        second = stream.get_final_message()
    assert text_of(second) == "Tool results: -3C, snow"
    assert second.stop_reason == "end_turn"


@each
@pytest.mark.parametrize("streamed", [False, True], ids=["plain", "stream"])
def test_parallel_tool_use(ant, model, streamed):
    messages = user('Both [[tool: get_weather {"city": "Rome"}]] [[tool: get_time {"tz": "Europe/Rome"}]]')
    kwargs = dict(model=model, max_tokens=MAX, messages=messages, tools=[WEATHER_TOOL, TIME_TOOL])
    if streamed:
        with ant.messages.stream(**kwargs) as stream:
            check_event_order(list(stream))
            first = stream.get_final_message()
    else:
        first = ant.messages.create(**kwargs)
    assert first.stop_reason == "tool_use"
    uses = [b for b in first.content if b.type == "tool_use"]
    assert [u.name for u in uses] == ["get_weather", "get_time"]
    assert [u.input for u in uses] == [{"city": "Rome"}, {"tz": "Europe/Rome"}]
    assert all(u.id for u in uses) and len({u.id for u in uses}) == 2
    messages += [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": uses[0].id, "content": "22C"},
            {"type": "tool_result", "tool_use_id": uses[1].id, "content": "14:05"},
        ]},
    ]
    second = ant.messages.create(model=model, max_tokens=MAX, messages=messages, tools=[WEATHER_TOOL, TIME_TOOL])
    assert text_of(second) == "Tool results: 22C | 14:05"


# --- JSON ------------------------------------------------------------------------------------------

@each
def test_output_format_json_schema(ant, model):
    msg = ant.messages.create(
        model=model, max_tokens=MAX, messages=user(f"Describe a person {nonce()}"),
        extra_body={"output_format": {"type": "json_schema", "schema": PERSON_SCHEMA}})
    value = json.loads(text_of(msg))
    assert set(PERSON_SCHEMA["required"]) <= set(value), value
    assert isinstance(value["name"], str) and isinstance(value["age"], int) and isinstance(value["tags"], list)


@each
def test_output_format_json_schema_streamed(ant, model):
    with ant.messages.stream(model=model, max_tokens=MAX, messages=user(f"A person {nonce()}"),
                             extra_body={"output_format": {"type": "json_schema", "schema": PERSON_SCHEMA}}) as s:
        final = s.get_final_message()
    value = json.loads(text_of(final))
    assert set(PERSON_SCHEMA["required"]) <= set(value), value


@each
def test_output_config_format_json_schema(ant, model):
    # The SDK's own spelling of structured outputs (anthropic>=0.7x): output_config.format.
    msg = ant.messages.create(model=model, max_tokens=MAX, messages=user(f"Describe a person {nonce()}"),
                              output_config={"format": {"type": "json_schema", "schema": PERSON_SCHEMA}})
    value = json.loads(text_of(msg))
    assert set(PERSON_SCHEMA["required"]) <= set(value), value


class Person(pydantic.BaseModel):
    name: str
    age: int
    tags: list[str]


@each
def test_messages_parse_helper(ant, model):
    msg = ant.messages.parse(model=model, max_tokens=MAX, messages=user(f"A person {nonce()}"), output_format=Person)
    assert isinstance(msg.parsed_output, Person)


@each
def test_json_directive(ant, model):
    msg = ant.messages.create(model=model, max_tokens=MAX, messages=user("data please [[json]]"))
    assert json.loads(text_of(msg)) == {"answer": "mock", "ok": True}


# --- usage, cost, caching --------------------------------------------------------------------------

@each
def test_cost_header_matches_usage(ant, model):
    raw = ant.messages.with_raw_response.create(model=model, max_tokens=MAX, messages=user(f"cost {nonce()} " * 5))
    msg = raw.parse()
    assert raw.headers.get("x-switchyard-model") == model
    assert raw.headers.get("x-switchyard-provider") == MODELS[model]["provider"]
    request_id = raw.headers.get("x-switchyard-request-id")
    assert request_id
    header = raw.headers.get("x-switchyard-cost-usd")
    assert header is not None and "e" not in header.lower(), header
    assert close(float(header), cost_of(model, msg.usage))
    sy = extra(msg)["switchyard"]
    assert sy["request_id"] == request_id and close(sy["cost_usd"], float(header))


CACHE_MODELS = {"m-openai": "m-openai", "m-anthropic": "c-anthropic", "m-gemini": "c-gemini"}


@each
def test_cached_tokens(ant, model):
    if model not in CACHE_MODELS:
        msg = ant.messages.create(model=model, max_tokens=MAX, messages=user("context [[cached: 6]]"))
        assert (msg.usage.cache_read_input_tokens or 0) == 0
        return
    for public in sorted({model, CACHE_MODELS[model]}):
        marker = nonce()
        raw = ant.messages.with_raw_response.create(model=public, max_tokens=MAX,
                                                    messages=user(f"a long shared prefix {marker} [[cached: 6]]"))
        msg = raw.parse()
        assert msg.usage.cache_read_input_tokens == 6, msg.usage
        # Same conversation seen through the OpenAI-style total: input_tokens excludes the cache reads.
        cost = float(raw.headers["x-switchyard-cost-usd"])
        assert close(cost, cost_of(public, msg.usage)), (cost, msg.usage)
        price = MODELS[public]["price"]
        if price.get("cached_input", price["input"]) < price["input"]:
            assert cost < expected_cost(public, prompt_tokens(msg.usage), msg.usage.output_tokens, 0) - 1e-12


@pytest.mark.parametrize("model", sorted(CACHE_MODELS))
def test_cached_tokens_are_not_double_counted(ant, oai, model):
    text = f"shared prefix {nonce()} [[cached: 6]]"
    a = ant.messages.create(model=model, max_tokens=MAX, messages=user(text))
    o = oai.chat.completions.create(model=model, messages=user(text), max_tokens=MAX)
    assert prompt_tokens(a.usage) == o.usage.prompt_tokens, (a.usage, o.usage)
    assert a.usage.input_tokens == o.usage.prompt_tokens - 6


@each
def test_usage_none_is_estimated(ant, model):
    # The upstream reports no usage (Anthropic's wire form: zeros): the gateway estimates and says so.
    msg = ant.messages.create(model=model, max_tokens=MAX, messages=user(f"no usage {nonce()} [[usage: none]]"))
    assert text_of(msg) == expected_default_reply(model)
    sy = extra(msg)["switchyard"]
    assert sy["usage_estimated"] is True, (msg.usage, sy)
    check_usage(msg.usage)


# --- errors ----------------------------------------------------------------------------------------

def anthropic_envelope(response: httpx.Response, error_type: str | None = None) -> dict:
    body = response.json()
    assert body.get("type") == "error", body
    error = body.get("error")
    assert isinstance(error, dict) and isinstance(error.get("type"), str)
    assert isinstance(error.get("message"), str) and error["message"]
    if error_type:
        assert error["type"] == error_type, error
    assert_no_secrets(response.text)
    assert_headers_have_no_secrets(response.headers)
    return error


@each
def test_unknown_model(ant, model):
    bad = f"{model}-does-not-exist"
    with pytest.raises(anthropic.NotFoundError) as info:
        ant.messages.create(model=bad, max_tokens=MAX, messages=user("hi"))
    assert info.value.status_code == 404
    assert bad in info.value.message
    anthropic_envelope(info.value.response, "not_found_error")


@each
def test_upstream_429_keeps_retry_after(ant, model):
    with pytest.raises(anthropic.RateLimitError) as info:
        ant.messages.create(model=ERROR_MODEL[model], max_tokens=MAX, messages=user("[[error: 429 retry-after=2]]"))
    assert info.value.status_code == 429
    assert info.value.response.headers.get("retry-after") == "2"
    anthropic_envelope(info.value.response, "rate_limit_error")


@each
def test_upstream_500(ant, model):
    with pytest.raises(anthropic.InternalServerError) as info:
        ant.messages.create(model=ERROR_MODEL[model], max_tokens=MAX, messages=user("boom [[error: 500]]"))
    assert info.value.status_code == 500
    anthropic_envelope(info.value.response, "api_error")


@each
def test_upstream_503_from_fault(ant, model, mock):
    mock.fault(MODELS[model]["upstream"], "error: 503", 50)
    with pytest.raises(anthropic.InternalServerError) as info:
        ant.messages.create(model=ERROR_MODEL[model], max_tokens=MAX, messages=user(f"hello {nonce()}"))
    assert info.value.status_code == 503
    anthropic_envelope(info.value.response)


def test_upstream_error_response_headers(ant):
    problems = []
    for model in PROVIDER_MODELS:
        with pytest.raises(anthropic.APIStatusError) as info:
            ant.messages.create(model=ERROR_MODEL[model], max_tokens=MAX, messages=user("[[error: 500]]"))
        try:
            check_error_headers(info.value.response, ERROR_MODEL[model])
        except AssertionError as e:
            problems.append(f"{model}: {e}")
    assert not problems, "\n".join(problems)


@each
def test_streamed_upstream_error_before_first_byte(ant, model):
    with pytest.raises(anthropic.RateLimitError) as info:
        with ant.messages.stream(model=ERROR_MODEL[model], max_tokens=MAX,
                                 messages=user("[[error: 429 retry-after=3]]")) as s:
            s.get_final_message()
    assert info.value.response.headers.get("retry-after") == "3"


@each
def test_bad_gateway_key(stack, model):
    client = anthropic.Anthropic(api_key="sk-wrong-key", base_url=stack.gateway, max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as info:
        client.messages.create(model=model, max_tokens=MAX, messages=user("hi"))
    assert info.value.status_code == 401
    anthropic_envelope(info.value.response, "authentication_error")


def test_bearer_auth_token(stack):
    # The SDK's other credential: `auth_token` sends Authorization: Bearer (gateway setups use it).
    client = anthropic.Anthropic(auth_token=GATEWAY_KEY, api_key=None, base_url=stack.gateway, max_retries=0)
    msg = client.messages.create(model="m-ollama", max_tokens=MAX, messages=user("hi"))
    assert text_of(msg) == expected_default_reply("m-ollama")
    client.close()


def test_missing_max_tokens_via_sdk(ant):
    # The SDK's typed create() refuses to omit max_tokens, so go through its generic post().
    with pytest.raises(anthropic.BadRequestError) as info:
        ant.post("/v1/messages", cast_to=anthropic.types.Message,
                 body={"model": "m-openai", "messages": user("hi")})
    assert info.value.status_code == 400
    assert "max_tokens" in info.value.message
    anthropic_envelope(info.value.response, "invalid_request_error")


AUTH = {"x-api-key": GATEWAY_KEY, "anthropic-version": "2023-06-01"}


@pytest.mark.parametrize("payload,field", [
    ({"model": "m-openai", "max_tokens": 10}, "messages"),
    ({"model": "m-openai", "max_tokens": 10, "messages": "hi"}, "messages"),
    ({"model": "m-openai", "max_tokens": "ten", "messages": user("hi")}, "max_tokens"),
    ({"model": "m-openai", "messages": user("hi")}, "max_tokens"),
])
def test_missing_or_wrong_typed_field(http, payload, field):
    r = http.post("/v1/messages", json=payload, headers=AUTH)
    assert r.status_code == 400, r.text
    error = anthropic_envelope(r, "invalid_request_error")
    assert field in error["message"], error


def test_malformed_json_body(http):
    r = http.post("/v1/messages", content=b'{"model": "m-openai", "max_tokens": 5, "messages": [',
                  headers={**AUTH, "content-type": "application/json"})
    assert r.status_code == 400
    anthropic_envelope(r, "invalid_request_error")


def test_missing_key(http):
    r = http.post("/v1/messages", json={"model": "m-openai", "max_tokens": 5, "messages": user("hi")},
                  headers={"anthropic-version": "2023-06-01"})
    assert r.status_code == 401
    anthropic_envelope(r, "authentication_error")


def test_body_over_limit(http):
    big = "x" * (11 * 1024 * 1024)
    r = http.post("/v1/messages", json={"model": "m-openai", "max_tokens": 5, "messages": user(big)}, headers=AUTH)
    assert r.status_code == 413
    anthropic_envelope(r, "request_too_large")


def test_unreachable_upstream_is_502(ant):
    # A Gemini provider: its key may travel in the URL, which must not surface in the error.
    with pytest.raises(anthropic.APIStatusError) as info:
        ant.messages.create(model="m-dead-gemini", max_tokens=MAX, messages=user("anyone?"))
    assert info.value.status_code == 502
    anthropic_envelope(info.value.response)


def test_upstream_timeout_is_504(ant):
    with pytest.raises(anthropic.APIStatusError) as info:
        ant.messages.create(model="m-slow", max_tokens=MAX, messages=user("[[delay: 5000]]"))
    assert info.value.status_code == 504
    anthropic_envelope(info.value.response)


def test_request_log_records_anthropic_protocol_stream(ant, http):
    raw = ant.messages.with_raw_response.create(model="m-ollama", max_tokens=MAX, stream=True,
                                                messages=user(f"log me {nonce()}"))
    request_id = raw.headers["x-switchyard-request-id"]
    events = list(raw.parse())
    delta = next(e for e in events if e.type == "message_delta")
    record = fetch_log_record(http, request_id)
    assert record["protocol"] == "anthropic"
    assert record["model"] == "m-ollama" and record["provider"] == "up-ollama"
    assert record["upstream_model"] == "llama3.2"
    assert record["stream"] is True
    assert record["completion_tokens"] == delta.usage.output_tokens
    assert record["prompt_tokens"] > 0
    assert record["cost_usd"] == 0
    assert record["ttft_ms"] is not None and record["ttft_ms"] >= 0
    assert record["latency_ms"] >= record["ttft_ms"]
