"""The rest of the API surface clients call (issue 19), through the official SDKs: models by id,
legacy completions, embeddings from token ids, Anthropic token counting, paths without /v1, capped
Anthropic max_tokens, and Gemini tool results that are not JSON objects."""

from __future__ import annotations

import json

import anthropic
import httpx
import openai
import pytest

from conftest import EMBEDDING_MODEL, GATEWAY_KEY, MODELS, expected_default_reply, nonce

AUTH = {"authorization": f"Bearer {GATEWAY_KEY}"}


# --- GET /v1/models/{id} -------------------------------------------------------------------------

def test_models_retrieve(oai):
    model = oai.models.retrieve("m-anthropic")
    assert model.id == "m-anthropic" and model.object == "model"
    assert model.owned_by == MODELS["m-anthropic"]["provider"]
    assert model.created == 0
    listed = {m.id for m in oai.models.list().data}
    assert model.id in listed
    with pytest.raises(openai.NotFoundError) as info:
        oai.models.retrieve("m-no-such-model")
    assert "m-no-such-model" in info.value.message


def test_models_retrieve_anthropic_shape(ant):
    model = ant.models.retrieve("m-gemini")
    assert model.id == "m-gemini" and model.type == "model"
    with pytest.raises(anthropic.NotFoundError):
        ant.models.retrieve("m-no-such-model")


# --- POST /v1/completions ------------------------------------------------------------------------

@pytest.mark.parametrize("model", ["m-openai", "m-anthropic", "m-gemini", "m-ollama"])
def test_completions_create(oai, mock, model):
    marker = nonce()
    raw = oai.completions.with_raw_response.create(model=model, prompt=f"Once upon a time {marker}", max_tokens=30,
                                                   temperature=0.2)
    completion = raw.parse()
    assert completion.object == "text_completion" and completion.id.startswith("cmpl-")
    assert len(completion.choices) == 1
    choice = completion.choices[0]
    assert choice.text == expected_default_reply(model)
    assert choice.index == 0 and choice.finish_reason == "stop" and choice.logprobs is None
    assert completion.usage.prompt_tokens > 0 and completion.usage.completion_tokens > 0
    assert float(raw.headers["x-switchyard-cost-usd"]) >= 0 and raw.headers["x-switchyard-model"] == model
    # The prompt went upstream as a chat request through the normal pipeline, with its cap.
    upstream = mock.only_request_containing(marker)
    assert upstream["protocol"] == MODELS[model]["protocol"], upstream


def test_completions_stream(oai):
    stream = oai.completions.create(model="m-anthropic", prompt="[[reply: alpha beta gamma]]", max_tokens=20,
                                    stream=True, stream_options={"include_usage": True})
    texts, finishes, usage = [], [], None
    for chunk in stream:
        assert chunk.object == "text_completion"
        for choice in chunk.choices:
            texts.append(choice.text)
            if choice.finish_reason:
                finishes.append(choice.finish_reason)
        if chunk.usage:
            usage = chunk.usage
    assert "".join(texts) == "alpha beta gamma"
    assert finishes == ["stop"]
    assert usage is not None and usage.completion_tokens > 0


def test_completions_refuses_what_it_cannot_do(oai):
    with pytest.raises(openai.BadRequestError) as info:
        oai.completions.create(model="m-openai", prompt="x", n=2)
    assert info.value.body["param"] == "n"
    with pytest.raises(openai.BadRequestError) as info:
        oai.completions.create(model="m-openai", prompt="x", suffix="after")
    assert info.value.body["param"] == "suffix"


# --- POST /v1/embeddings with token ids ----------------------------------------------------------

def test_embeddings_from_token_ids(oai, mock):
    resp = oai.embeddings.create(model=EMBEDDING_MODEL, input=[[15339, 1917], [42]])
    assert [d.index for d in resp.data] == [0, 1]
    # The ids reached the upstream verbatim (the mock embeds them as their text form).
    upstream = mock.requests()[-1]
    assert upstream["body"]["input"] == [[15339, 1917], [42]], upstream["body"]
    as_text = oai.embeddings.create(model=EMBEDDING_MODEL, input=["15339 1917", "42"])
    assert [d.embedding for d in resp.data] == [d.embedding for d in as_text.data]


def test_embeddings_token_ids_refused_where_only_text_works(http):
    for bad, param in (([[1, -5]], "input[0][1]"), ([[1, 2**31]], "input[0][1]"), ([1, 2.5], "input[1]"),
                       ([[1], "x"], "input[1]")):
        r = http.post("/v1/embeddings", headers=AUTH, json={"model": EMBEDDING_MODEL, "input": bad})
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["error"]["param"] == param, (bad, r.text)


