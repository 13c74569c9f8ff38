"""`GET /metrics` (issue 23): after a scripted mix of requests (plain, streamed, cached, failing upstream,
unknown model), the page parses with the official Prometheus client's parser and its counters equal what
was sent; a metrics token reads it, a member key and a wrong token do not; client-given names never become
labels."""

from __future__ import annotations

import json
import subprocess
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from test_first_hour import BIN, free_port, http
from test_workflow_kill import start_gateway

TOKEN = "metrics-token-0123456789abcdef"


def samples(text: str) -> dict:
    """(name, sorted labels) -> value, for every sample on the page."""
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def total(page: dict, metric: str, **labels) -> float:
    return sum(v for (n, ls), v in page.items() if n == metric and all(dict(ls).get(k) == w for k, w in labels.items()))


def stream(url: str, body: dict, key: str) -> int:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"content-type": "application/json", "authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
        return response.status


def test_metrics_count_what_was_sent(tmp_path):
    mock_port, port = free_port(), free_port()
    mock_url, url = f"http://127.0.0.1:{mock_port}", f"http://127.0.0.1:{port}"
    config = tmp_path / "switchyard.yaml"
    config.write_text(f"""
server: {{host: 127.0.0.1, port: {port}}}
storage: {{sqlite: {tmp_path}/gw.sqlite}}
observability: {{metrics_token: {TOKEN}}}
cache: {{exact: true}}
providers:
  - {{name: mock, kind: openai, base_url: "{mock_url}/v1", api_key: dummy}}
models:
  - {{name: small, provider: mock, upstream: gpt-4o-mini, price: {{input: 0.15, output: 0.6}}}}
  - {{name: big, provider: mock, upstream: gpt-4o, price: {{input: 2.5, output: 10}}, cache: {{exact: false}}}}
routing: {{circuit_breaker: {{failures: 1000, min_calls: 1000}}}}
auth:
  keys:
    - {{key: sk-admin-metrics, name: ops, role: admin}}
    - {{key: sk-member-metrics, name: app, budget: {{usd: 5}}}}
""")
    mock = subprocess.Popen([BIN, "mock", "--port", str(mock_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    gateway = None
    try:
        gateway = start_gateway(config, tmp_path, url, "serve.log")
        member = {"authorization": "Bearer sk-member-metrics"}
        chat = lambda model, text, **extra: {"model": model, "messages": [{"role": "user", "content": text}], **extra}
        for i in range(3):  # plain, distinct: three upstream calls
            status, _, body = http("POST", url + "/v1/chat/completions", chat("small", f"plain {i}"), member)
            assert status == 200, body
        for _ in range(2):  # the same request twice more: two exact cache hits
            assert http("POST", url + "/v1/chat/completions", chat("small", "plain 0"), member)[0] == 200
        for i in range(2):  # streamed
            assert stream(url + "/v1/chat/completions", chat("big", f"stream {i}", stream=True), "sk-member-metrics") == 200
        status, _, _ = http("POST", url + "/v1/chat/completions", chat("big", "[[error: 500]] fail"), member)
        assert status >= 500
        status, _, _ = http("POST", url + "/v1/chat/completions", chat("made-up-model-x9", "hi"), member)
        assert status == 404

        # Who may read it.
        assert http("GET", url + "/metrics", headers=member)[0] == 403
        assert http("GET", url + "/metrics", headers={"authorization": "Bearer wrong-token-0123456789"})[0] == 401
        assert http("GET", url + "/metrics")[0] == 401
        status, headers, text = http("GET", url + "/metrics", headers={"authorization": f"Bearer {TOKEN}"})
        assert status == 200, text
        assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
        assert http("GET", url + "/metrics", headers={"authorization": "Bearer sk-admin-metrics"})[0] == 200

        page = samples(text)
        requests = "switchyard_requests_total"
        assert total(page, requests, model="small", status="200") == 5
        assert total(page, requests, model="small", status="200", cache="hit-exact") == 2
        assert total(page, requests, model="small", status="200", cache="miss", provider="mock") == 3
        assert total(page, requests, model="big", status="200") == 2
        assert total(page, requests, model="big", status="500") + total(page, requests, model="big", status="502") == 1
        assert total(page, requests, model="other", status="404") == 1
        assert not any("made-up-model-x9" in json.dumps(ls) for (_, ls) in page), "a client-given name became a label"
        assert total(page, requests) == 9
        assert total(page, "switchyard_cache_lookups_total", outcome="hit") == 2
        assert total(page, "switchyard_cache_lookups_total", outcome="miss") == 3
        # Duration histograms count every request; tokens and cost match the request log.
        assert total(page, "switchyard_request_duration_seconds_count") == 9
        assert total(page, "switchyard_gateway_overhead_seconds_count") == 9
        assert total(page, "switchyard_upstream_time_to_first_byte_seconds_count", provider="mock") == 2

        status, _, body = http("GET", url + "/v1/switchyard/requests?limit=100", headers={"authorization": "Bearer sk-admin-metrics"})
        assert status == 200, body
        log = [r for r in json.loads(body)["data"] if not str(r.get("cache", "")).startswith("hit")]  # upstream tokens only
        logged_in = sum(r.get("prompt_tokens", 0) for r in log)
        logged_out = sum(r.get("completion_tokens", 0) for r in log)
        logged_cost = sum(r.get("cost_usd", 0) for r in log)
        assert logged_in > 0
        assert total(page, "switchyard_tokens_total", direction="input") == logged_in
        assert total(page, "switchyard_tokens_total", direction="output") == logged_out
        assert abs(total(page, "switchyard_cost_usd_total", key="app") - logged_cost) < 1e-9
        assert total(page, "switchyard_circuit_breaker_open", deployment="small") == 0
        remaining = total(page, "switchyard_budget_remaining_usd", scope="key", name="app")
        assert 0 < remaining < 5 and abs(remaining - (5 - logged_cost)) < 1e-6
    finally:
        if gateway is not None:
            gateway.kill()
        mock.kill()
