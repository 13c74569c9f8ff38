"""A hostile upstream: answers in the OpenAI, Anthropic, Gemini or Ollama wire protocol, badly on purpose.

Raw sockets (stdlib `socketserver`), so broken HTTP can be sent byte for byte. The fault is chosen by a
path prefix in the provider's base_url:

    http://127.0.0.1:PORT/f/<fault>/<kind>[/v1]      kind: openai | anthropic | gemini | ollama

and the gateway appends the protocol path (`/chat/completions`, `/embeddings`, `/v1/messages`,
`/v1beta/models/M:generateContent`, `:streamGenerateContent?alt=sse`, `:embedContent`,
`:batchEmbedContents`, `/api/chat`, `/api/embed`). Whether the answer is a stream comes from the request
body's `"stream": true` (or Gemini's `:streamGenerateContent` path).

Every request is counted under `<fault>/<kind>/<endpoint>` (endpoint: chat | embed | other);
`GET /_count` returns the counts as JSON, `DELETE /_count` clears them.

Run alone: `python tests/hostile/hostile_upstream.py --port 4099`.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import socketserver
import threading
import time
import zlib
from dataclasses import dataclass

KINDS = ("openai", "anthropic", "gemini", "ollama")
REPLY_WORDS = ["Hello ", "from ", "the ", "hostile ", "upstream."]
REPLY = "".join(REPLY_WORDS)
MiB = 1024 * 1024
HANG_SECONDS = 60.0

# Raw JSON tokens put where token counts go (usage faults).
USAGE_TOKENS = {
    "u-1e300": "1e300",
    "u-neg5": "-5",
    "u-1e19": "1e19",
    "u-1e19int": "10000000000000000000",
    "u-i64max": "9223372036854775807",
    "u-str12": '"12"',
}
# Raw JSON tokens for the Anthropic stream's block `index`.
INDEX_TOKENS = {"idx-1e300": "1e300", "idx-neg1": "-1"}
# 429 answers (every odd request of the fault; even ones succeed): header name -> value.
RETRY_AFTER = {
    "ra-inf": ("retry-after", "inf"),
    "ra-1e17": ("retry-after", "1e17"),
    "ra-1e400": ("retry-after", "1e400"),
    "ra-neg5": ("retry-after", "-5"),
    "ra-nan": ("retry-after", "nan"),
    "ra-date": ("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"),
    "ra-garbage": ("retry-after", "soon-ish!!"),
    "ra-hugeint": ("retry-after", "99999999999999999999999"),
    "ra-ms-1e300": ("retry-after-ms", "1e300"),
}


class Stop(Exception):
    """The client went away; stop answering."""


# --------------------------------------------------------------------------------------------- HTTP


@dataclass
class Request:
    method: str
    target: str
    headers: dict
    body: bytes
    fault: str = ""
    kind: str = ""
    endpoint: str = "other"
    stream: bool = False
    model: str = "hostile-model"
    json: object = None
    count: int = 0  # 1-based number of this request for its fault/kind/endpoint


def read_request(reader) -> Request | None:
    line = reader.readline(65537)
    if not line:
        return None
    while line in (b"\r\n", b"\n"):
        line = reader.readline(65537)
        if not line:
            return None
    parts = line.decode("latin-1").strip().split(" ")
    if len(parts) < 2:
        return None
    method, target = parts[0], parts[1]
    headers: dict = {}
    while True:
        h = reader.readline(65537)
        if not h or h in (b"\r\n", b"\n"):
            break
        name, _, value = h.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = b""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size_line = reader.readline(65537)
            if not size_line:
                break
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while reader.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass
                break
            chunks.append(reader.read(size))
            reader.readline(65537)
        body = b"".join(chunks)
    elif "content-length" in headers:
        body = reader.read(int(headers["content-length"]))
    return Request(method, target, headers, body)


class Gauge:
    """Thread-safe counts by key (connections a hanging fault holds open right now, by fault/kind)."""

    def __init__(self):
        self.values: dict = {}
        self.lock = threading.Lock()

    def add(self, key: str, n: int) -> None:
        with self.lock:
            self.values[key] = self.values.get(key, 0) + n

    def get(self, key: str) -> int:
        with self.lock:
            return self.values.get(key, 0)

    def snapshot(self) -> dict:
        with self.lock:
            return {k: v for k, v in self.values.items() if v}


class Conn:
    """Writes to the gateway's socket; a vanished peer raises Stop."""

    def __init__(self, sock: socket.socket, stop_event: threading.Event, hanging: "Gauge | None" = None):
        self.sock = sock
        self.stop_event = stop_event
        self.chunked = False
        self.hanging = hanging
        self.key = ""  # fault/kind of the request being answered

    def raw(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError as e:
            raise Stop() from e

    def head(self, status: int, headers: list, reason: str | None = None) -> None:
        reason = reason if reason is not None else REASONS.get(status, "Whatever")
        lines = [f"HTTP/1.1 {status} {reason}"] + [f"{k}: {v}" for k, v in headers]
        self.raw(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def full(self, status: int, body: bytes, ctype: str = "application/json", extra: list | None = None) -> None:
        headers = [("content-type", ctype), ("content-length", str(len(body))), ("connection", "close")]
        self.head(status, headers + (extra or []))
        self.raw(body)

    def start_stream(self, ctype: str, extra: list | None = None) -> None:
        self.chunked = True
        self.head(200, [("content-type", ctype), ("transfer-encoding", "chunked"), ("cache-control", "no-cache"),
                        ("connection", "close")] + (extra or []))

    def chunk(self, data: bytes) -> None:
        if not data:
            return
        if self.chunked:
            self.raw(b"%x\r\n" % len(data) + data + b"\r\n")
        else:
            self.raw(data)

    def end_stream(self) -> None:
        if self.chunked:
            self.raw(b"0\r\n\r\n")

    def hang(self, seconds: float = HANG_SECONDS) -> None:
        """Keeps the connection open, sending nothing, until the peer leaves or the server stops."""
        deadline = time.monotonic() + seconds
        self.sock.settimeout(0.25)
        if self.hanging is not None:
            self.hanging.add(self.key, 1)
        try:
            while time.monotonic() < deadline and not self.stop_event.is_set():
                try:
                    if self.sock.recv(65536) == b"":
                        return  # peer closed
                except socket.timeout:
                    continue
                except OSError:
                    return
        finally:
            if self.hanging is not None:
                self.hanging.add(self.key, -1)


REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error",
           502: "Bad Gateway", 503: "Service Unavailable", 999: "Weird"}


# ------------------------------------------------------------------------------------- wire formats


def raw_json(obj, tokens: dict) -> bytes:
    """json.dumps with string sentinels replaced by raw JSON tokens (to emit 1e300, 1e400, ...)."""
    text = json.dumps(obj, separators=(",", ":"))
    for sentinel, token in tokens.items():
        text = text.replace(json.dumps(sentinel), token)
    return text.encode()


def fake_vector(text, dim: int = 8) -> list:
    # Token-id inputs ([15339, 1917]) arrive as lists: seed from their JSON text.
    rng = random.Random(text if isinstance(text, str) else json.dumps(text))
    v = [rng.uniform(-1, 1) for _ in range(dim)]
    norm = sum(x * x for x in v) ** 0.5 or 1.0
    return [round(x / norm, 6) for x in v]


def texts_of(req: Request) -> list:
    body = req.json if isinstance(req.json, dict) else {}
    if req.kind == "gemini":
        if "requests" in body:
            return ["".join(p.get("text", "") for p in r.get("content", {}).get("parts", [])) for r in body["requests"]]
        return ["".join(p.get("text", "") for p in body.get("content", {}).get("parts", []))]
    value = body.get("input", "")
    # One token-id array is one input, as OpenAI reads it; a list of strings or of token arrays is many.
    if isinstance(value, list) and value and all(isinstance(x, int) for x in value):
        return [value]
    return value if isinstance(value, list) else [value]


U = "__USAGE__"  # sentinel for token counts
IDX = "__INDEX__"  # sentinel for the Anthropic block index


def chat_body(req: Request, text: str = REPLY, usage: str = "7") -> bytes:
    """A whole non-streamed answer in the request's protocol."""
    tokens = {U: usage}
    if req.kind == "openai":
        return raw_json({"id": "chatcmpl-hostile", "object": "chat.completion", "created": 1700000000, "model": req.model,
                         "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                      "finish_reason": "stop"}],
                         "usage": {"prompt_tokens": U, "completion_tokens": U, "total_tokens": U}}, tokens)
    if req.kind == "anthropic":
        return raw_json({"id": "msg_hostile", "type": "message", "role": "assistant", "model": req.model,
                         "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
                         "usage": {"input_tokens": U, "output_tokens": U}}, tokens)
    if req.kind == "gemini":
        return raw_json({"candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP",
                                         "index": 0}],
                         "usageMetadata": {"promptTokenCount": U, "candidatesTokenCount": U, "totalTokenCount": U},
                         "modelVersion": req.model, "responseId": "hostile"}, tokens)
    return raw_json({"model": req.model, "created_at": "2024-01-01T00:00:00Z",
                     "message": {"role": "assistant", "content": text}, "done": True, "done_reason": "stop",
                     "prompt_eval_count": U, "eval_count": U}, tokens)