# --- POST /v1/messages/count_tokens --------------------------------------------------------------

def test_count_tokens_exact_for_anthropic(ant, mock):
    raw = ant.messages.with_raw_response.count_tokens(
        model="m-anthropic", system="Be brief.", messages=[{"role": "user", "content": "How many tokens is this?"}])
    count = raw.parse()
    # The mock's own count (its chat usage formula), not the gateway's estimate: it was asked upstream.
    assert count.input_tokens == 17
    assert "x-switchyard-tokens-estimated" not in raw.headers
    upstream = mock.requests()[-1]
    assert upstream["path"] == "/v1/messages/count_tokens"
    assert upstream["body"]["model"] == MODELS["m-anthropic"]["upstream"] and "max_tokens" not in upstream["body"]


def test_count_tokens_estimated_elsewhere(ant, mock):
    raw = ant.messages.with_raw_response.count_tokens(
        model="m-openai", messages=[{"role": "user", "content": "How many tokens is this?"}])
    assert raw.parse().input_tokens > 0
    assert raw.headers["x-switchyard-tokens-estimated"] == "true"
    assert mock.requests() == []  # nothing was sent upstream
    with pytest.raises(anthropic.NotFoundError):
        ant.messages.count_tokens(model="m-no-such-model", messages=[{"role": "user", "content": "x"}])


# --- paths without /v1 ---------------------------------------------------------------------------

def test_messages_without_v1(stack):
    # httpx straight at /messages (a base URL with no /v1, as some clients build it).
    r = httpx.post(f"{stack.gateway}/messages", headers={**AUTH, "anthropic-version": "2023-06-01"},
                   json={"model": "m-gemini", "max_tokens": 50, "messages": [{"role": "user", "content": "Hi"}]},
                   timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["type"] == "message"
    assert r.json()["content"][0]["text"] == expected_default_reply("m-gemini")
    # The Anthropic envelope for errors there too.
    bad = httpx.post(f"{stack.gateway}/messages", headers=AUTH, json={"model": "m-gemini"}, timeout=30)
    assert bad.status_code == 400 and bad.json()["type"] == "error", bad.text


def test_openai_sdk_without_v1(stack):
    client = openai.OpenAI(api_key=GATEWAY_KEY, base_url=stack.gateway, max_retries=0, timeout=30)
    try:
        assert client.models.retrieve("m-openai").id == "m-openai"
        assert client.completions.create(model="m-openai", prompt="hi").choices[0].text == expected_default_reply("m-openai")
        assert client.chat.completions.create(model="m-openai", messages=[{"role": "user", "content": "hi"}]).choices
    finally:
        client.close()


# --- Anthropic max_tokens past the model's window ------------------------------------------------

def test_anthropic_max_tokens_capped_to_the_window(ant, mock):
    # m-openai has a 128000-token window; LiteLLM sends max_tokens=128000 for models it does not know.
    raw = ant.messages.with_raw_response.create(
        model="m-openai", max_tokens=128000, messages=[{"role": "user", "content": "Hi"}])
    assert raw.parse().content[0].text == expected_default_reply("m-openai")
    asked, sent = raw.headers["x-switchyard-max-tokens-capped"].split("->")
    assert asked == "128000" and 0 < int(sent) < 128000
    upstream = mock.requests()[-1]
    assert upstream["body"]["max_tokens"] == int(sent), upstream["body"]


# --- Gemini tool results that are not objects ----------------------------------------------------

@pytest.mark.parametrize("result,expected", [('"18C"', {"result": "18C"}), ("42", {"result": 42}),
                                             ("[1, 2]", {"result": [1, 2]}),
                                             ('{"temp": 18}', {"temp": 18}),
                                             ("18C and sunny", {"result": "18C and sunny"})])
def test_gemini_tool_result_shapes(oai, mock, result, expected):
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
    messages = [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": result},
    ]
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    reply = oai.chat.completions.create(model="m-gemini", messages=messages, tools=[tool])
    upstream = mock.requests()[-1]["body"]
    parts = [part for content in upstream["contents"] for part in content["parts"] if "functionResponse" in part]
    assert len(parts) == 1, upstream
    assert parts[0]["functionResponse"]["response"] == expected, parts
    # And the model saw it: the mock echoes the tool result it received.
    echoed = expected["result"] if list(expected) == ["result"] else expected
    text = echoed if isinstance(echoed, str) else json.dumps(echoed, separators=(",", ":"), sort_keys=True)
    assert reply.choices[0].message.content == f"Tool results: {text}"
