"""`serve` opens a provider's `prewarm_connections` as it starts, and its requests then go out on those
connections (none is opened for them): counted by an upstream that numbers the connections it accepts."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time

import pytest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from test_first_hour import BIN, free_port, http

COMPLETION = json.dumps({
    "id": "c1", "object": "chat.completion", "created": 1, "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}).encode()


class CountingUpstream(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        self.lock = threading.Lock()
        self.connections = 0
        self.requests: list[str] = []
        self.headers_seen: list[dict] = []
        super().__init__(("127.0.0.1", 0), Handler)

    def get_request(self):
        connection = super().get_request()
        with self.lock:
            self.connections += 1
        return connection


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a connection serves many requests

    def log_message(self, *args):
        pass

    def answer(self, body: bytes):
        with self.server.lock:
            self.server.requests.append(f"{self.command} {self.path}")
            self.server.headers_seen.append(dict(self.headers))
        if self.command == "GET":
            time.sleep(0.1)  # the prewarming requests overlap, so each needs a connection of its own
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.answer(b'{"object": "list", "data": []}')

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.answer(COMPLETION)


@pytest.mark.parametrize("pool", ["full", "fast"])
def test_prewarmed_connections_carry_the_first_requests(tmp_path, pool):
    # With `max_connections` the provider is the full path's (its pool counts connections exactly); without it the
    # fast path reaches it, and its own per-loop pools are prewarmed: two a loop, so every loop has one.
    warm = 4 if pool == "full" else 2 * (os.cpu_count() or 1)
    limit = "max_connections: 4, " if pool == "full" else ""
    upstream = CountingUpstream()
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    port = free_port()
    config = tmp_path / "switchyard.yaml"
    config.write_text(f"""
server: {{host: 127.0.0.1, port: {port}}}
storage: {{sqlite: {tmp_path}/gw.sqlite}}
providers:
  - {{name: warm, kind: openai, base_url: "http://127.0.0.1:{upstream.server_port}/v1", api_key: sk-warm-secret-789,
     {limit}prewarm_connections: {warm}}}
models:
  - {{name: small, provider: warm, price: {{input: 0.15, output: 0.6}}}}
""")
    log_path = tmp_path / "serve.log"
    gateway = subprocess.Popen([BIN, "serve", "--config", str(config)], cwd=tmp_path,
                               env={**os.environ, "SWITCHYARD_STATE_DIR": str(tmp_path / "state")},
                               stdout=open(log_path, "wb"), stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            with upstream.lock:
                if len(upstream.requests) >= warm:
                    break
            time.sleep(0.1)
        time.sleep(0.5)
        with upstream.lock:
            assert upstream.requests == ["GET /v1/models"] * warm, upstream.requests
            assert upstream.connections == warm, upstream.connections
            # The prewarming GETs carry the provider's key, as a real call would.
            assert all(h.get("authorization") == "Bearer sk-warm-secret-789" for h in upstream.headers_seen)
        while time.time() < deadline:
            try:
                if http("GET", f"http://127.0.0.1:{port}/health", timeout=2)[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        for _ in range(8):
            # urllib asks for `Connection: close`: the fast path serves it all the same, and says it closes.
            status, headers, body = http("POST", f"http://127.0.0.1:{port}/v1/chat/completions",
                                         {"model": "small", "messages": [{"role": "user", "content": "hi"}]})
            assert status == 200, body
            lower = {k.lower(): v for k, v in headers.items()}
            assert lower.get("x-switchyard-path") == ("fast" if pool == "fast" else None), headers
            if pool == "fast":
                assert lower.get("connection", "").lower() == "close", headers
        with upstream.lock:
            assert upstream.requests.count("POST /v1/chat/completions") == 8
            assert upstream.connections == warm, f"the requests opened {upstream.connections - warm} more connections"
    finally:
        gateway.terminate()
        gateway.wait(timeout=30)
        upstream.shutdown()
    log = log_path.read_text()
    opened = f"'warm': {warm} connections" if pool == "full" else f"'warm': {warm} fast-path connections"
    assert f"{opened} opened ahead of traffic" in log, log[-3000:]
    assert "sk-warm-secret-789" not in log
