"""The fast path (issue 26) on raw sockets: pipelined requests answered in order whichever path each takes,
a client that goes away mid-request, hostile upstreams (garbage, a stall, a huge body, a dropped connection),
and `explain` saying which path a request took."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time

import pytest

from test_first_hour import BIN, free_port, http

KEY = "sk-fast-path-test-0123456789"


class HostileUpstream:
    """An OpenAI-shaped upstream whose answer depends on the model name asked for."""

    def __init__(self):
        self.port = free_port()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(64)
        self.requests = 0
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    def handle(self, conn):
        buffer = b""
        try:
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, rest = buffer.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                while len(rest) < length:
                    data = conn.recv(65536)
                    if not data:
                        return
                    rest += data
                body, buffer = rest[:length], rest[length:]
                self.requests += 1
                asked = json.loads(body)
                model = asked.get("model", "")
                if model == "slow":
                    time.sleep(0.05)  # then answers like any good model
                if asked.get("stream"):
                    events = [{"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": model,
                               "choices": [{"index": 0, "delta": {"role": "assistant", "content": "ok " + model},
                                            "finish_reason": None}]},
                              {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": model,
                               "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
                              {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": model, "choices": [],
                               "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}]
                    payload = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events) + b"data: [DONE]\n\n"
                    conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: "
                                 + str(len(payload)).encode() + b"\r\n\r\n" + payload)
                elif model == "garbage":
                    conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 9\r\n\r\nnot json!")
                elif model == "stall":
                    time.sleep(30)
                    return
                elif model == "drop":
                    return  # closes without a word
                elif model == "huge":
                    conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 99999999999\r\n\r\n{\"a\":")
                    conn.sendall(b"x" * 1_000_000)
                    return
                else:
                    answer = json.dumps({
                        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": model,
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok " + model},
                                     "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}).encode()
                    conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                                 + str(len(answer)).encode() + b"\r\n\r\n" + answer)
        except OSError:
            return
        finally:
            conn.close()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fast")
    upstream = HostileUpstream()
    port = free_port()
    models = "\n".join(
        f"  - {{name: {name}, provider: hostile, price: {{input: 1, output: 1}}}}"
        for name in ["good", "garbage", "stall", "drop", "huge", "slow"])
    config = tmp / "switchyard.yaml"
    config.write_text(f"""
server: {{host: 127.0.0.1, port: {port}, fast_path: true}}
storage: {{sqlite: {tmp}/gw.sqlite, flush_ms: 50}}
providers:
  - {{name: hostile, kind: openai, base_url: "http://127.0.0.1:{upstream.port}/v1", api_key: upstream-secret, timeout_ms: 1500}}
