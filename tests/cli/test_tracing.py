"""Traces (issue 23): `serve` with the standard OTEL_* variables pointing at a real OTLP receiver (here, one that
decodes with the official `opentelemetry-proto` package, over OTLP/HTTP protobuf and over gRPC). A request sent with
a W3C `traceparent` produces spans in that trace: the server span (child of the client's), the gateway's span with
the GenAI attributes and the request id, its stages, and a client span per upstream attempt; the upstream receives
a `traceparent` of the same trace."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import threading
import time
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from test_first_hour import BIN, free_port, http
from test_workflow_kill import start_gateway


class Collected:
    def __init__(self):
        self.spans, self.lock = [], threading.Lock()

    def add(self, request: trace_service_pb2.ExportTraceServiceRequest, transport: str):
        with self.lock:
            for resource_spans in request.resource_spans:
                service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}.get("service.name")
                for scope in resource_spans.scope_spans:
                    for span in scope.spans:
                        attributes = {}
                        for a in span.attributes:
                            v = a.value
                            kind = v.WhichOneof("value")
                            attributes[a.key] = list(x.string_value for x in v.array_value.values) if kind == "array_value" \
                                else getattr(v, kind) if kind else None
                        self.spans.append(dict(name=span.name, trace=span.trace_id.hex(), id=span.span_id.hex(),
                                               parent=span.parent_span_id.hex(), kind=span.kind, attributes=attributes,
                                               service=service, transport=transport))

    def in_trace(self, trace: str):
        with self.lock:
            return [s for s in self.spans if s["trace"] == trace]


def http_receiver(collected: Collected):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            if self.path == "/v1/traces":
                request = trace_service_pb2.ExportTraceServiceRequest()
                request.ParseFromString(body)
                collected.add(request, "http")
            payload = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def grpc_receiver(collected: Collected):
    class Service(trace_service_pb2_grpc.TraceServiceServicer):
        def Export(self, request, context):
            collected.add(request, "grpc")
            return trace_service_pb2.ExportTraceServiceResponse()

    port = free_port()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Service(), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    return server, port


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_request_spans_reach_an_otlp_receiver(tmp_path, protocol):
    collected = Collected()
    if protocol == "grpc":
        receiver, receiver_port = grpc_receiver(collected)
        stop = lambda: receiver.stop(0)
    else:
        receiver = http_receiver(collected)
        receiver_port = receiver.server_address[1]
        stop = receiver.shutdown
    mock_port, port = free_port(), free_port()
    mock_url, url = f"http://127.0.0.1:{mock_port}", f"http://127.0.0.1:{port}"
    config = tmp_path / "switchyard.yaml"
    config.write_text(f"""
server: {{host: 127.0.0.1, port: {port}}}
storage: {{sqlite: {tmp_path}/gw.sqlite}}
providers:
  - {{name: mock, kind: openai, base_url: "{mock_url}/v1", api_key: dummy}}
models:
  - {{name: small, provider: mock, upstream: gpt-4o-mini, price: {{input: 0.15, output: 0.6}}}}
