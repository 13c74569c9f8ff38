"""The official `openai` SDK's Responses API (`client.responses.*`) against Switchyard, for every
provider protocol behind the gateway, and the openai-agents SDK's default Runner on a non-OpenAI model."""

from __future__ import annotations

import json

import httpx
import openai
import pydantic
import pytest

from conftest import (
    GATEWAY_KEY, MODELS, PROVIDER_MODELS, close, expected_cost, expected_default_reply, nonce, tools_at_upstream,
)

each = pytest.mark.parametrize("model", PROVIDER_MODELS)

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
        "required": ["city"],
    },
}
TIME = {
    "type": "function",
    "name": "get_time",
    "description": "Current time in a timezone.",
    "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]},
}


class Person(pydantic.BaseModel):
    name: str
    age: int
    tags: list[str]


def extra(obj) -> dict:
    return getattr(obj, "model_extra", None) or {}


@each
def test_plain_text(oai, model):
    raw = oai.responses.with_raw_response.create(model=model, input=f"Hello {nonce()}", instructions="Be brief.")
    resp = raw.parse()
    assert resp.object == "response" and resp.id.startswith("resp_")
    assert resp.status == "completed"
    assert resp.model == model
    assert resp.output_text == expected_default_reply(model)
    message = resp.output[0]
    assert message.type == "message" and message.role == "assistant" and message.status == "completed"
    assert message.content[0].type == "output_text"
    usage = resp.usage
    assert usage.input_tokens > 0 and usage.output_tokens > 0
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    cost = float(raw.headers["x-switchyard-cost-usd"])
    assert close(cost, expected_cost(model, usage.input_tokens, usage.output_tokens, usage.input_tokens_details.cached_tokens), 1e-9)
    assert close(extra(resp)["switchyard"]["cost_usd"], cost, 1e-9)
    assert raw.headers["x-switchyard-model"] == model


@each
def test_instructions_reach_the_upstream_as_its_system_prompt(oai, model, mock):
    marker = nonce()
    oai.responses.create(model=model, input=f"hi {marker}", instructions=f"You are terse {marker}")
    upstream = json.dumps(mock.only_request_containing(marker)["body"])
    assert f"You are terse {marker}" in upstream


@each
def test_streamed_text_with_the_stream_helper(oai, model):
    deltas = []
    with oai.responses.stream(model=model, input=f"Stream {nonce()}") as stream:
        for event in stream:
            if event.type == "response.output_text.delta":
                deltas.append(event.delta)
        final = stream.get_final_response()
    assert "".join(deltas) == expected_default_reply(model)
    assert final.output_text == expected_default_reply(model)
    assert final.status == "completed"
    assert final.usage.output_tokens > 0
    assert close(extra(final)["switchyard"]["cost_usd"], expected_cost(model, final.usage.input_tokens, final.usage.output_tokens), 1e-9)


@each
def test_raw_event_sequence(oai, model):
    events = list(oai.responses.create(model=model, input=f"Events {nonce()}", stream=True))
    types = [e.type for e in events]
    assert types[:2] == ["response.created", "response.in_progress"]
    assert types[-1] == "response.completed"
    for expected in ["response.output_item.added", "response.content_part.added", "response.output_text.delta",
                     "response.output_text.done", "response.content_part.done", "response.output_item.done"]:
        assert expected in types, types
    numbers = [e.sequence_number for e in events]
    assert numbers == list(range(len(events))), numbers
    assert len({e.response.id for e in events if hasattr(e, "response")}) == 1


@each
def test_function_tool_round_trip_with_previous_response_id(oai, model, mock):
    marker = nonce()
    first = oai.responses.create(
        model=model, tools=[WEATHER, TIME],
        input=f'Weather in Paris? {marker} [[tool: get_weather {{"city": "Paris", "unit": "c"}}]]')
    calls = [item for item in first.output if item.type == "function_call"]
    assert len(calls) == 1
    call = calls[0]
    assert call.name == "get_weather" and call.call_id and call.id
    assert json.loads(call.arguments) == {"city": "Paris", "unit": "c"}
    tools = tools_at_upstream(MODELS[model]["protocol"], mock.only_request_containing(marker)["body"])
    assert set(tools) == {"get_weather", "get_time"}

    second = oai.responses.create(
        model=model, tools=[WEATHER, TIME], previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "18C and sunny"}])
    assert second.output_text == "Tool results: 18C and sunny"
    assert second.previous_response_id == first.id
    # The whole conversation reached the upstream: the first turn's user message and tool call too.
    body = json.dumps(mock.requests()[-1]["body"])
    assert marker in body and "18C and sunny" in body


