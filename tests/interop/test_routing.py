"""The official SDKs through a failover group and the auto route (issue 3: routing must be invisible
to clients). `g-failover` tries an unreachable deployment first; `auto` sends easy prompts to the free
tier and hard ones to the strong tier."""
import json

import anthropic
import openai
import pytest

from conftest import MODELS, assert_no_secrets, close, expected_cost, expected_default_reply, fetch_log_record

# route -> (deployment expected to answer an easy prompt, an easy prompt)
ROUTES = {"g-failover": "m-anthropic", "auto": "m-ollama"}
each = pytest.mark.parametrize("route", list(ROUTES))

WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


@each
def test_openai_plain_through_route(oai, http, route):
    raw = oai.chat.completions.with_raw_response.create(model=route, messages=[{"role": "user", "content": "Hello"}])
    completion = raw.parse()
    served = ROUTES[route]
    assert completion.choices[0].message.content == expected_default_reply(served)
    assert raw.headers["x-switchyard-model"] == served
    assert raw.headers["x-switchyard-route"].startswith(f"{route}: ")
    if route == "g-failover":
        assert raw.headers["x-switchyard-route"] == "g-failover: m-dead(502) -> m-anthropic(200)"
        assert raw.headers["x-switchyard-attempts"] == "2"
    usage = completion.usage
    assert close(float(raw.headers["x-switchyard-cost-usd"]),
                 expected_cost(served, usage.prompt_tokens, usage.completion_tokens))
    record = fetch_log_record(http, raw.headers["x-switchyard-request-id"])
    assert record["route"]["requested"] == route
    assert [a["deployment"] for a in record["route"]["attempts"]][-1] == served
    assert_no_secrets(raw.http_response.text)


@each
def test_openai_stream_through_route(oai, route):
    stream = oai.chat.completions.create(model=route, stream=True, stream_options={"include_usage": True},
                                         messages=[{"role": "user", "content": "[[reply: one two three]]"}])
    text, usage, extension = "", None, None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
        if chunk.usage:
            usage = chunk.usage
            extension = (chunk.model_extra or {}).get("switchyard")
    assert text == "one two three"
    assert usage and usage.completion_tokens > 0
    assert extension and extension["model"] == ROUTES[route] and extension["route"] == route


@each
@pytest.mark.parametrize("stream", [False, True])
def test_openai_tool_round_trip_through_route(oai, route, stream):
    prompt = '[[tool: get_weather {"city": "Oslo"}]]'
    messages = [{"role": "user", "content": prompt}]
    if stream:
        calls = {}
        for chunk in oai.chat.completions.create(model=route, messages=messages, tools=[WEATHER], stream=True):
            for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
                entry = calls.setdefault(delta.index, {"id": None, "name": "", "arguments": ""})
                entry["id"] = delta.id or entry["id"]
                entry["name"] += (delta.function.name or "") if delta.function else ""
                entry["arguments"] += (delta.function.arguments or "") if delta.function else ""
        call = calls[0]
        call_id, name, arguments = call["id"], call["name"], call["arguments"]
    else:
        message = oai.chat.completions.create(model=route, messages=messages, tools=[WEATHER]).choices[0].message
        call_id, name, arguments = message.tool_calls[0].id, message.tool_calls[0].function.name, message.tool_calls[0].function.arguments
    assert name == "get_weather" and json.loads(arguments) == {"city": "Oslo"}
    follow = oai.chat.completions.create(model=route, tools=[WEATHER], messages=messages + [
        {"role": "assistant", "content": None, "tool_calls": [{"id": call_id, "type": "function",
                                                               "function": {"name": name, "arguments": arguments}}]},
        {"role": "tool", "tool_call_id": call_id, "content": "sunny"}])
    assert follow.choices[0].message.content == "Tool results: sunny"


@each
def test_openai_json_schema_through_route(oai, route):
    completion = oai.chat.completions.create(
        model=route, messages=[{"role": "user", "content": "Give me a city."}],
        response_format={"type": "json_schema", "json_schema": {"name": "city", "schema": {
            "type": "object", "properties": {"name": {"type": "string"}, "population": {"type": "integer"}},
            "required": ["name", "population"]}}})
    value = json.loads(completion.choices[0].message.content)
    assert set(value) >= {"name", "population"}


@each
def test_anthropic_client_through_route(ant, route):
    raw = ant.messages.with_raw_response.create(model=route, max_tokens=100, messages=[{"role": "user", "content": "Hello"}])
    message = raw.parse()
    assert message.content[0].text == expected_default_reply(ROUTES[route])
    assert raw.headers["x-switchyard-model"] == ROUTES[route]
    with ant.messages.stream(model=route, max_tokens=100, messages=[{"role": "user", "content": "[[reply: alpha beta]]"}]) as stream:
        final = stream.get_final_message()
    assert final.content[0].text == "alpha beta" and final.usage.output_tokens > 0
    tools = ant.messages.create(model=route, max_tokens=100, tools=[{
        "name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
        messages=[{"role": "user", "content": '[[tool: get_weather {"city": "Rome"}]]'}])
    use = [block for block in tools.content if block.type == "tool_use"][0]
    assert use.input == {"city": "Rome"} and tools.stop_reason == "tool_use"


def test_auto_route_sends_hard_prompts_to_the_strong_tier(oai, ant, http):
    raw = oai.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": "Please prove that there are infinitely many primes."}])
    # The strong tier is g-failover; within a tier the cheapest deployment goes first (m-gemini).
    assert raw.headers["x-switchyard-model"] == "m-gemini"
    record = fetch_log_record(http, raw.headers["x-switchyard-request-id"])
    assert record["route"]["kind"] == "auto"
    assert record["route"]["features"]["difficulty"] == 3 and record["route"]["features"]["tier"] == "strong"
    message = ant.messages.create(model="auto", max_tokens=50, messages=[{"role": "user", "content": "hi"}])
    assert message.content[0].text == expected_default_reply("m-ollama")


def test_route_constraints_from_header_and_body(oai):
    local = oai.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": "hi"}],
        extra_headers={"x-switchyard-route": json.dumps({"ignore": ["m-ollama"]})})
    assert local.headers["x-switchyard-model"] == "m-gemini"
    body = oai.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": "hi"}],
        extra_body={"switchyard": {"route": {"only": ["m-gemini"]}}})
    assert body.headers["x-switchyard-model"] == "m-gemini"
    with pytest.raises(openai.BadRequestError) as failure:
        oai.chat.completions.create(model="auto", messages=[{"role": "user", "content": "hi"}],
                                    extra_body={"switchyard": {"route": {"privacy": "local", "require": ["vision"]}}})
    assert "auto" in str(failure.value)


def test_every_deployment_failing_surfaces_the_upstream_error(oai, ant, mock):
    for upstream in ("claude-3-5-haiku-latest", "gemini-2.0-flash"):
        mock.fault(upstream, "error: 429 retry-after=1", count=-1)
    with pytest.raises(openai.RateLimitError) as failure:
        oai.with_options(max_retries=0).chat.completions.create(model="g-failover", messages=[{"role": "user", "content": "hi"}])
    assert failure.value.response.headers.get("retry-after") == "1"
    assert_no_secrets(failure.value.response.text)
    mock.http.delete("/_mock/faults")
    assert ant.messages.create(model="g-failover", max_tokens=20, messages=[{"role": "user", "content": "hi"}]).content
