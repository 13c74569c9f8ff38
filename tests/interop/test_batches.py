"""Issue 19: the OpenAI Files + Batch API and Anthropic Message Batches, executed by the gateway
over any model, through the official SDKs."""

from __future__ import annotations

import io
import json
import time

import anthropic
import openai
import pytest

from conftest import BATCH_DISCOUNT, GATEWAY_KEY, MODELS, expected_default_reply, nonce

POLL_TIMEOUT_S = 60.0


def jsonl(lines: list[dict]) -> bytes:
    return ("\n".join(json.dumps(line) for line in lines) + "\n").encode()


def chat_line(custom_id: str, model: str, text: str) -> dict:
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": model, "messages": [{"role": "user", "content": text}]}}


def upload(client: openai.OpenAI, lines: list[dict]):
    return client.files.create(file=("batch.jsonl", io.BytesIO(jsonl(lines)), "application/jsonl"), purpose="batch")


def wait_batch(client: openai.OpenAI, batch_id: str, done=("completed", "failed", "cancelled", "expired")):
    deadline = time.monotonic() + POLL_TIMEOUT_S
    while True:
        batch = client.batches.retrieve(batch_id)
        if batch.status in done:
            return batch
        assert time.monotonic() < deadline, f"batch {batch_id} still {batch.status} after {POLL_TIMEOUT_S}s"
        time.sleep(0.2)


def read_lines(client: openai.OpenAI, file_id: str | None) -> dict[str, dict]:
    if file_id is None:
        return {}
    text = client.files.content(file_id).text
    out = {}
    for raw in text.splitlines():
        if raw.strip():
            line = json.loads(raw)
            out[line["custom_id"]] = line
    return out


@pytest.fixture(scope="module")
def member(stack):
    """A second, member key (and an OpenAI client using it)."""
    import httpx
    r = httpx.post(f"{stack.gateway}/v1/switchyard/keys", json={"name": f"batch-member-{nonce()}", "role": "member"},
                   headers={"authorization": f"Bearer {GATEWAY_KEY}"})
    assert r.status_code == 201, r.text
    client = openai.OpenAI(api_key=r.json()["key"], base_url=f"{stack.gateway}/v1", max_retries=0, timeout=30)
    yield client
    client.close()


# MARK: Files


def test_file_upload_retrieve_list_content_delete(oai):
    lines = [chat_line("a", "m-openai", "hi")]
    created = upload(oai, lines)
    assert created.object == "file" and created.purpose == "batch" and created.filename == "batch.jsonl"
    assert created.bytes == len(jsonl(lines)) and created.id.startswith("file-")
    assert oai.files.retrieve(created.id).bytes == created.bytes
    assert oai.files.content(created.id).content == jsonl(lines)
    assert created.id in [f.id for f in oai.files.list(purpose="batch")]
    deleted = oai.files.delete(created.id)
    assert deleted.deleted is True and deleted.id == created.id
    with pytest.raises(openai.NotFoundError):
        oai.files.retrieve(created.id)


def test_file_with_other_purpose_is_refused_naming_purpose(oai):
    with pytest.raises(openai.BadRequestError) as info:
        oai.files.create(file=("x.jsonl", io.BytesIO(b"{}\n"), "application/jsonl"), purpose="fine-tune")
    assert info.value.body["param"] == "purpose"


# MARK: OpenAI batches


def test_chat_batch_over_every_provider_with_an_error_line(oai, http, mock):
    marker = nonce()
    lines = [chat_line(f"ok-{model}", model, f"hello {marker}") for model in ("m-openai", "m-anthropic", "m-gemini", "m-ollama")]
    # A body the gateway refuses (no messages) lands in the error file with its 400 answer.
    lines.append({"custom_id": "bad", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "m-openai"}})
    # A model that does not exist: a 404 answer in the error file.
    lines.append(chat_line("nomodel", "no-such-model", "x"))
    file = upload(oai, lines)
    batch = oai.batches.create(input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h",
                               metadata={"run": marker})
    assert batch.object == "batch" and batch.status in ("validating", "in_progress") and batch.metadata == {"run": marker}
    batch = wait_batch(oai, batch.id)
    assert batch.status == "completed", batch
    assert batch.request_counts.total == 6 and batch.request_counts.completed == 4 and batch.request_counts.failed == 2
    assert batch.completed_at and batch.in_progress_at and batch.finalizing_at
    output, errors = read_lines(oai, batch.output_file_id), read_lines(oai, batch.error_file_id)
    assert set(output) == {f"ok-{m}" for m in ("m-openai", "m-anthropic", "m-gemini", "m-ollama")}
    for model in ("m-openai", "m-anthropic", "m-gemini", "m-ollama"):
        line = output[f"ok-{model}"]
        assert line["error"] is None and line["id"].startswith("batch_req_")
        assert line["response"]["status_code"] == 200 and line["response"]["request_id"].startswith("req_")
        assert line["response"]["body"]["choices"][0]["message"]["content"] == expected_default_reply(model)
    assert set(errors) == {"bad", "nomodel"}
    assert errors["bad"]["response"]["status_code"] == 400
    assert errors["bad"]["response"]["body"]["error"]["param"] == "messages"
    assert errors["nomodel"]["response"]["status_code"] == 404
    # Each good line ran exactly once upstream.
    assert len(mock.requests_containing(f"hello {marker}")) == 4
    # The output file belongs to the caller and says what it is.
    assert oai.files.retrieve(batch.output_file_id).purpose == "batch_output"