models:
{models}
auth: {{keys: [{KEY}]}}
""")
    proc = subprocess.Popen([BIN, "serve", "--config", str(config)], cwd=tmp,
                            env={**os.environ, "SWITCHYARD_STATE_DIR": str(tmp / "state")},
                            stdout=open(tmp / "serve.log", "wb"), stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if http("GET", f"http://127.0.0.1:{port}/health", timeout=2)[0] == 200:
                break
        except OSError:
            time.sleep(0.2)
    yield {"port": port, "config": config, "upstream": upstream, "log": tmp / "serve.log"}
    proc.terminate()
    proc.wait(timeout=30)
    assert proc.returncode in (0, -15), (tmp / "serve.log").read_text()[-3000:]
    assert "upstream-secret" not in (tmp / "serve.log").read_text()


def request_bytes(model: str, stream: bool = False, extra_headers: str = "", extra_body: dict | None = None) -> bytes:
    body = json.dumps({"model": model, "stream": stream, "messages": [{"role": "user", "content": "hi " + model}],
                       **(extra_body or {})}).encode()
    return (f"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {KEY}\r\n"
            f"content-type: application/json\r\ncontent-length: {len(body)}\r\n{extra_headers}\r\n").encode() + body


def read_responses(sock: socket.socket, count: int, timeout: float = 20) -> list[tuple[int, dict, bytes]]:
    """Reads `count` HTTP/1.1 responses (content-length or chunked) off one connection, in order."""
    sock.settimeout(timeout)
    data = b""
    out = []

    def need(n):
        nonlocal data
        while len(data) < n:
            chunk = sock.recv(65536)
            if not chunk:
                raise EOFError(f"connection closed after {len(out)} responses")
            data += chunk

    while len(out) < count:
        while b"\r\n\r\n" not in data:
            need(len(data) + 1)
        head, _, data = data.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            n = int(headers["content-length"])
            need(n)
            body, data = data[:n], data[n:]
        else:
            body = b""
            while True:
                while b"\r\n" not in data:
                    need(len(data) + 1)
                size_line, _, data = data.partition(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                need(size + 2)
                body += data[:size]
                data = data[size + 2:]
                if size == 0:
                    break
        out.append((status, headers, body))
    return out


def test_pipelined_requests_are_answered_in_order_whichever_path_they_take(gateway):
    sequence = [("good", False), ("good", True), ("good", False), ("garbage", False), ("good", False),
                ("good", True), ("good", False)]
    with socket.create_connection(("127.0.0.1", gateway["port"])) as sock:
        sock.sendall(b"".join(request_bytes(model, stream) for model, stream in sequence))
        answers = read_responses(sock, len(sequence))
    for (model, stream), (status, headers, body) in zip(sequence, answers):
        if model == "garbage":
            assert status == 502, (status, body[:300])
            continue
        assert status == 200, (status, body[:300])
        if stream:
            # Streams take the fast path too (or the router's, behind a request it has not answered yet).
            assert headers.get("content-type", "").startswith("text/event-stream")
            assert headers.get("x-switchyard-path") in ("fast", None), headers
            assert b"ok good" in body and body.rstrip().endswith(b"data: [DONE]"), body[:300]
        else:
            # Behind a request the router has not answered yet, the rest go to the router too (it answers in order).
            assert headers.get("x-switchyard-path") in ("fast", None), headers
            assert json.loads(body)["choices"][0]["message"]["content"] == "ok good"
    assert answers[0][1].get("x-switchyard-path") == "fast"
    # The connection stays usable afterwards.
    with socket.create_connection(("127.0.0.1", gateway["port"])) as sock:
        for _ in range(3):
            sock.sendall(request_bytes("good"))
            [(status, headers, _)] = read_responses(sock, 1)
            assert status == 200 and headers.get("x-switchyard-path") == "fast"


@pytest.mark.parametrize("model, status", [("garbage", 502), ("stall", 504), ("drop", 502), ("huge", 502)])
def test_hostile_upstreams_end_in_the_full_paths_error(gateway, model, status):
    started = time.time()
    with socket.create_connection(("127.0.0.1", gateway["port"])) as sock:
        sock.sendall(request_bytes(model))
        [(got, headers, body)] = read_responses(sock, 1, timeout=30)
        assert got in (status, 502, 503, 504), (got, body[:300])
        assert "error" in json.loads(body), body[:300]
        # then the connection still serves
        sock.sendall(request_bytes("good"))
        [(after, _, _)] = read_responses(sock, 1)
        assert after == 200
    assert time.time() - started < 25  # bounded by the provider's timeout, fast attempt and full path together


def test_a_client_that_goes_away_mid_request_harms_nobody(gateway):
    for _ in range(20):
        sock = socket.create_connection(("127.0.0.1", gateway["port"]))
        whole = request_bytes("stall")
        sock.sendall(whole[: len(whole) // 2])  # half a body, then gone
        sock.close()
        sock = socket.create_connection(("127.0.0.1", gateway["port"]))
        sock.sendall(request_bytes("stall"))  # a whole request, then gone while it waits upstream
        time.sleep(0.02)
        sock.close()
    status, _, _ = http_chat(gateway["port"], "good")
    assert status == 200


def test_explain_says_which_path(gateway):
    status, headers, body = http_chat(gateway["port"], "good")
    assert status == 200 and headers.get("x-switchyard-path") == "fast"
    request_id = headers["x-switchyard-request-id"]
    time.sleep(0.5)
    out = subprocess.run([BIN, "explain", request_id, "--config", str(gateway["config"])],
                         capture_output=True, text=True, timeout=60)
    assert "note: fast path" in out.stdout, out.stdout + out.stderr
    # A stream takes the fast path; one with stream options the fast path does not edit takes the full path, and
    # explain says why.
    for extra, note in [(None, "note: fast path"), ({"stream_options": {"include_usage": False}}, "note: full path: stream options")]:
        with socket.create_connection(("127.0.0.1", gateway["port"])) as sock:
            sock.sendall(request_bytes("good", stream=True, extra_body=extra))
            [(status, headers, _)] = read_responses(sock, 1)
        assert status == 200
        assert headers.get("x-switchyard-path") == ("fast" if extra is None else None), headers
        time.sleep(0.5)
        out = subprocess.run([BIN, "explain", headers["x-switchyard-request-id"], "--config", str(gateway["config"])],
                             capture_output=True, text=True, timeout=60)
        assert note in out.stdout, out.stdout + out.stderr


def http_chat(port: int, model: str):
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(request_bytes(model))
        [(status, headers, body)] = read_responses(sock, 1)
    return status, headers, body


@pytest.mark.parametrize("length", ["999999999999", "10485761", "9223372036854775807", "4096"])
def test_a_declared_length_is_never_trusted_for_memory(gateway, length):
    """A client's content-length sizes nothing: past the body limit the router answers 413; a huge one with a short
    body and a hang-up leaves the gateway serving (it once sized a buffer by it, and one request took it down)."""
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {KEY}\r\n"
            f"content-type: application/json\r\ncontent-length: {length}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", gateway["port"])) as sock:
        sock.sendall(head + b'{"model": "good"')
        sock.settimeout(2)
        try:
            data = sock.recv(65536)
        except OSError:
            data = b""
        if int(length) > 10 * 1024 * 1024:
            assert data.startswith(b"HTTP/1.1 413"), data[:200]
    status, _, _ = http_chat(gateway["port"], "good")
    assert status == 200


def test_pipelined_bursts_split_anywhere_are_all_answered_in_order(gateway):
    """Forty pipelined requests a round (plain, streamed, and ones the fast path hands over), sent in pieces cut
    at random places, so the parts reach the gateway in every grouping: every one is answered, in order."""
    import random

    rng = random.Random(26)
    kinds = [("good", False), ("good", True), ("garbage", False), ("good", False), ("slow", False), ("slow", True)]
    for round_ in range(12):
        sequence = [rng.choice(kinds) for _ in range(40)]
        payload = b"".join(request_bytes(model, stream) for model, stream in sequence)
        with socket.create_connection(("127.0.0.1", gateway["port"])) as sock:
            position = 0
            while position < len(payload):
                step = rng.choice([1, 7, 60, 300, 1500, 8000])
                sock.sendall(payload[position:position + step])
                position += step
                if rng.random() < 0.2:
                    time.sleep(0.002)
            answers = read_responses(sock, len(sequence), timeout=30)
        for index, ((model, stream), (status, headers, body)) in enumerate(zip(sequence, answers)):
            expected = 502 if model == "garbage" else 200
            assert status == expected, (round_, index, model, stream, status, body[:200])
            if stream:
                assert headers.get("content-type", "").startswith("text/event-stream"), (round_, index, headers)
            elif model in ("good", "slow"):
                assert json.loads(body)["choices"][0]["message"]["content"] == "ok " + model, (round_, index)


HOSTILE_BODIES = {
    "max_tokens 1e309": '{"model": "good", "max_tokens": 1e309, "messages": [{"role": "user", "content": "hi"}]}',
    "max_tokens -1": '{"model": "good", "max_tokens": -1, "messages": [{"role": "user", "content": "hi"}]}',
    "temperature 1e300": '{"model": "good", "temperature": 1e300, "messages": [{"role": "user", "content": "hi"}]}',
    "a 1 MB string": json.dumps({"model": "good", "messages": [{"role": "user", "content": "x" * 1_000_000}]}),
    "deep nesting": '{"model": "good", "messages": [{"role": "user", "content": "hi"}], "metadata": '
                    + '{"a": ' * 5000 + '1' + '}' * 5000 + '}',
    "a duplicate key": '{"model": "good", "model": "stall", "messages": [{"role": "user", "content": "hi"}]}',
    "not an object": '[1, 2, 3]',
}


@pytest.mark.parametrize("name", list(HOSTILE_BODIES))
def test_hostile_bodies_get_the_same_clear_answer_twice(gateway, name):
    """The fast path remembers bodies it has seen; a hostile one must get the same answer the second time
    (a clear 4xx naming the problem, or a plain answer), and never take the gateway down."""
    body = HOSTILE_BODIES[name].encode()
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {KEY}\r\n"
            f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n").encode()
    seen = []
    with socket.create_connection(("127.0.0.1", gateway["port"])) as sock:
        for _ in range(2):
            sock.sendall(head + body)
            [(status, headers, answer)] = read_responses(sock, 1, timeout=30)
            assert status < 500, (name, status, answer[:300])
            if status >= 400:
                error = json.loads(answer)["error"]
                assert error.get("message"), (name, answer[:300])
            seen.append(status)
    assert seen[0] == seen[1], (name, seen)
    assert http("GET", f"http://127.0.0.1:{gateway['port']}/health", timeout=5)[0] == 200
