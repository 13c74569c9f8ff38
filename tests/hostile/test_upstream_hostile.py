"""A hostile upstream behind the live gateway: broken numbers, broken HTTP, huge and endless answers.

Each row is fault x provider protocol x streamed or not (x client protocol). Expectations:
  ok    - a 200 with a sane answer;
  sane  - a 200 with a sane answer (usage missing -> estimated with `switchyard.usage_estimated: true`, or
          clamped to 0..1e9 tokens, cost finite and >= 0), or a 502/504 in the client's envelope naming the
          provider (a stream: an error event naming the provider);
  error - a 502/504 naming the provider (a stream: one that ends with an error event);
  retry - the group retries past a 429 with a hostile `retry-after`: a 200 (or the 429 passed on).
Always: an answer within 20 s, the gateway alive, its RSS under 1 GiB, no dropped connection without an
error for non-streamed requests, no stream that stops without an error event.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import pytest

import hostile_lib as hl
import hostile_upstream as hu
from hostile_lib import fail, require_answer

REPLY = hu.REPLY


@dataclass
class UCase:
    fault: str
    kind: str
    stream: bool
    client: str = "openai"  # openai (/v1/chat/completions) | anthropic (/v1/messages) | embed (/v1/embeddings)
    expect: str = "sane"
    via_group: bool = False

    @property
    def id(self) -> str:
        mode = "embed" if self.client == "embed" else ("stream" if self.stream else "json")
        client = "" if self.client in ("openai", "embed") else f"-via-{self.client}"
        return f"{self.fault}-{self.kind}-{mode}{client}"

    @property
    def model(self) -> str:
        if self.client == "embed":
            return hl.embed_model(self.fault, self.kind)
        if self.via_group:
            return hl.retry_group(self.fault, self.kind, self.stream)
        return hl.model(self.fault, self.kind, self.stream)

    @property
    def provider(self) -> str:
        return hl.provider(self.fault, self.kind)


def cases() -> list:
    out = []
    both = (False, True)
    K = hl.KINDS
    # Plumbing: the correct answer passes in every protocol both ways.
    for kind in K:
        for s in both:
            out.append(UCase("ok", kind, s, expect="ok"))
            out.append(UCase("ok", kind, s, client="anthropic", expect="ok"))
    for kind in hl.EMBED_KINDS:
        out.append(UCase("ok", kind, False, client="embed", expect="ok"))
    # Usage counts: huge, negative, out of Int64, strings.
    for fault in hu.USAGE_TOKENS:
        for kind in K:
            for s in both:
                out.append(UCase(fault, kind, s))
        for kind in ("anthropic", "gemini"):
            out.append(UCase(fault, kind, True, client="anthropic"))
        for kind in ("openai", "ollama"):
            out.append(UCase(fault, kind, False, client="embed"))
    # The Anthropic stream's block index.
    for fault in hu.INDEX_TOKENS:
        out.append(UCase(fault, "anthropic", True))
        out.append(UCase(fault, "anthropic", True, client="anthropic"))
    # 429 with hostile retry-after, on a group with retries.
    for fault in hu.RETRY_AFTER:
        for kind in ("openai",):
            for s in both:
                out.append(UCase(fault, kind, s, expect="retry", via_group=True))
    out.append(UCase("ra-inf", "anthropic", False, expect="retry", via_group=True))
    out.append(UCase("ra-1e17", "gemini", True, expect="retry", via_group=True))
    # Broken HTTP and bodies.
    for kind in ("openai", "ollama"):
        out.append(UCase("big-line", kind, True, expect="error"))
    out.append(UCase("big-line", "anthropic", True, client="anthropic", expect="error"))
    for kind in ("openai", "gemini"):
        out.append(UCase("big-body", kind, False, expect="error"))
    out.append(UCase("big-body", "openai", False, client="embed", expect="error"))
    for kind in K:
        for s in both:
            out.append(UCase("gzip-bomb", kind, s, expect="error"))
            out.append(UCase("html", kind, s, expect="error"))
            out.append(UCase("empty", kind, s, expect="error"))
            out.append(UCase("junk", kind, s, expect="error"))
            out.append(UCase("deep", kind, s))
            out.append(UCase("bad-utf8", kind, s))
            out.append(UCase("many-headers", kind, s))
    out.append(UCase("html", "openai", False, client="embed", expect="error"))
    out.append(UCase("deep", "openai", False, client="embed"))
    out.append(UCase("gzip-bomb", "openai", False, client="embed", expect="error"))
    for kind in ("openai", "anthropic"):
        out.append(UCase("cl-short-close", kind, False, expect="error"))
        out.append(UCase("cl-long", kind, False))
        out.append(UCase("cl-negative", kind, False, expect="error"))
        out.append(UCase("cl-huge", kind, False, expect="error"))
        out.append(UCase("status-999", kind, False, expect="error"))
        out.append(UCase("sse-for-json", kind, False))
        out.append(UCase("json-for-sse", kind, True))
    for kind in K:
        out.append(UCase("stream-cut", kind, True, expect="error"))
    out.append(UCase("stream-cut", "openai", True, client="anthropic", expect="error"))
    # Endless answers: the provider timeout is 3 s; the gateway must end them within 20 s.
    out.append(UCase("stream-hang", "openai", True, expect="error"))
    out.append(UCase("cl-short-hang", "openai", False, expect="error"))
    out.append(UCase("hang-head", "openai", False, expect="error"))
    out.append(UCase("hang-head", "openai", True, expect="error"))
    return out


CASES = cases()


def request_for(case: UCase) -> tuple[str, dict]:
    if case.client == "embed":
        return "/v1/embeddings", {"model": case.model, "input": ["hello", "world"]}
    if case.client == "anthropic":
        body = {"model": case.model, "max_tokens": 64, "messages": [{"role": "user", "content": "Say hello."}]}
        if case.stream:
            body["stream"] = True
        return "/v1/messages", body
    body = {"model": case.model, "messages": [{"role": "user", "content": "Say hello."}]}
    if case.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return "/v1/chat/completions", body


def check_error_response(r: hl.RawResponse, case: UCase) -> None:
    envelope = "anthropic" if case.client == "anthropic" else "openai"
    allowed = {502, 504}
    if case.expect == "retry":
        allowed |= {429}
    if r.status not in allowed:
        fail("5XX" if r.status >= 500 else "WRONG STATUS",
             f"expected 200{' / 429' if case.expect == 'retry' else ''} or 502/504; got {r.describe()}")
    err = hl.check_envelope(r, envelope)
    if case.provider not in err.get("message", "") and case.expect != "retry":
        fail("PROVIDER NOT NAMED", f"error does not name provider {case.provider!r}: {r.describe()}")


def check_usage_openai(usage, where: str) -> None:
    if usage is None:
        fail("BAD USAGE", f"no usage in {where}")
    for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
        if not hl.sane_tokens(usage.get(key)):
            fail("BAD USAGE", f"{where}: usage.{key} = {usage.get(key)!r} (want an int in 0..1e9): {usage}")


def check_usage_anthropic(usage, where: str) -> None:
    if usage is None:
        fail("BAD USAGE", f"no usage in {where}")
    for key in ("input_tokens", "output_tokens"):
        if key in usage and not hl.sane_tokens(usage.get(key)):
            fail("BAD USAGE", f"{where}: usage.{key} = {usage.get(key)!r} (want an int in 0..1e9): {usage}")


def check_switchyard(obj, where: str) -> None:
    if not isinstance(obj, dict):
        fail("BAD BODY", f"no `switchyard` object in {where}")
    cost = obj.get("cost_usd")
    if not hl.finite_nonneg(cost):
        fail("BAD COST", f"{where}: switchyard.cost_usd = {cost!r}")


def check_json_answer(r: hl.RawResponse, case: UCase) -> None:
    body = r.json_or_none()
    if not isinstance(body, dict):
        fail("BAD BODY", f"200 without a JSON object: {r.describe()}")
    cost = r.header("x-switchyard-cost-usd")
    try:
        ok_cost = cost is not None and math.isfinite(float(cost)) and float(cost) >= 0
    except ValueError:
        ok_cost = False
    if not ok_cost:
        fail("BAD COST", f"x-switchyard-cost-usd = {cost!r}")
    if case.client == "embed":
        data = body.get("data")
        if not (isinstance(data, list) and len(data) == 2):
            fail("BAD BODY", f"embeddings: {r.describe()}")
        usage = body.get("usage") or {}
        if not hl.sane_tokens(usage.get("prompt_tokens")):
            fail("BAD USAGE", f"embeddings usage.prompt_tokens = {usage.get('prompt_tokens')!r}")
        return
    if case.client == "anthropic":
        text = "".join(b.get("text", "") for b in body.get("content") or [] if isinstance(b, dict))
        check_usage_anthropic(body.get("usage"), "the answer")
    else:
        try:
            text = body["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            fail("BAD BODY", f"no choices[0].message.content: {r.describe()}")
        check_usage_openai(body.get("usage"), "the answer")
    check_switchyard(body.get("switchyard"), "the answer")
    if case.fault in hu.USAGE_TOKENS or case.fault == "ok" or case.expect == "retry":
        if text != REPLY:
            fail("BAD BODY", f"text {text[:200]!r} != {REPLY!r}")


def stream_outcome(r: hl.RawResponse, case: UCase) -> tuple[str, str, dict | None, dict | None, str]:
    """(clean | error | truncated, text, usage, switchyard object, error message) of a streamed answer."""
    events = hl.parse_sse(r.body)
    text, usage, sy, err = "", None, None, ""
    if case.client == "anthropic":
        last = None
        for name, data in events:
            payload = hl.loads(data)
            if not isinstance(payload, dict):
                continue
            last = payload.get("type") or name
            if name == "error" or payload.get("type") == "error":
                return "error", text, usage, sy, json.dumps(payload)
            if payload.get("type") == "content_block_delta":
                text += (payload.get("delta") or {}).get("text", "") or ""
            if payload.get("type") == "message_delta":
                usage = payload.get("usage")
                sy = payload.get("switchyard")
        return ("clean" if last == "message_stop" and not r.incomplete else "truncated"), text, usage, sy, err
    done = False
    for _, data in events:
        if data == "[DONE]":
            done = True
            continue
        payload = hl.loads(data)
        if not isinstance(payload, dict):
            continue
        if "error" in payload:
            return "error", text, usage, sy, json.dumps(payload)
        for choice in payload.get("choices") or []:
            text += ((choice.get("delta") or {}).get("content") or "")
        if payload.get("usage") is not None:
            usage = payload["usage"]
            sy = payload.get("switchyard")
    return ("clean" if done and not r.incomplete else "truncated"), text, usage, sy, err


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_upstream(env, case: UCase):
    path, body = request_for(case)
    r = env.call("POST", path, json_body=body, timeout=hl.UPSTREAM_TIMEOUT, what=case.id)
    require_answer(r, hl.UPSTREAM_TIMEOUT)
    calls = sum(v for k, v in env.counts().items() if k.startswith(f"{case.fault}/{case.kind}/"))
    if calls == 0 and case.fault != "ok":
        fail("SETUP", f"the request never reached the hostile upstream ({r.describe()})")
    if r.status != 200:
        if case.expect == "ok":
            fail("5XX" if r.status >= 500 else "WRONG STATUS", f"expected 200: {r.describe()}")
        if r.incomplete:
            fail("DROPPED", f"error response cut short: {r.describe()}")
        check_error_response(r, case)
        return
    ctype = (r.header("content-type") or "").lower()
    if case.stream and case.client != "embed":
        if "text/event-stream" not in ctype:
            fail("BAD BODY", f"a stream answered with content-type {ctype!r}: {r.describe()}")
        outcome, text, usage, sy, err = stream_outcome(r, case)
        if outcome == "truncated":
            fail("DROPPED", f"the stream stopped without an end or an error event "
                            f"(incomplete={r.incomplete}, error={r.error}); last bytes: {r.body[-300:]!r}")
        if outcome == "error":
            if case.expect == "ok":
                fail("STREAM ERROR", f"expected a clean stream; error event: {err[:500]}")
            if case.provider not in err and case.expect != "retry":
                fail("PROVIDER NOT NAMED", f"stream error event does not name {case.provider!r}: {err[:500]}")
            return
        if case.expect == "error":
            fail("ACCEPTED GARBAGE", f"a clean stream from a broken upstream: text {text[:200]!r}, usage {usage}")
        if case.client == "anthropic":
            check_usage_anthropic(usage, "message_delta")
        else:
            check_usage_openai(usage, "the usage chunk")
        check_switchyard(sy, "the final stream event")
        if case.fault in hu.USAGE_TOKENS or case.fault in hu.INDEX_TOKENS or case.fault == "ok" \
                or case.expect == "retry":
            if text != REPLY:
                fail("BAD BODY", f"streamed text {text[:200]!r} != {REPLY!r}")
        return
    if case.expect == "error":
        fail("ACCEPTED GARBAGE", f"200 for a broken upstream answer: {r.describe()}")
    check_json_answer(r, case)


def test_flaky_group_serves_every_request(env):
    """The group's only deployment fails every other call (503); with 3 attempts each, 40 of 40 succeed."""
    statuses, first_bad_body = [], None
    for i in range(40):
        r = env.call("POST", "/v1/chat/completions",
                     json_body={"model": hl.FLAKY_GROUP, "messages": [{"role": "user", "content": f"hi {i}"}]},
                     timeout=hl.UPSTREAM_TIMEOUT, what=f"flaky request {i}")
        require_answer(r, hl.UPSTREAM_TIMEOUT)
        statuses.append(r.status)
        if r.status != 200 and first_bad_body is None:
            first_bad_body = r.describe()[:400]
    ok = statuses.count(200)
    if ok != 40:
        first_bad = next(i for i, s in enumerate(statuses) if s != 200)
        fail("FLAKY", f"{ok}/40 requests succeeded; statuses: {statuses}; first failure at #{first_bad}; "
                      f"upstream calls: {env.counts()}; first failure: {first_bad_body}")