@each
def test_streamed_function_call(oai, model):
    with oai.responses.stream(model=model, tools=[WEATHER, TIME],
                              input='Both [[tool: get_weather {"city": "Lima"}]] [[tool: get_time {"tz": "America/Lima"}]]') as stream:
        argument_deltas = [e for e in stream if e.type == "response.function_call_arguments.delta"]
        final = stream.get_final_response()
    calls = [item for item in final.output if item.type == "function_call"]
    assert [c.name for c in calls] == ["get_weather", "get_time"]
    assert [json.loads(c.arguments) for c in calls] == [{"city": "Lima"}, {"tz": "America/Lima"}]
    assert len({c.call_id for c in calls}) == 2
    assert argument_deltas


@each
def test_structured_output_with_parse(oai, model):
    resp = oai.responses.parse(model=model, input=f"A person {nonce()}", text_format=Person)
    assert isinstance(resp.output_parsed, Person)


@each
def test_json_schema_text_format(oai, model, mock):
    marker = nonce()
    resp = oai.responses.create(
        model=model, input=f"Describe a person {marker}",
        text={"format": {"type": "json_schema", "name": "person", "strict": True, "schema": Person.model_json_schema()}})
    value = json.loads(resp.output_text)
    assert {"name", "age", "tags"} <= set(value)
    assert resp.text.format.type == "json_schema"


def test_retrieve_input_items_and_delete(oai):
    marker = nonce()
    created = oai.responses.create(model="m-openai", input=f"Keep me {marker}", metadata={"ticket": marker})
    fetched = oai.responses.retrieve(created.id)
    assert fetched.id == created.id and fetched.output_text == created.output_text
    assert fetched.metadata == {"ticket": marker}
    items = oai.responses.input_items.list(created.id)
    assert [item.type for item in items.data] == ["message"]
    assert items.data[0].content[0].text == f"Keep me {marker}"
    deleted = oai.responses.delete(created.id)
    assert deleted is None or getattr(deleted, "deleted", True)
    with pytest.raises(openai.NotFoundError):
        oai.responses.retrieve(created.id)


def test_unstored_responses_cannot_be_retrieved(oai):
    created = oai.responses.create(model="m-openai", input=f"Forget me {nonce()}", store=False)
    with pytest.raises(openai.NotFoundError):
        oai.responses.retrieve(created.id)


def member_key(stack, name: str) -> str:
    r = httpx.post(f"{stack.gateway}/v1/switchyard/keys", json={"name": f"{name}-{nonce()}", "role": "member"},
                   headers={"authorization": f"Bearer {GATEWAY_KEY}"}, timeout=30)
    assert r.status_code == 201, r.text
    return r.json()["key"]


def test_another_key_cannot_read_or_continue_a_response(oai, stack):
    alice = openai.OpenAI(base_url=oai.base_url, api_key=member_key(stack, "alice"), max_retries=0)
    other = openai.OpenAI(base_url=oai.base_url, api_key=member_key(stack, "bob"), max_retries=0)
    created = alice.responses.create(model="m-openai", input=f"Private {nonce()}")
    assert alice.responses.retrieve(created.id).id == created.id
    assert oai.responses.retrieve(created.id).id == created.id  # an admin key reads every response
    with pytest.raises(openai.NotFoundError):
        other.responses.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        other.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError) as error:
        other.responses.create(model="m-openai", input="continue", previous_response_id=created.id)
    assert alice.responses.retrieve(created.id).id == created.id
    assert error.value.body["param"] == "previous_response_id"


def test_errors_in_openais_envelope(oai):
    with pytest.raises(openai.NotFoundError):
        oai.responses.create(model="no-such-model", input="hi")
    with pytest.raises(openai.BadRequestError) as error:
        oai.responses.create(model="m-openai", input="hi", temperature=7)
    assert error.value.body["param"] == "temperature"
    with pytest.raises(openai.BadRequestError) as error:
        oai.responses.create(model="m-openai", input=[{"type": "computer_call", "id": "x"}])
    assert error.value.body["param"] == "input[0].type"
    with pytest.raises(openai.NotFoundError) as error:
        oai.responses.create(model="m-openai", input="hi", previous_response_id="resp_nope")
    assert error.value.body["param"] == "previous_response_id"