def stream_events(req: Request, words=None, usage: str = "7", index: str = "0") -> list:
    """The framed events (bytes) of a whole streamed answer in the request's protocol."""
    words = REPLY_WORDS if words is None else words
    tokens = {U: usage, IDX: index}
    out = []
    if req.kind == "openai":
        def chunk(delta, finish=None):
            return {"id": "chatcmpl-hostile", "object": "chat.completion.chunk", "created": 1700000000, "model": req.model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        out.append(chunk({"role": "assistant", "content": ""}))
        out += [chunk({"content": w}) for w in words]
        out.append(chunk({}, "stop"))
        out.append({"id": "chatcmpl-hostile", "object": "chat.completion.chunk", "created": 1700000000,
                    "model": req.model, "choices": [],
                    "usage": {"prompt_tokens": U, "completion_tokens": U, "total_tokens": U}})
        return [b"data: " + raw_json(c, tokens) + b"\n\n" for c in out] + [b"data: [DONE]\n\n"]
    if req.kind == "anthropic":
        events = [("message_start", {"type": "message_start", "message": {
            "id": "msg_hostile", "type": "message", "role": "assistant", "model": req.model, "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": U, "output_tokens": 1}}}),
            ("content_block_start", {"type": "content_block_start", "index": IDX,
                                     "content_block": {"type": "text", "text": ""}})]
        events += [("content_block_delta", {"type": "content_block_delta", "index": IDX,
                                            "delta": {"type": "text_delta", "text": w}}) for w in words]
        events += [("content_block_stop", {"type": "content_block_stop", "index": IDX}),
                   ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                      "usage": {"output_tokens": U}}),
                   ("message_stop", {"type": "message_stop"})]
        return [b"event: " + name.encode() + b"\ndata: " + raw_json(data, tokens) + b"\n\n" for name, data in events]
    if req.kind == "gemini":
        for i, w in enumerate(words):
            c = {"candidates": [{"content": {"role": "model", "parts": [{"text": w}]}, "index": 0}],
                 "modelVersion": req.model, "responseId": "hostile"}
            if i == len(words) - 1:
                c["candidates"][0]["finishReason"] = "STOP"
                c["usageMetadata"] = {"promptTokenCount": U, "candidatesTokenCount": U, "totalTokenCount": U}
            out.append(c)
        return [b"data: " + raw_json(c, tokens) + b"\r\n\r\n" for c in out]
    for w in words:
        out.append({"model": req.model, "created_at": "2024-01-01T00:00:00Z",
                    "message": {"role": "assistant", "content": w}, "done": False})
    out.append({"model": req.model, "created_at": "2024-01-01T00:00:00Z", "message": {"role": "assistant", "content": ""},
                "done": True, "done_reason": "stop", "prompt_eval_count": U, "eval_count": U})
    return [raw_json(c, tokens) + b"\n" for c in out]


