"""Checks the mock upstream (`switchyard mock`) with the official openai and anthropic SDKs, and the
Gemini and Ollama wire formats with httpx. Usage: python tests/mock_sdk_check.py http://127.0.0.1:PORT
(a mock started without keys). Prints one line per check and a closing 'N passed, N failed'."""

import json
import sys

import anthropic
import httpx
import openai

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:4010"
results = []


def check(name):
    def wrap(fn):
        try:
            fn()
            results.append(True)
            print(f"ok   {name}")
        except Exception as error:  # noqa: BLE001 - report every failure and go on
            results.append(False)
            print(f"FAIL {name}: {type(error).__name__}: {error}")
        return fn

    return wrap


oa = openai.OpenAI(base_url=f"{BASE}/v1", api_key="sk-mock", max_retries=0)
an = anthropic.Anthropic(base_url=BASE, api_key="sk-ant-mock", max_retries=0)
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}


@check("openai: plain completion")
def _():
    r = oa.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}])
    assert r.choices[0].message.content == "Mock reply from openai model gpt-4o-mini.", r
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0


@check("openai: stream with include_usage")
def _():
    stream = oa.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "[[reply: one two three]] [[cached: 2]]"}],
        stream=True, stream_options={"include_usage": True},
    )
    text, usage, finish = "", None, None
    for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
        if chunk.usage:
            usage = chunk.usage
    assert text == "one two three", text
    assert finish == "stop"
    assert usage and usage.completion_tokens == 4 and usage.prompt_tokens_details.cached_tokens == 2, usage


@check("openai: parallel tool calls, parsed arguments")
def _():
    r = oa.chat.completions.create(
        model="gpt-4o", tools=[WEATHER],
        messages=[{"role": "user", "content": '[[tool: get_weather {"city": "Paris"}]] [[tool: get_weather {"city": "Rome"}]]'}],
    )
    calls = r.choices[0].message.tool_calls
    assert r.choices[0].finish_reason == "tool_calls"
    assert [c.id for c in calls] == ["call_mock_1", "call_mock_2"]
    assert [json.loads(c.function.arguments)["city"] for c in calls] == ["Paris", "Rome"]


@check("openai: streamed tool call through the SDK's stream helper")
def _():
    with oa.chat.completions.stream(
        model="gpt-4o", tools=[WEATHER], messages=[{"role": "user", "content": '[[tool: get_weather {"city": "Oslo"}]]'}],
    ) as stream:
        for _event in stream:
            pass
        final = stream.get_final_completion()
    call = final.choices[0].message.tool_calls[0]
    assert call.id == "call_mock_1" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Oslo"}