def test_responses_path_without_v1(stack):
    r = httpx.post(f"{stack.gateway}/responses", json={"model": "m-openai", "input": "hi"},
                   headers={"authorization": f"Bearer {GATEWAY_KEY}"}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["object"] == "response"


def test_openai_agents_runner_with_a_function_tool_on_a_non_openai_model(stack):
    agents = pytest.importorskip("agents")
    from agents import Agent, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled

    set_tracing_disabled(True)
    seen = []

    @function_tool
    def get_weather(city: str) -> str:
        """Current weather for a city."""
        seen.append(city)
        return f"{city}: 21C and clear"

    client = openai.AsyncOpenAI(base_url=f"{stack.gateway}/v1", api_key=GATEWAY_KEY, max_retries=0)
    agent = Agent(name="weather", instructions="Answer with the tool.", tools=[get_weather],
                  model=OpenAIResponsesModel(model="m-anthropic", openai_client=client))
    import asyncio
    result = asyncio.run(Runner.run(agent, 'Weather in Oslo? [[tool: get_weather {"city": "Oslo"}]]'))
    assert seen == ["Oslo"]
    assert result.final_output == "Tool results: Oslo: 21C and clear"


# --- a provider that speaks the Responses API natively (`responses_api: native`) ---------------------

NATIVE_REPLY = "Mock reply from openai-responses model gpt-4o-mini."


def test_native_provider_gets_the_request_passed_through(oai, mock):
    marker = nonce()
    raw = oai.responses.with_raw_response.create(model="n-openai", input=f"native {marker}", instructions="terse",
                                                 include=["reasoning.encrypted_content"])
    resp = raw.parse()
    assert resp.output_text == NATIVE_REPLY
    assert resp.model == "n-openai"
    upstream = mock.only_request_containing(marker)
    assert upstream["path"] == "/v1/responses"
    assert upstream["body"]["model"] == "gpt-4o-mini"
    assert upstream["body"]["include"] == ["reasoning.encrypted_content"]  # passed as sent, not translated
    assert upstream["body"]["instructions"] == "terse"
    cost = float(raw.headers["x-switchyard-cost-usd"])
    assert close(cost, expected_cost("n-openai", resp.usage.input_tokens, resp.usage.output_tokens), 1e-9)
    assert extra(resp)["switchyard"]["native"] == "up-openai-native"
    assert oai.responses.retrieve(resp.id).output_text == NATIVE_REPLY


def test_native_stream_is_relayed_with_switchyards_cost(oai):
    deltas = []
    with oai.responses.stream(model="n-openai", input=f"native stream {nonce()}") as stream:
        for event in stream:
            if event.type == "response.output_text.delta":
                deltas.append(event.delta)
        final = stream.get_final_response()
    assert "".join(deltas) == NATIVE_REPLY == final.output_text
    assert close(extra(final)["switchyard"]["cost_usd"],
                 expected_cost("n-openai", final.usage.input_tokens, final.usage.output_tokens), 1e-9)


def test_native_tool_round_trip_keeps_the_upstreams_conversation(oai, mock):
    marker = nonce()
    first = oai.responses.create(model="n-openai", tools=[WEATHER],
                                 input=f'weather {marker} [[tool: get_weather {{"city": "Oslo"}}]]')
    call = next(item for item in first.output if item.type == "function_call")
    second = oai.responses.create(model="n-openai", tools=[WEATHER], previous_response_id=first.id,
                                  input=[{"type": "function_call_output", "call_id": call.call_id, "output": "-3C"}])
    assert second.output_text == "Tool results: -3C"
    upstream = mock.requests()[-1]["body"]
    assert upstream["previous_response_id"] == first.id  # the upstream keeps its own conversation


def test_a_translated_conversation_continues_on_a_native_model(oai, mock):
    marker = nonce()
    first = oai.responses.create(model="m-anthropic", input=f"first turn {marker}")
    second = oai.responses.create(model="n-openai", input="second turn", previous_response_id=first.id)
    assert second.output_text == NATIVE_REPLY
    upstream = mock.requests()[-1]["body"]
    assert "previous_response_id" not in upstream  # the upstream never saw the first turn: it is expanded
    texts = json.dumps(upstream["input"])
    assert f"first turn {marker}" in texts and expected_default_reply("m-anthropic") in texts and "second turn" in texts