def test_batch_lines_are_priced_with_the_batch_discount(oai):
    file = upload(oai, [chat_line("c", "m-openai", f"price me {nonce()}")])
    batch = wait_batch(oai, oai.batches.create(input_file_id=file.id, endpoint="/v1/chat/completions",
                                               completion_window="24h").id)
    body = read_lines(oai, batch.output_file_id)["c"]["response"]["body"]
    usage, price = body["usage"], MODELS["m-openai"]["price"]
    full = (usage["prompt_tokens"] * price["input"] + usage["completion_tokens"] * price["output"]) / 1e6
    assert full > 0
    assert body["switchyard"]["cost_usd"] == pytest.approx(full * (1 - BATCH_DISCOUNT), rel=1e-9)


def test_embeddings_and_responses_batches(oai):
    emb = upload(oai, [{"custom_id": "e1", "method": "POST", "url": "/v1/embeddings",
                        "body": {"model": "e-openai", "input": ["one", "two"]}}])
    batch = wait_batch(oai, oai.batches.create(input_file_id=emb.id, endpoint="/v1/embeddings", completion_window="24h").id)
    body = read_lines(oai, batch.output_file_id)["e1"]["response"]["body"]
    assert body["object"] == "list" and len(body["data"]) == 2 and len(body["data"][0]["embedding"]) > 0
    resp = upload(oai, [{"custom_id": "r1", "method": "POST", "url": "/v1/responses",
                         "body": {"model": "m-anthropic", "input": "hi"}}])
    batch = wait_batch(oai, oai.batches.create(input_file_id=resp.id, endpoint="/v1/responses", completion_window="24h").id)
    body = read_lines(oai, batch.output_file_id)["r1"]["response"]["body"]
    assert body["object"] == "response" and body["output"][0]["content"][0]["text"] == expected_default_reply("m-anthropic")


def test_invalid_input_file_fails_the_batch_with_line_errors(oai, mock):
    marker = nonce()
    lines = [chat_line("dup", "m-openai", marker), chat_line("dup", "m-openai", marker),
             {"custom_id": "u", "method": "POST", "url": "/v1/embeddings", "body": {}}]
    file = upload(oai, lines)
    batch = wait_batch(oai, oai.batches.create(input_file_id=file.id, endpoint="/v1/chat/completions",
                                               completion_window="24h").id)
    assert batch.status == "failed" and batch.failed_at
    codes = {(e.line, e.code) for e in batch.errors.data}
    assert codes == {(2, "duplicate_custom_id"), (3, "mismatched_endpoint")}
    assert mock.requests_containing(marker) == []  # nothing of a failed file runs


def test_batch_create_validation_names_the_field(oai):
    file = upload(oai, [chat_line("a", "m-openai", "x")])
    with pytest.raises(openai.BadRequestError) as info:
        oai.batches.create(input_file_id=file.id, endpoint="/v1/completions", completion_window="24h")
    assert info.value.body["param"] == "endpoint"
    with pytest.raises(openai.NotFoundError) as info:
        oai.batches.create(input_file_id="file-nope", endpoint="/v1/chat/completions", completion_window="24h")
    assert info.value.body["param"] == "input_file_id"


def test_cancel_stops_the_batch(oai, mock):
    marker = nonce()
    lines = [chat_line(f"s{i}", "m-openai", f"[[delay: 1500]] slow {marker}") for i in range(16)]
    batch = oai.batches.create(input_file_id=upload(oai, lines).id, endpoint="/v1/chat/completions", completion_window="24h")
    cancelling = oai.batches.cancel(batch.id)
    assert cancelling.status in ("cancelling", "cancelled")
    batch = wait_batch(oai, batch.id)
    assert batch.status == "cancelled" and batch.cancelled_at and batch.cancelling_at
    counts = batch.request_counts
    assert counts.total == 16 and counts.completed < 16 and counts.completed + counts.failed == 16
    errors = read_lines(oai, batch.error_file_id)
    assert errors and all(line["error"]["code"] == "batch_cancelled" for line in errors.values())
    assert len(mock.requests_containing(f"slow {marker}")) == counts.completed < 16