@pytest.mark.parametrize("fault,stream", [("stream-hang", True), ("cl-short-hang", False), ("hang-head", True)],
                         ids=["stream-hang", "cl-short-hang", "hang-head"])
def test_client_gone_releases_upstream(env, fault, stream):
    """A client that gives up on a hanging answer: the gateway lets go of the upstream connection too,
    within 10 s, instead of holding it until its 300 s read timeout."""
    import socket
    import time
    # Gemini models here: the openai ones are used by test_hostile_upstream, whose hangs may still be open.
    key = f"{fault}/gemini"
    path, body = request_for(UCase(fault, "gemini", stream))
    raw = hl.build_request("POST", path, [("Content-Type", "application/json")], json.dumps(body).encode(),
                           host=env.gw.host)
    s = socket.create_connection(("127.0.0.1", env.gw.port), timeout=5)
    s.sendall(raw)
    deadline = time.monotonic() + 5
    while env.upstream.hanging.get(key) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if env.upstream.hanging.get(key) == 0:
        s.close()
        fail("SETUP", "the hanging fault never held a connection")
    time.sleep(0.5)
    s.close()  # the client gives up
    deadline = time.monotonic() + 10
    while env.upstream.hanging.get(key) > 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    if env.upstream.hanging.get(key) > 0:
        fail("LEAK", f"the gateway still holds {env.upstream.hanging.get(key)} upstream connection(s) to the hanging "
                     f"fault 10 s after the client left")
    env.check_crash(hl.RawResponse(status=200), f"client gone on {fault}")