def stream_ctype(req: Request) -> str:
    return "application/x-ndjson" if req.kind == "ollama" else "text/event-stream"


def embed_body(req: Request, usage: str = "5") -> bytes:
    texts = texts_of(req)
    tokens = {U: usage}
    if req.kind == "openai":
        return raw_json({"object": "list", "model": req.model,
                         "data": [{"object": "embedding", "index": i, "embedding": fake_vector(t)} for i, t in enumerate(texts)],
                         "usage": {"prompt_tokens": U, "total_tokens": U}}, tokens)
    if req.kind == "ollama":
        return raw_json({"model": req.model, "embeddings": [fake_vector(t) for t in texts], "prompt_eval_count": U}, tokens)
    if req.kind == "gemini":
        if req.target.split("?")[0].endswith(":batchEmbedContents"):
            return raw_json({"embeddings": [{"values": fake_vector(t)} for t in texts]}, tokens)
        return raw_json({"embedding": {"values": fake_vector(texts[0])}}, tokens)
    return error_body(req, 404, "no embeddings here")


def error_body(req: Request, status: int, message: str) -> bytes:
    if req.kind == "anthropic":
        etype = {429: "rate_limit_error", 503: "overloaded_error"}.get(status, "api_error")
        return json.dumps({"type": "error", "error": {"type": etype, "message": message}}).encode()
    if req.kind == "gemini":
        return json.dumps({"error": {"code": status, "message": message, "status": "UNAVAILABLE"}}).encode()
    if req.kind == "ollama":
        return json.dumps({"error": message}).encode()
    return json.dumps({"error": {"message": message, "type": "server_error", "code": None}}).encode()