def test_another_key_cannot_see_the_batch_or_its_files(oai, member):
    file = upload(oai, [chat_line("p", "m-openai", "private")])
    batch = wait_batch(oai, oai.batches.create(input_file_id=file.id, endpoint="/v1/chat/completions",
                                               completion_window="24h").id)
    with pytest.raises(openai.NotFoundError):
        member.batches.retrieve(batch.id)
    with pytest.raises(openai.NotFoundError):
        member.batches.cancel(batch.id)
    with pytest.raises(openai.NotFoundError):
        member.files.retrieve(file.id)
    with pytest.raises(openai.NotFoundError):
        member.files.content(batch.output_file_id)
    with pytest.raises(openai.NotFoundError):
        member.batches.create(input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h")
    assert batch.id not in [b.id for b in member.batches.list()]
    assert file.id not in [f.id for f in member.files.list()]
    # The member's own batch is its own, and the admin key sees it too.
    own = member.files.create(file=("m.jsonl", io.BytesIO(jsonl([chat_line("m", "m-openai", "mine")]))), purpose="batch")
    mine = member.batches.create(input_file_id=own.id, endpoint="/v1/chat/completions", completion_window="24h")
    assert member.batches.retrieve(mine.id).id == mine.id
    assert oai.batches.retrieve(mine.id).id == mine.id


def test_batches_list_pages_newest_first(oai):
    ids = []
    for i in range(3):
        file = upload(oai, [chat_line(f"l{i}", "m-ollama", "x")])
        ids.append(oai.batches.create(input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h").id)
    first = oai.batches.list(limit=2)
    assert [b.id for b in first.data] == ids[::-1][:2] and first.has_more
    second = oai.batches.list(limit=2, after=first.data[-1].id)
    assert second.data[0].id == ids[0]


# MARK: Anthropic Message Batches


def wait_message_batch(client: anthropic.Anthropic, batch_id: str):
    deadline = time.monotonic() + POLL_TIMEOUT_S
    while True:
        batch = client.messages.batches.retrieve(batch_id)
        if batch.processing_status == "ended":
            return batch
        assert time.monotonic() < deadline, f"message batch {batch_id} still {batch.processing_status}"
        time.sleep(0.2)


def test_message_batch_over_any_model(ant, mock):
    marker = nonce()
    requests = [{"custom_id": f"ok-{model}", "params": {"model": model, "max_tokens": 50,
                                                        "messages": [{"role": "user", "content": f"hi {marker}"}]}}
                for model in ("m-anthropic", "m-openai", "m-gemini")]
    requests.append({"custom_id": "bad", "params": {"model": "m-anthropic", "max_tokens": 50}})
    batch = ant.messages.batches.create(requests=requests)
    assert batch.type == "message_batch" and batch.id.startswith("msgbatch_") and batch.processing_status == "in_progress"
    batch = wait_message_batch(ant, batch.id)
    assert batch.request_counts.succeeded == 3 and batch.request_counts.errored == 1 and batch.request_counts.processing == 0
    assert batch.ended_at is not None and batch.results_url
    results = {r.custom_id: r for r in ant.messages.batches.results(batch.id)}
    assert set(results) == {"ok-m-anthropic", "ok-m-openai", "ok-m-gemini", "bad"}
    for model in ("m-anthropic", "m-openai", "m-gemini"):
        result = results[f"ok-{model}"].result
        assert result.type == "succeeded"
        assert result.message.content[0].text == expected_default_reply(model) and result.message.model == model
    assert results["bad"].result.type == "errored"
    assert results["bad"].result.error.error.type == "invalid_request_error"
    assert len(mock.requests_containing(f"hi {marker}")) == 3
    assert batch.id in [b.id for b in ant.messages.batches.list(limit=100)]


def test_message_batch_cancel_and_delete(ant):
    requests = [{"custom_id": f"c{i}", "params": {"model": "m-anthropic", "max_tokens": 20,
                                                  "messages": [{"role": "user", "content": "[[delay: 1500]] slow"}]}}
                for i in range(12)]
    batch = ant.messages.batches.create(requests=requests)
    with pytest.raises(anthropic.APIStatusError) as info:
        ant.messages.batches.delete(batch.id)  # still processing
    assert info.value.status_code == 409
    assert ant.messages.batches.cancel(batch.id).processing_status in ("canceling", "ended")
    batch = wait_message_batch(ant, batch.id)
    assert batch.request_counts.canceled > 0 and batch.cancel_initiated_at is not None
    types = [r.result.type for r in ant.messages.batches.results(batch.id)]
    assert len(types) == 12 and "canceled" in types
    assert ant.messages.batches.delete(batch.id).type == "message_batch_deleted"
    with pytest.raises(anthropic.NotFoundError):
        ant.messages.batches.retrieve(batch.id)


def test_message_batch_validation_names_the_field(ant):
    with pytest.raises(anthropic.BadRequestError) as info:
        ant.messages.batches.create(requests=[{"custom_id": "has space", "params": {"model": "m-anthropic", "max_tokens": 5,
                                                                                      "messages": []}}])
    assert "custom_id" in info.value.message


def test_message_batch_invisible_to_another_key(ant, stack, member):
    batch = ant.messages.batches.create(requests=[{"custom_id": "x", "params": {
        "model": "m-anthropic", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}}])
    other = anthropic.Anthropic(api_key=member.api_key, base_url=stack.gateway, max_retries=0, timeout=30)
    with pytest.raises(anthropic.NotFoundError):
        other.messages.batches.retrieve(batch.id)
    assert batch.id not in [b.id for b in other.messages.batches.list()]
    other.close()


# MARK: Hostile input


AUTH = {"authorization": f"Bearer {GATEWAY_KEY}", "x-api-key": GATEWAY_KEY, "anthropic-version": "2023-06-01"}


@pytest.mark.parametrize("path", ["/v1/batches", "/v1/files", "/v1/messages/batches", "/batches"])
@pytest.mark.parametrize("limit", ["0", "-1", "1e400", "NaN", "99999999999999999999", "1.5", "", "%00"])
def test_list_limits_are_checked(http, path, limit):
    r = http.get(f"{path}?limit={limit}", headers=AUTH)
    assert r.status_code == 400, r.text
    body = r.json()
    error = body["error"]
    assert ("param" in error and error["param"] == "limit") or (body.get("type") == "error" and "limit" in error["message"])


def test_hostile_input_file_fails_cleanly(oai, http):
    hostile = b"\n".join([
        b"\x00\xff\xfe not utf-8",
        b"[" * 100_000,
        json.dumps({"custom_id": "x" * 100_000, "method": "POST", "url": "/v1/chat/completions", "body": {}}).encode(),
        json.dumps({"custom_id": 5, "method": "POST", "url": "/v1/chat/completions", "body": {}}).encode(),
        json.dumps({"custom_id": "n", "method": "POST", "url": "/v1/chat/completions", "body": None}).encode(),
    ])
    file = oai.files.create(file=("h.jsonl", io.BytesIO(hostile)), purpose="batch")
    batch = oai.batches.create(input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h")
    assert batch.status == "failed"
    assert [e.line for e in batch.errors.data] == [1, 2, 3, 4, 5]
    assert all(len(e.message) < 1000 for e in batch.errors.data)  # no echo of a 100 KB custom_id
    assert http.get("/health").status_code == 200


def test_hostile_multipart_and_metadata_are_400s(http, oai):
    for content_type, body in [
        ("multipart/form-data; boundary=" + "b" * 5000, b"--b\r\n"),
        ("multipart/form-data; boundary=b", b"--b\r\n" + b"X" * 20_000 + b"\r\n\r\nx\r\n--b--"),
        ("multipart/form-data; boundary=b", b"--b" + b"\r\nContent-Disposition: form-data; name=\"p\"\r\n\r\nv\r\n--b" * 40 + b"--"),
        ("multipart/form-data; boundary=b", b"no boundary at all"),
    ]:
        r = http.post("/v1/files", content=body, headers={**AUTH, "content-type": content_type})
        assert r.status_code == 400, (content_type[:60], r.text)
        assert r.json()["error"]["type"] == "invalid_request_error"
    file = upload(oai, [chat_line("a", "m-openai", "x")])
    for metadata in [{"k": "v" * 513}, {f"k{i}": "v" for i in range(17)}, {"k": 5}, ["x"]]:
        r = http.post("/v1/batches", headers=AUTH, json={"input_file_id": file.id, "endpoint": "/v1/chat/completions",
                                                         "completion_window": "24h", "metadata": metadata})
        assert r.status_code == 400 and r.json()["error"]["param"] == "metadata", r.text
    r = http.post("/v1/batches", headers=AUTH, json={"input_file_id": file.id, "endpoint": "/v1/chat/completions",
                                                     "completion_window": "48h"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "completion_window"