def test_parallel_huge_answers(env):
    """Two 64 MiB stream lines and two 80 MiB bodies at once: all answered within 20 s, RSS under 1 GiB
    (the guard checks the peak)."""
    from concurrent.futures import ThreadPoolExecutor
    jobs = [UCase("big-line", "openai", True), UCase("big-line", "ollama", True),
            UCase("big-body", "openai", False), UCase("big-body", "gemini", False)]

    def run(case):
        path, body = request_for(case)
        raw = hl.build_request("POST", path, [("Content-Type", "application/json")], json.dumps(body).encode(),
                               host=env.gw.host)
        return case, hl.raw_http("127.0.0.1", env.gw.port, raw, hl.UPSTREAM_TIMEOUT)

    with ThreadPoolExecutor(len(jobs)) as pool:
        results = list(pool.map(run, jobs))
    for case, r in results:
        env.check_crash(r, f"parallel {case.id}")
    problems = [f"{case.id}: {r.describe()[:200]}" for case, r in results
                if r.status is None or r.error or (r.status != 200 and r.status not in (502, 504))]
    if problems:
        fail("WEDGED" if any("timeout" in p for p in problems) else "DROPPED", "; ".join(problems))
    if env.gw.peak_rss > hl.RSS_LIMIT_BYTES:
        fail("RSS", f"peak RSS {env.gw.peak_rss / 2**20:.0f} MiB with four huge answers at once")