def answer_ok(c: Conn, req: Request, usage: str | None = None, index: str = "0", extra: list | None = None) -> None:
    """A correct answer for whatever was asked (chat or embeddings, streamed or not)."""
    if req.endpoint == "embed":
        c.full(200, embed_body(req, usage or "5"), extra=extra)
    elif req.stream:
        c.start_stream(stream_ctype(req), extra)
        for event in stream_events(req, usage=usage or "7", index=index):
            c.chunk(event)
        c.end_stream()
    else:
        c.full(200, chat_body(req, usage=usage or "7"), extra=extra)


# ------------------------------------------------------------------------------------------- faults


_BOMB_CACHE: dict = {}
_BOMB_LOCK = threading.Lock()


def gzip_bomb_pieces(prefix: bytes, segments: int = 4096):
    """Yields a gzip stream: `prefix` then `segments` MiB of spaces (4 GiB by default) in ~4 MB compressed.

    One compressed MiB is made once and repeated (a full flush makes each segment independent). The
    trailer's CRC is not computed (the bomb is 4 GiB; a gateway reaching it has already failed)."""
    with _BOMB_LOCK:
        if "segment" not in _BOMB_CACHE:
            comp = zlib.compressobj(9, zlib.DEFLATED, -15)
            comp.compress(b"")
            _BOMB_CACHE["segment"] = comp.compress(b" " * MiB) + comp.flush(zlib.Z_FULL_FLUSH)
        segment = _BOMB_CACHE["segment"]
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    yield b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # gzip header
    yield comp.compress(prefix) + comp.flush(zlib.Z_FULL_FLUSH)
    batch = segment * 64
    for _ in range(segments // 64):
        yield batch
    yield b"\x03\x00"  # a final, empty fixed-Huffman block
    yield b"\x00\x00\x00\x00" + ((segments * MiB + len(prefix)) & 0xFFFFFFFF).to_bytes(4, "little")


def big_text_event_prefix(req: Request) -> tuple[bytes, bytes]:
    """(before, after) around a huge text inside one streamed event of the request's protocol."""
    marker = "__HUGE__"
    events = stream_events(req, words=[marker])
    for i, e in enumerate(events):
        if marker.encode() in e:
            before, after = e.split(marker.encode(), 1)
            return b"".join(events[:i]) + before, after + b"".join(events[i + 1:])
    raise AssertionError("no marker")


def fault_big_line(c: Conn, req: Request) -> None:
    """One 64 MiB line: a stream event whose text is 64 MiB (non-streamed: a 64 MiB answer)."""
    if req.stream:
        before, after = big_text_event_prefix(req)
        c.start_stream(stream_ctype(req))
        c.chunk(before)
        block = b"x" * MiB
        for _ in range(64):
            c.chunk(block)
        c.chunk(after)
        c.end_stream()
    else:
        fault_big_body(c, req, size=64 * MiB)


def fault_big_body(c: Conn, req: Request, size: int = 80 * MiB) -> None:
    """An 80 MiB, valid JSON answer (the text or an unknown field is huge)."""
    if req.endpoint == "embed":
        body = embed_body(req)
        before, after = body[:-1] + b',"padding":"', b'"}'
    else:
        before, after = chat_body(req, text="__HUGE__").split(b"__HUGE__")
    if req.stream:
        c.start_stream(stream_ctype(req))
        ev_before, ev_after = big_text_event_prefix(req)
        c.chunk(ev_before)
        for _ in range(size // MiB):
            c.chunk(b"y" * MiB)
        c.chunk(ev_after)
        c.end_stream()
        return
    total = len(before) + size + len(after)
    c.head(200, [("content-type", "application/json"), ("content-length", str(total)), ("connection", "close")])
    c.raw(before)
    block = b"y" * MiB
    for _ in range(size // MiB):
        c.raw(block)
    c.raw(after)


def fault_gzip_bomb(c: Conn, req: Request) -> None:
    if req.stream:
        before, _ = big_text_event_prefix(req)
        ctype = stream_ctype(req)
    else:
        before = chat_body(req, text="__HUGE__").split(b"__HUGE__")[0] if req.endpoint == "chat" else b'{"data": ['
        ctype = "application/json"
    c.start_stream(ctype, [("content-encoding", "gzip")])
    for piece in gzip_bomb_pieces(before):
        c.chunk(piece)
    c.end_stream()


def fault_html(c: Conn, req: Request) -> None:
    page = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Oops</h1>" + b"<p>x</p>" * 200 + b"</body></html>"
    c.full(200, page, ctype="text/html; charset=utf-8")


def fault_empty(c: Conn, req: Request) -> None:
    c.full(200, b"", ctype="text/event-stream" if req.stream else "application/json")


def fault_cl_short_close(c: Conn, req: Request) -> None:
    body = chat_body(req) if req.endpoint == "chat" else embed_body(req)
    c.head(200, [("content-type", "application/json"), ("content-length", str(len(body) + 5000))])
    c.raw(body[: len(body) // 2])


def fault_cl_short_hang(c: Conn, req: Request) -> None:
    fault_cl_short_close(c, req)
    c.hang()


def fault_cl_long(c: Conn, req: Request) -> None:
    """content-length says 20; the whole body follows anyway (the rest poisons a kept-alive connection)."""
    body = chat_body(req) if req.endpoint == "chat" else embed_body(req)
    c.head(200, [("content-type", "application/json"), ("content-length", "20")])
    c.raw(body)


def fault_cl_negative(c: Conn, req: Request) -> None:
    body = chat_body(req)
    c.head(200, [("content-type", "application/json"), ("content-length", "-1"), ("connection", "close")])
    c.raw(body)


def fault_cl_huge(c: Conn, req: Request) -> None:
    body = chat_body(req)
    c.head(200, [("content-type", "application/json"), ("content-length", "99999999999999999999999"),
                 ("connection", "close")])
    c.raw(body)


DEPTH = 100_000


def fault_deep(c: Conn, req: Request) -> None:
    """Valid JSON with an unknown field nested 100,000 arrays deep (streamed: inside one event)."""
    deep = b"[" * DEPTH + b"]" * DEPTH
    if req.stream:
        events = stream_events(req)
        # Put the deep value in the first content event.
        i = 1
        e = events[i]
        if req.kind == "ollama":
            e = e.rstrip(b"\n")[:-1] + b',"deep":' + deep + b"}\n"
        else:
            head, _, rest = e.partition(b"data: ")
            payload, sep, tail = rest.partition(b"\n")
            cr = b"\r" if payload.endswith(b"\r") else b""
            payload = payload.rstrip(b"\r")
            e = head + b"data: " + payload[:-1] + b',"deep":' + deep + b"}" + cr + sep + tail
        events[i] = e
        c.start_stream(stream_ctype(req))
        for ev in events:
            c.chunk(ev)
        c.end_stream()
        return
    body = chat_body(req) if req.endpoint == "chat" else embed_body(req)
    c.full(200, body[:-1] + b',"deep":' + deep + b"}")


def fault_bad_utf8(c: Conn, req: Request) -> None:
    bad = "Hello \udcff\udcfe broken \udcc3( end"
    if req.stream:
        c.start_stream(stream_ctype(req))
        for ev in stream_events(req, words=["ok ", bad]):
            c.chunk(ev.replace(json.dumps(bad)[1:-1].encode(), b"Hello \xff\xfe broken \xc3( end"))
        c.end_stream()
        return
    body = chat_body(req, text="__BAD__") if req.endpoint == "chat" else embed_body(req)[:-1] + b',"x":"__BAD__"}'
    c.full(200, body.replace(b"__BAD__", b"Hello \xff\xfe broken \xc3( end \xed\xa0\x80"))


def fault_many_headers(c: Conn, req: Request) -> None:
    extra = [(f"x-hostile-{i:04d}", "v" * 50) for i in range(2000)]
    answer_ok(c, req, extra=extra)


def fault_junk(c: Conn, req: Request) -> None:
    rng = random.Random(1234)
    junk = bytes(rng.getrandbits(8) for _ in range(256 * 1024))
    if req.stream:
        c.start_stream(stream_ctype(req))
        for i in range(0, len(junk), 16384):
            c.chunk(junk[i:i + 16384])
        c.end_stream()
    else:
        c.full(200, junk)


def fault_stream_cut(c: Conn, req: Request) -> None:
    """Starts a proper stream, sends some text, then closes the connection mid-way."""
    if not req.stream:
        return fault_cl_short_close(c, req)
    events = stream_events(req)
    c.start_stream(stream_ctype(req))
    for ev in events[:3]:
        c.chunk(ev)
    c.raw(b"5\r\nda")  # half a chunk, then gone


def fault_stream_hang(c: Conn, req: Request) -> None:
    """Sends the first chunks of a stream, then nothing, forever (the connection stays open)."""
    if not req.stream:
        return fault_cl_short_hang(c, req)
    events = stream_events(req)
    c.start_stream(stream_ctype(req))
    for ev in events[:3]:
        c.chunk(ev)
    c.hang()


def fault_hang_head(c: Conn, req: Request) -> None:
    c.hang()


def fault_sse_for_json(c: Conn, req: Request) -> None:
    """A 200 `text/event-stream` stream for a request that asked for a non-streamed answer."""
    streamed = Request(**{**req.__dict__, "stream": True})
    c.start_stream("text/event-stream")
    for ev in stream_events(streamed):
        c.chunk(ev)
    c.end_stream()


def fault_json_for_sse(c: Conn, req: Request) -> None:
    """A plain JSON answer for a request that asked for a stream."""
    c.full(200, chat_body(req))


def fault_status_999(c: Conn, req: Request) -> None:
    c.full(999, error_body(req, 500, "status from another planet"))


def fault_flaky(c: Conn, req: Request) -> None:
    if req.count % 2 == 1:
        c.full(503, error_body(req, 503, "flaky: try again"), extra=[("retry-after", "0")])
    else:
        answer_ok(c, req)


def make_usage_fault(token: str):
    def fault(c: Conn, req: Request) -> None:
        answer_ok(c, req, usage=token)
    return fault


def make_index_fault(token: str):
    def fault(c: Conn, req: Request) -> None:
        answer_ok(c, req, index=token)
    return fault


def make_retry_after_fault(header: str, value: str):
    def fault(c: Conn, req: Request) -> None:
        if req.count % 2 == 1:
            c.full(429, error_body(req, 429, "slow down"), extra=[(header, value)])
        else:
            answer_ok(c, req)
    return fault


FAULTS = {
    "ok": lambda c, req: answer_ok(c, req),
    "big-line": fault_big_line,
    "big-body": fault_big_body,
    "gzip-bomb": fault_gzip_bomb,
    "html": fault_html,
    "empty": fault_empty,
    "cl-short-close": fault_cl_short_close,
    "cl-short-hang": fault_cl_short_hang,
    "cl-long": fault_cl_long,
    "cl-negative": fault_cl_negative,
    "cl-huge": fault_cl_huge,
    "deep": fault_deep,
    "bad-utf8": fault_bad_utf8,
    "many-headers": fault_many_headers,
    "junk": fault_junk,
    "stream-cut": fault_stream_cut,
    "stream-hang": fault_stream_hang,
    "hang-head": fault_hang_head,
    "sse-for-json": fault_sse_for_json,
    "json-for-sse": fault_json_for_sse,
    "status-999": fault_status_999,
    "flaky": fault_flaky,
}
FAULTS.update({name: make_usage_fault(token) for name, token in USAGE_TOKENS.items()})
FAULTS.update({name: make_index_fault(token) for name, token in INDEX_TOKENS.items()})
FAULTS.update({name: make_retry_after_fault(h, v) for name, (h, v) in RETRY_AFTER.items()})


# ------------------------------------------------------------------------------------------- server


def classify(req: Request) -> None:
    path = req.target.split("?", 1)[0]
    parts = path.split("/")
    # ['', 'f', fault, kind, ...rest]
    if len(parts) >= 4 and parts[1] == "f":
        req.fault, req.kind = parts[2], parts[3]
    rest = "/" + "/".join(parts[4:])
    try:
        req.json = json.loads(req.body) if req.body else None
    except ValueError:
        req.json = None
    body = req.json if isinstance(req.json, dict) else {}
    if isinstance(body.get("model"), str):
        req.model = body["model"]
    if req.kind == "openai":
        req.endpoint = "chat" if rest.endswith("/chat/completions") else "embed" if rest.endswith("/embeddings") else "other"
        req.stream = body.get("stream") is True
    elif req.kind == "anthropic":
        req.endpoint = "chat" if rest.endswith("/messages") else "other"
        req.stream = body.get("stream") is True
    elif req.kind == "gemini":
        if ":streamGenerateContent" in rest:
            req.endpoint, req.stream = "chat", True
        elif ":generateContent" in rest:
            req.endpoint = "chat"
        elif ":embedContent" in rest or ":batchEmbedContents" in rest:
            req.endpoint = "embed"
        model = rest.split("/models/", 1)[-1].split(":", 1)[0] if "/models/" in rest else ""
        if model:
            req.model = model
    elif req.kind == "ollama":
        req.endpoint = "chat" if rest.endswith("/api/chat") else "embed" if rest.endswith("/api/embed") else "other"
        req.stream = body.get("stream", True) is True


class HostileServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address):
        super().__init__(address, Handler)
        self.counts: dict = {}
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.requests_log: list = []  # (fault, kind, endpoint, stream, target) of the last requests
        self.hanging = Gauge()  # connections a hanging fault holds open right now

    def count(self, req: Request) -> int:
        key = f"{req.fault}/{req.kind}/{req.endpoint}"
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1
            self.requests_log.append((req.fault, req.kind, req.endpoint, req.stream, req.target[:200]))
            del self.requests_log[:-200]
            return self.counts[key]

    def snapshot(self) -> dict:
        with self.lock:
            return dict(self.counts)

    def reset(self) -> None:
        with self.lock:
            self.counts.clear()
            self.requests_log.clear()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def start_background(self) -> threading.Thread:
        t = threading.Thread(target=self.serve_forever, name="hostile-upstream", daemon=True)
        t.start()
        return t

    def stop(self) -> None:
        self.stop_event.set()
        self.shutdown()
        self.server_close()


class Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server: HostileServer = self.server  # type: ignore[assignment]
        sock: socket.socket = self.request
        sock.settimeout(30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = sock.makefile("rb")
        conn = Conn(sock, server.stop_event, server.hanging)
        try:
            req = read_request(reader)
            if req is None:
                return
            if req.target.startswith("/_count"):
                if req.method == "DELETE":
                    server.reset()
                    conn.full(200, b"{}")
                else:
                    conn.full(200, json.dumps(dict(server.snapshot(), _hanging=server.hanging.snapshot())).encode())
                return
            if req.target.startswith("/_log"):
                with server.lock:
                    conn.full(200, json.dumps(server.requests_log).encode())
                return
            classify(req)
            fault = FAULTS.get(req.fault)
            if fault is None or req.kind not in KINDS:
                conn.full(404, json.dumps({"error": {"message": f"unknown fault path {req.target}"}}).encode())
                return
            req.count = server.count(req)
            conn.key = f"{req.fault}/{req.kind}"
            fault(conn, req)
        except (Stop, ConnectionError, socket.timeout, OSError):
            pass
        finally:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def start(host: str = "127.0.0.1", port: int = 0) -> HostileServer:
    server = HostileServer((host, port))
    server.start_background()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4099)
    args = parser.parse_args()
    server = HostileServer((args.host, args.port))
    print(f"hostile upstream on http://{args.host}:{server.port}/f/<fault>/<kind>; faults: {', '.join(sorted(FAULTS))}",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