@check("openai: tool result round trip")
def _():
    messages = [{"role": "user", "content": '[[tool: get_weather {"city": "Paris"}]]'}]
    first = oa.chat.completions.create(model="gpt-4o", tools=[WEATHER], messages=messages)
    call = first.choices[0].message.tool_calls[0]
    messages += [first.choices[0].message.model_dump(exclude_none=True), {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21C"}]
    second = oa.chat.completions.create(model="gpt-4o", tools=[WEATHER], messages=messages)
    assert second.choices[0].message.content == "Tool results: sunny, 21C", second


@check("openai: structured output parse")
def _():
    from pydantic import BaseModel

    class Inner(BaseModel):
        ok: bool

    class Answer(BaseModel):
        name: str
        count: int
        inner: Inner

    r = oa.chat.completions.parse(model="gpt-4o", messages=[{"role": "user", "content": "extract"}], response_format=Answer)
    parsed = r.choices[0].message.parsed
    assert parsed == Answer(name="mock", count=1, inner=Inner(ok=True)), parsed


@check("openai: embeddings float and base64")
def _():
    r = oa.embeddings.create(model="text-embedding-3-small", input=["a", "b"], dimensions=8)
    assert len(r.data) == 2 and len(r.data[0].embedding) == 8
    # The SDK asks for base64 by default and decodes it itself.
    r2 = oa.embeddings.create(model="text-embedding-3-small", input="a", dimensions=8)
    assert all(abs(x - y) < 1e-6 for x, y in zip(r.data[0].embedding, r2.data[0].embedding))


@check("openai: errors raise the matching exception classes")
def _():
    cases = {"429 retry-after=0": openai.RateLimitError, "401": openai.AuthenticationError, "404": openai.NotFoundError,
             "400": openai.BadRequestError, "500": openai.InternalServerError}
    for status, cls in cases.items():
        try:
            oa.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": f"[[error: {status}]]"}])
        except cls as error:
            assert error.status_code == int(status.split()[0])
            continue
        raise AssertionError(f"{status} did not raise {cls.__name__}")


@check("openai: models list")
def _():
    assert any(m.id == "gpt-4o-mini" for m in oa.models.list())


@check("anthropic: plain message")
def _():
    m = an.messages.create(model="claude-haiku-4-5", max_tokens=64, messages=[{"role": "user", "content": "hi"}])
    assert m.content[0].text == "Mock reply from anthropic model claude-haiku-4-5."
    assert m.stop_reason == "end_turn" and m.usage.input_tokens > 0


@check("anthropic: stream text and final message")
def _():
    with an.messages.stream(model="claude", max_tokens=64, messages=[{"role": "user", "content": "[[reply: Hello there world]] [[cached: 2]]"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Hello there world", text
    assert final.content[0].text == "Hello there world"
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 5 and final.usage.cache_read_input_tokens == 2, final.usage


@check("anthropic: streamed tool_use with parsed input")
def _():
    with an.messages.stream(
        model="claude", max_tokens=64,
        tools=[{"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
        messages=[{"role": "user", "content": '[[tool: get_weather {"city": "Oslo", "days": [1, 2]}]]'}],
    ) as stream:
        final = stream.get_final_message()
    block = final.content[0]
    assert block.type == "tool_use" and block.id == "toolu_mock_1" and block.name == "get_weather"
    assert block.input == {"city": "Oslo", "days": [1, 2]}, block.input
    assert final.stop_reason == "tool_use"


@check("anthropic: tool result round trip")
def _():
    messages = [{"role": "user", "content": '[[tool: get_weather {"city": "Oslo"}]]'}]
    first = an.messages.create(model="claude", max_tokens=64, messages=messages)
    block = first.content[0]
    assert block.type == "tool_use"
    messages += [
        {"role": "assistant", "content": [b.model_dump() for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": block.id, "content": "rainy"}]},
    ]
    second = an.messages.create(model="claude", max_tokens=64, messages=messages)
    assert second.content[0].text == "Tool results: rainy", second


@check("anthropic: errors raise the matching exception classes")
def _():
    cases = {"429": anthropic.RateLimitError, "401": anthropic.AuthenticationError, "404": anthropic.NotFoundError,
             "400": anthropic.BadRequestError, "500": anthropic.InternalServerError, "529": anthropic.InternalServerError}
    for status, cls in cases.items():
        try:
            an.messages.create(model="claude", max_tokens=8, messages=[{"role": "user", "content": f"[[error: {status}]]"}])
        except cls as error:
            assert error.status_code == int(status)
            assert error.body["error"]["type"], error.body
            continue
        raise AssertionError(f"{status} did not raise {cls.__name__}")


@check("anthropic: missing max_tokens is a 400")
def _():
    r = httpx.post(f"{BASE}/v1/messages", headers={"anthropic-version": "2023-06-01"}, json={"model": "c", "messages": []})
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"


@check("sdk: a stream cut mid-way raises, and never completes")
def _():
    try:
        for _chunk in oa.chat.completions.create(
            model="m", stream=True, messages=[{"role": "user", "content": "[[reply: a b c d]] [[disconnect-after: 3]]"}]):
            pass
    except Exception as error:  # noqa: BLE001 - httpx or httpcore, depending on where the cut lands
        assert isinstance(error, (openai.APIConnectionError, anthropic.APIConnectionError)) or "closed" in str(error), error
    else:
        raise AssertionError("openai stream finished")
    try:
        with an.messages.stream(model="c", max_tokens=8, messages=[{"role": "user", "content": "[[disconnect-after: 4]]"}]) as stream:
            stream.get_final_message()
    except Exception as error:  # noqa: BLE001
        assert isinstance(error, (openai.APIConnectionError, anthropic.APIConnectionError)) or "closed" in str(error), error
    else:
        raise AssertionError("anthropic stream finished")


def sse(text):
    return [json.loads(line[6:]) for line in text.replace("\r\n", "\n").split("\n") if line.startswith("data: ")]


@check("gemini: generateContent, stream, function call, embeddings, error")
def _():
    url = f"{BASE}/v1beta/models/gemini-2.0-flash"
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    r = httpx.post(f"{url}:generateContent", json=body, headers={"x-goog-api-key": "k"}).json()
    assert r["candidates"][0]["content"]["parts"][0]["text"] == "Mock reply from gemini model gemini-2.0-flash."
    assert r["candidates"][0]["finishReason"] == "STOP" and r["usageMetadata"]["totalTokenCount"] > 0
    s = httpx.post(f"{url}:streamGenerateContent?alt=sse&key=k", json=body)
    assert s.headers["content-type"].startswith("text/event-stream") and "[DONE]" not in s.text
    chunks = sse(s.text)
    assert "".join(p.get("text", "") for c in chunks for p in c["candidates"][0]["content"]["parts"]) == "Mock reply from gemini model gemini-2.0-flash."
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP" and "usageMetadata" in chunks[-1]
    call = httpx.post(f"{url}:generateContent", json={"contents": [{"role": "user", "parts": [{"text": '[[tool: f {"x": 1}]]'}]}]}).json()
    assert call["candidates"][0]["content"]["parts"][0]["functionCall"] == {"name": "f", "args": {"x": 1}}
    e = httpx.post(f"{BASE}/v1beta/models/text-embedding-004:embedContent", json={"content": {"parts": [{"text": "a"}]}}).json()
    assert len(e["embedding"]["values"]) == 16
    b = httpx.post(f"{BASE}/v1beta/models/text-embedding-004:batchEmbedContents",
                   json={"requests": [{"model": "models/text-embedding-004", "content": {"parts": [{"text": t}]}} for t in "ab"]}).json()
    assert len(b["embeddings"]) == 2
    err = httpx.post(f"{url}:generateContent", json={"contents": [{"role": "user", "parts": [{"text": "[[error: 429]]"}]}]})
    assert err.status_code == 429 and err.json()["error"] == {"code": 429, "message": err.json()["error"]["message"], "status": "RESOURCE_EXHAUSTED"}


@check("ollama: NDJSON stream by default, non-stream, tool calls, embed, tags, error")
def _():
    r = httpx.post(f"{BASE}/api/chat", json={"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}]})
    lines = [json.loads(line) for line in r.text.splitlines() if line]
    assert r.headers["content-type"] == "application/x-ndjson" and len(lines) >= 3
    assert lines[-1]["done"] is True and lines[-1]["done_reason"] == "stop" and lines[-1]["eval_count"] > 0
    assert "".join(line["message"]["content"] for line in lines) == "Mock reply from ollama model llama3.2."
    t = httpx.post(f"{BASE}/api/chat", json={"model": "llama3.2", "stream": False, "messages": [{"role": "user", "content": '[[tool: f {"x": 1}]]'}]}).json()
    assert t["message"]["tool_calls"][0]["function"] == {"name": "f", "arguments": {"x": 1}} and t["done_reason"] == "stop"
    e = httpx.post(f"{BASE}/api/embed", json={"model": "nomic-embed-text", "input": ["a", "b"]}).json()
    assert len(e["embeddings"]) == 2 and e["prompt_eval_count"] > 0
    assert httpx.get(f"{BASE}/api/tags").json()["models"]
    err = httpx.post(f"{BASE}/api/chat", json={"model": "m", "messages": [{"role": "user", "content": "[[error: 404]]"}]})
    assert err.status_code == 404 and isinstance(err.json()["error"], str)


@check("admin: recorded requests and faults over HTTP")
def _():
    httpx.delete(f"{BASE}/_mock/requests").raise_for_status()
    httpx.post(f"{BASE}/_mock/faults", json={"model": "flaky", "fault": "error: 503", "count": 1}).raise_for_status()
    try:
        oa.chat.completions.create(model="flaky", messages=[{"role": "user", "content": "x"}])
        raise AssertionError("the fault did not apply")
    except openai.InternalServerError as error:
        assert error.status_code == 503
    assert oa.chat.completions.create(model="flaky", messages=[{"role": "user", "content": "x"}]).choices[0].message.content
    recorded = httpx.get(f"{BASE}/_mock/requests").json()
    assert [r["protocol"] for r in recorded] == ["openai", "openai"]
    assert recorded[0]["headers"]["authorization"] == "Bearer sk-mock" and recorded[0]["body"]["model"] == "flaky"
    httpx.delete(f"{BASE}/_mock/faults").raise_for_status()


passed = sum(results)
print(f"{passed} passed, {len(results) - passed} failed")
sys.exit(0 if passed == len(results) else 1)