""")
    env_before = dict(os.environ)
    os.environ.update({
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{receiver_port}", "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_SERVICE_NAME": "switchyard-under-test", "OTEL_BSP_SCHEDULE_DELAY": "100", "SWITCHYARD_LOG_FORMAT": "json",
    })
    mock = subprocess.Popen([BIN, "mock", "--port", str(mock_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    gateway = None
    try:
        gateway = start_gateway(config, tmp_path, url, "serve.log")
        trace, parent = secrets.token_hex(16), secrets.token_hex(8)
        status, headers, body = http("POST", url + "/v1/chat/completions",
                                     {"model": "small", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 50},
                                     {"traceparent": f"00-{trace}-{parent}-01"})
        assert status == 200, body
        request_id = headers["x-switchyard-request-id"]

        spans = []
        deadline = time.time() + 20
        while time.time() < deadline:
            spans = collected.in_trace(trace)
            # The server span ends after the answer is written, so it can reach the receiver in a later batch than
            # the rest: wait for it too (the loop once stopped before it came, and the check below failed).
            if any(s["attributes"].get("switchyard.request_id") == request_id for s in spans) \
                    and any(s["kind"] == 3 for s in spans) and any(s["parent"] == parent for s in spans):
                break
            time.sleep(0.1)
        names = sorted(s["name"] for s in spans)
        assert spans and all(s["transport"] == protocol.split("/")[0] for s in spans), names
        assert all(s["service"] == "switchyard-under-test" for s in spans)
        server = [s for s in spans if s["parent"] == parent]
        assert len(server) == 1 and server[0]["kind"] == 2, names  # SERVER, the child of the client's span
        gateway_span = next(s for s in spans if s["name"] == "chat small")
        a = gateway_span["attributes"]
        assert a["switchyard.request_id"] == request_id
        assert a["gen_ai.operation.name"] == "chat" and a["gen_ai.request.model"] == "small"
        assert a["gen_ai.response.model"] == "gpt-4o-mini" and a["gen_ai.provider.name"] == "mock"
        assert a["gen_ai.usage.input_tokens"] > 0 and a["gen_ai.usage.output_tokens"] > 0
        assert a["gen_ai.request.max_tokens"] == 50
        for stage in ("switchyard.ground", "switchyard.guard", "switchyard.route_and_cache"):
            assert any(s["name"] == stage and s["parent"] == gateway_span["id"] for s in spans), (stage, names)
        attempt = next(s for s in spans if s["name"] == "chat gpt-4o-mini")
        assert attempt["kind"] == 3 and attempt["parent"] == gateway_span["id"]  # CLIENT
        assert attempt["attributes"]["gen_ai.request.model"] == "gpt-4o-mini"

        # The upstream got the same trace in its traceparent.
        status, _, body = http("GET", mock_url + "/_mock/requests")
        sent = [r.get("headers", {}) for r in json.loads(body)]
        assert any(h.get("traceparent", "").split("-")[1:2] == [trace] for h in sent), sent

        # A streamed answer: its server span ends after the stream's last byte and is exported like the others.
        stream_trace = secrets.token_hex(16)
        status, headers, body = http("POST", url + "/v1/chat/completions",
                                     {"model": "small", "stream": True, "messages": [{"role": "user", "content": "hello"}]},
                                     {"traceparent": f"00-{stream_trace}-{parent}-01"})
        assert status == 200 and "[DONE]" in body, body
        deadline = time.time() + 20
        while time.time() < deadline and not any(s["kind"] == 2 for s in collected.in_trace(stream_trace)):
            time.sleep(0.1)
        streamed = collected.in_trace(stream_trace)
        server = [s for s in streamed if s["kind"] == 2]
        assert len(server) == 1 and server[0]["parent"] == parent, streamed
        assert server[0]["attributes"].get("http.response.status_code") == 200

        # Logs are JSON lines; a request's lines carry its trace id.
        gateway.terminate()
        gateway.wait(timeout=30)
        lines = [json.loads(line) for line in (tmp_path / "serve.log").read_text().splitlines() if line.startswith("{")]
        assert lines and all({"ts", "level", "message"} <= set(line) for line in lines)
    finally:
        os.environ.clear()
        os.environ.update(env_before)
        if gateway is not None and gateway.poll() is None:
            gateway.kill()
        mock.kill()
        stop()


@pytest.mark.parametrize("variable, value", [
    ("OTEL_TRACES_SAMPLER", "sometimes"), ("OTEL_TRACES_SAMPLER_ARG", "1e300"), ("OTEL_BSP_MAX_QUEUE_SIZE", "-1"),
    ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"), ("OTEL_EXPORTER_OTLP_HEADERS", "authorization"),
])
def test_a_bad_otel_variable_stops_serve_naming_it(tmp_path, variable, value):
    config = tmp_path / "switchyard.yaml"
    config.write_text(f"""
server: {{host: 127.0.0.1, port: {free_port()}}}
storage: {{sqlite: {tmp_path}/gw.sqlite}}
providers:
  - {{name: mock, kind: openai, base_url: "http://127.0.0.1:9/v1", api_key: dummy}}
models:
  - {{name: small, provider: mock, price: {{input: 0.15, output: 0.6}}}}
""")
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", variable: value,
           "SWITCHYARD_STATE_DIR": str(tmp_path / "state")}
    done = subprocess.run([BIN, "serve", "--config", str(config)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert variable in done.stderr + done.stdout, done.stderr[-2000:]
    assert "Fatal error" not in done.stderr


def test_a_receiver_that_is_down_costs_requests_nothing(tmp_path):
    """Spans to a port nobody listens on: every request still answers, and the gateway stops cleanly."""
    mock_port, port = free_port(), free_port()
    mock_url, url = f"http://127.0.0.1:{mock_port}", f"http://127.0.0.1:{port}"
    config = tmp_path / "switchyard.yaml"
    config.write_text(f"""
server: {{host: 127.0.0.1, port: {port}}}
storage: {{sqlite: {tmp_path}/gw.sqlite}}
observability:
  tracing: {{endpoint: "http://127.0.0.1:{free_port()}", protocol: grpc, schedule_delay_ms: 50}}
providers:
  - {{name: mock, kind: openai, base_url: "{mock_url}/v1", api_key: dummy}}
models:
  - {{name: small, provider: mock, price: {{input: 0.15, output: 0.6}}}}
""")
    mock = subprocess.Popen([BIN, "mock", "--port", str(mock_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    gateway = None
    try:
        gateway = start_gateway(config, tmp_path, url, "serve.log")
        for _ in range(30):
            status, _, body = http("POST", url + "/v1/chat/completions",
                                   {"model": "small", "messages": [{"role": "user", "content": "hi"}]})
            assert status == 200, body
        deadline = time.time() + 20
        failed = 0
        while time.time() < deadline:
            _, _, page = http("GET", url + "/metrics")
            page = page if isinstance(page, str) else page.decode()
            failed = sum(float(line.split()[-1]) for line in page.splitlines()
                         if line.startswith('switchyard_trace_spans_total{outcome="failed"}'))
            if failed > 0:
                break
            time.sleep(0.3)
        assert failed > 0, page[-2000:]
        gateway.terminate()
        assert gateway.wait(timeout=30) == 0
        log = (tmp_path / "serve.log").read_text()
        assert "span export failed" in log and log.count("span export failed") <= 2, log[-3000:]
    finally:
        if gateway is not None and gateway.poll() is None:
            gateway.kill()
        mock.kill()
