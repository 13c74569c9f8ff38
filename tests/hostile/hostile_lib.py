"""Shared pieces of the hostile-run suite: a raw HTTP client (so broken requests can be sent and dropped
connections seen as such), the gateway process with its crash and memory watch, and the configuration
catalogue (which model points at which fault)."""

from __future__ import annotations

import json
import math
import os
import re
import select
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import hostile_upstream as hu

REPO = Path(__file__).resolve().parents[2]
CLIENT_TIMEOUT = float(os.environ.get("HOSTILE_CLIENT_TIMEOUT", "10"))
UPSTREAM_TIMEOUT = float(os.environ.get("HOSTILE_UPSTREAM_TIMEOUT", "20"))
RSS_LIMIT_BYTES = 1024 * 1024 * 1024
PROVIDER_TIMEOUT_MS = 3000
# Token counts above this are not "clamped to a sane number".
SANE_TOKENS = 1_000_000_000
SWIFT_BACKTRACE = os.environ.get(
    "HOSTILE_SWIFT_BACKTRACE", "enable=yes,interactive=no,threads=crashed,registers=none,images=none,limit=40,top=12")


# ------------------------------------------------------------------------------------- raw HTTP


@dataclass
class RawResponse:
    status: int | None = None
    reason: str = ""
    headers: list = field(default_factory=list)
    body: bytes = b""
    error: str | None = None  # None | "dropped" | "timeout" | "reset"
    incomplete: bool = False  # the head came but the body was cut short
    elapsed: float = 0.0
    raw_head: bytes = b""

    def header(self, name: str) -> str | None:
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def header_names(self) -> list:
        return [k.lower() for k, _ in self.headers]

    def json(self):
        return json.loads(self.body)

    def json_or_none(self):
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None

    def text(self, limit: int = 600) -> str:
        t = self.body[:limit].decode("utf-8", "replace")
        return t + (f"... [{len(self.body)} bytes]" if len(self.body) > limit else "")

    def describe(self) -> str:
        if self.status is None:
            return f"no response ({self.error}) after {self.elapsed:.1f}s"
        extra = f", {self.error}" if self.error else ""
        extra += ", body cut short" if self.incomplete else ""
        return f"HTTP {self.status} after {self.elapsed:.1f}s{extra}: {self.text()}"


class _Parser:
    """Incremental HTTP/1.1 response parser (content-length, chunked, or until close)."""

    def __init__(self):
        self.buf = bytearray()
        self.head_done = False
        self.resp = RawResponse()
        self.mode = "close"
        self.length = 0
        self.pos = 0  # parse position in buf (after the head)
        self.body = bytearray()
        self.complete = False

    def feed(self, data: bytes) -> None:
        self.buf += data
        if not self.head_done:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[:end])
            self.resp.raw_head = head
            lines = head.split(b"\r\n")
            parts = lines[0].decode("latin-1").split(" ", 2)
            try:
                self.resp.status = int(parts[1])
            except (IndexError, ValueError):
                self.resp.status = -1
            self.resp.reason = parts[2] if len(parts) > 2 else ""
            for line in lines[1:]:
                name, _, value = line.decode("latin-1").partition(":")
                self.resp.headers.append((name.strip(), value.strip()))
            self.head_done = True
            self.pos = end + 4
            te = (self.resp.header("transfer-encoding") or "").lower()
            cl = self.resp.header("content-length")
            if "chunked" in te:
                self.mode = "chunked"
            elif cl is not None and cl.isdigit():
                self.mode = "length"
                self.length = int(cl)
            if self.resp.status in (204, 304) or 100 <= (self.resp.status or 0) < 200:
                self.complete = True
        self._advance()

    def _advance(self) -> None:
        if not self.head_done or self.complete:
            return
        if self.mode == "length":
            avail = len(self.buf) - self.pos
            if avail >= self.length:
                self.body = self.buf[self.pos:self.pos + self.length]
                self.complete = True
        elif self.mode == "chunked":
            while True:
                nl = self.buf.find(b"\r\n", self.pos)
                if nl < 0:
                    return
                size_text = bytes(self.buf[self.pos:nl]).split(b";")[0].strip()
                try:
                    size = int(size_text, 16)
                except ValueError:
                    self.complete = True  # garbage framing: stop here
                    return
                if size == 0:
                    self.complete = True
                    return
                if len(self.buf) < nl + 2 + size + 2:
                    return
                self.body += self.buf[nl + 2:nl + 2 + size]
                self.pos = nl + 2 + size + 2
                # Drop consumed bytes now and then to keep memory flat on long streams.
                if self.pos > (8 << 20):
                    del self.buf[:self.pos]
                    self.pos = 0

    def finish(self) -> RawResponse:
        if self.head_done:
            if self.mode == "close":
                self.body = self.buf[self.pos:]
                self.complete = True
            elif self.mode == "length" and not self.complete:
                self.body = self.buf[self.pos:]
        self.resp.body = bytes(self.body)
        self.resp.incomplete = self.head_done and not self.complete
        return self.resp


def build_request(method: str, path: str, headers: list, body: bytes | None, *, host: str,
                  content_length: str | None = "auto") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    names = {k.lower() for k, _ in headers}
    lines += [f"{k}: {v}" for k, v in headers]
    if "connection" not in names:
        lines.append("Connection: close")
    if body is not None and content_length == "auto" and "content-length" not in names \
            and "transfer-encoding" not in names:
        lines.append(f"Content-Length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")
    return head + (body or b"")


def raw_http(host: str, port: int, request: bytes, timeout: float, *, half_close: bool = False) -> RawResponse:
    """Sends `request` bytes as they are and reads the answer, within `timeout` seconds in total."""
    start = time.monotonic()
    deadline = start + timeout
    parser = _Parser()
    error = None
    try:
        sock = socket.create_connection((host, port), timeout=min(timeout, 5))
    except OSError as e:
        r = RawResponse(error=f"connect failed: {e!r}", elapsed=time.monotonic() - start)
        return r
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        view = memoryview(request)
        sent = 0
        sending = True
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                error = "timeout"
                break
            # Send and read at once: a server may answer (413...) before it has read the whole request.
            readable, writable, _ = select.select([sock], [sock] if sending else [], [], min(remaining, 0.5))
            if writable and sending:
                try:
                    sent += sock.send(view[sent:sent + (1 << 20)])
                except BlockingIOError:
                    pass
                except OSError:
                    sending = False  # the server stopped reading (and may have answered): read what it sent
                if sending and sent >= len(view):
                    sending = False
                    if half_close:
                        try:
                            sock.shutdown(socket.SHUT_WR)
                        except OSError:
                            pass
            if readable:
                try:
                    data = sock.recv(1 << 20)
                except BlockingIOError:
                    continue
                except ConnectionResetError:
                    error = "reset"
                    break
                except OSError as e:
                    error = f"socket error {e!r}"
                    break
                if not data:
                    break
                parser.feed(data)
                if parser.complete:
                    break
    finally:
        sock.close()
    resp = parser.finish()
    resp.elapsed = time.monotonic() - start
    if error:
        resp.error = error
    elif not parser.head_done:
        resp.error = "dropped"
    return resp


def parse_sse(body: bytes) -> list:
    """[(event name or None, data text)] of an SSE body."""
    events = []
    name, data = None, []
    for raw in body.split(b"\n"):
        line = raw.rstrip(b"\r").decode("utf-8", "replace")
        if not line:
            if data:
                events.append((name, "\n".join(data)))
            name, data = None, []
            continue
        if line.startswith(":"):
            continue
        key, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if key == "data":
            data.append(value)
        elif key == "event":
            name = value
    if data:
        events.append((name, "\n".join(data)))
    return events


def loads(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return None


# --------------------------------------------------------------------------------------- gateway


def signal_name(code: int | None) -> str:
    if code is None:
        return "running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


class Gateway:
    """One `switchyard serve` process (restartable), its log, and an RSS sampler."""

    def __init__(self, binary: Path, config: Path, workdir: Path, port: int):
        self.binary, self.config, self.workdir, self.port = binary, config, workdir, port
        self.log_path = workdir / "gateway.log"
        self.popen: subprocess.Popen | None = None
        self.log_offset = 0
        self.incarnation = 0
        self.peak_rss = 0
        self.session_peak_rss = 0
        self._sampler_stop = threading.Event()
        self._sampler: threading.Thread | None = None
        self.crashes: list = []

    # -- process
    def start(self, timeout: float = 90.0) -> None:
        self.incarnation += 1
        self.log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        handle = open(self.log_path, "ab")
        handle.write(f"\n===== gateway start #{self.incarnation} =====\n".encode())
        handle.flush()
        self.log_offset = handle.tell()
        env = dict(os.environ, SWIFT_BACKTRACE=SWIFT_BACKTRACE)
        self.popen = subprocess.Popen(
            [str(self.binary), "serve", "--config", str(self.config), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.workdir, env=env)
        handle.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"gateway {signal_name(self.popen.returncode)} before it was ready:\n{self.output()}")
            r = raw_http("127.0.0.1", self.port, build_request("GET", "/health", [], None, host=self.host), 2)
            if r.status == 200:
                break
            time.sleep(0.1)
        else:
            self.stop()
            raise RuntimeError(f"gateway not ready after {timeout:.0f}s:\n{self.output()}")
        self._start_sampler()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def wait_dead(self, grace: float) -> bool:
        """True when the process has exited (waiting up to `grace` seconds, e.g. for a backtrace)."""
        if self.popen is None:
            return True
        try:
            self.popen.wait(timeout=grace)
            return True
        except subprocess.TimeoutExpired:
            return False

    def died(self, grace: float) -> bool:
        """True when the process has exited. With a grace period, waits for a process that stopped answering
        (a Swift crash spends seconds writing its backtrace) but returns at once when /health still answers."""
        deadline = time.monotonic() + grace
        while True:
            if self.popen is None or self.popen.poll() is not None:
                return True
            if time.monotonic() >= deadline:
                return False
            r = raw_http("127.0.0.1", self.port, build_request("GET", "/health", [], None, host=self.host), 1.0)
            if r.status == 200:
                return False
            time.sleep(0.1)

    def stop(self) -> None:
        self._sampler_stop.set()
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def status(self) -> str:
        return signal_name(self.popen.poll() if self.popen else None)

    # -- log
    def output(self, limit: int = 8000) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self.log_offset)
                data = f.read()
        except OSError:
            return "<no output>"
        return data[-limit:].decode("utf-8", "replace")

    def crash_summary(self) -> str:
        """The fatal-error line and the crashed thread's frames in Switchyard's own sources."""
        text = self.output(limit=400_000)
        lines = text.splitlines()
        keep = [l.strip() for l in lines if "Fatal error" in l or l.startswith("*** Program crashed")
                or l.startswith("*** Swift runtime failure")]
        frames = [re.sub(r"0x[0-9a-f]+ ", "", l.strip()) for l in lines
                  if "/Sources/" in l and "/.build/" not in l and " at " in l]
        frames = [re.sub(r"^\d+\s+(\[\w+\]\s+)*", "", f) for f in frames][:6]
        out = keep[:3] + ["  at " + f for f in frames]
        if not keep and not frames:
            out = lines[-12:]
        return "\n".join(out)

    # -- memory
    def rss_bytes(self) -> int:
        pid = self.pid
        if pid is None:
            return 0
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024
        except (OSError, ValueError):
            pass
        return 0

    def reset_peak(self) -> None:
        self.peak_rss = self.rss_bytes()

    def _start_sampler(self) -> None:
        if self._sampler is not None and self._sampler.is_alive():
            return
        self._sampler_stop.clear()

        def run():
            while not self._sampler_stop.wait(0.1):
                rss = self.rss_bytes()
                if rss > self.peak_rss:
                    self.peak_rss = rss
                if rss > self.session_peak_rss:
                    self.session_peak_rss = rss

        self._sampler = threading.Thread(target=run, name="rss-sampler", daemon=True)
        self._sampler.start()


# ------------------------------------------------------------------------------------- catalogue

KINDS = list(hu.KINDS)
EMBED_KINDS = ["openai", "gemini", "ollama"]
PRICE = {"openai": dict(input=0.15, output=0.60), "anthropic": dict(input=0.8, output=4.0),
         "gemini": dict(input=0.1, output=0.4), "ollama": dict(input=0.05, output=0.05)}
RETRY_GROUP = dict(attempts=3, backoff_ms=10, max_backoff_ms=200)
FLAKY_RETRY = dict(attempts=3, backoff_ms=10, max_backoff_ms=100)
RETRY_GROUP_KINDS = ["openai", "anthropic", "gemini"]


def provider(fault: str, kind: str) -> str:
    return f"p-{fault}-{kind}"


def model(fault: str, kind: str, stream: bool = False) -> str:
    """A chat model on `fault`/`kind`; streamed and non-streamed cases use separate models (separate breakers)."""
    return f"{fault}--{kind}--{'s' if stream else 'n'}"


def embed_model(fault: str, kind: str) -> str:
    return f"e-{fault}--{kind}"


def retry_group(fault: str, kind: str, stream: bool = False) -> str:
    return f"g-{model(fault, kind, stream)}"


OK = {k: model("ok", k) for k in KINDS}
OK_EMBED = {k: embed_model("ok", k) for k in EMBED_KINDS}
OK_GROUP = "g-ok"
GUARDED_GROUP = "g-guarded"
EXPERIMENT = "x-split"
WORKFLOW = "w-one"
MASKED_GROUP = "g-masked"
OK_ROUTE = "r-ok"
FLAKY_GROUP = "g-flaky"
COLLECTION = "docs"


def write_config(path: Path, workdir: Path, gateway_port: int, upstream_port: int) -> None:
    base = f"http://127.0.0.1:{upstream_port}/f"
    providers, models, groups = [], [], []
    for fault in sorted(hu.FAULTS):
        for kind in KINDS:
            url = f"{base}/{fault}/{kind}" + ("/v1" if kind == "openai" else "")
            entry = dict(name=provider(fault, kind), kind=kind, base_url=url, timeout_ms=PROVIDER_TIMEOUT_MS)
            if kind != "ollama":
                entry["api_key"] = "sk-hostile-upstream-key"
            providers.append(entry)
            for stream in (False, True):
                models.append(dict(name=model(fault, kind, stream), provider=provider(fault, kind),
                                   upstream=f"{kind}-upstream-model", price=dict(PRICE[kind]), context_window=128000,
                                   capabilities=["tools", "json", "vision"] if kind != "ollama" else ["tools", "json"]))
            if kind in EMBED_KINDS:
                models.append(dict(name=embed_model(fault, kind), provider=provider(fault, kind),
                                   upstream=f"{kind}-embed-model", type="embedding", price=dict(input=0.02)))
    for fault in sorted(hu.RETRY_AFTER):
        for kind in RETRY_GROUP_KINDS:
            for stream in (False, True):
                groups.append(dict(name=retry_group(fault, kind, stream), strategy="priority",
                                   deployments=[model(fault, kind, stream)], retry=dict(RETRY_GROUP)))
    groups.append(dict(name=FLAKY_GROUP, strategy="priority", deployments=[model("flaky", "openai")],
                       retry=dict(FLAKY_RETRY)))
    groups.append(dict(name=OK_GROUP, strategy="priority", deployments=[OK["openai"], OK["gemini"]],
                       retry=dict(attempts=2, backoff_ms=10, max_backoff_ms=100)))
    # Guardrails (issue 20): the contract's two policies in front of healthy upstreams.
    groups.append(dict(name=GUARDED_GROUP, deployments=[OK["openai"]], guardrails="strict"))
    groups.append(dict(name=MASKED_GROUP, deployments=[OK["anthropic"]], guardrails="private"))
    routes = [dict(name=OK_ROUTE,
                   classifier=dict(rules=[dict(name="hard", keywords=["prove"], task="reasoning", difficulty=3)]),
                   tiers=[dict(name="cheap", groups=[OK["ollama"], OK["gemini"]], max_difficulty=1),
                          dict(name="strong", groups=[OK_GROUP])])]
    config = dict(
        server=dict(host="127.0.0.1", port=gateway_port),
        storage=dict(sqlite=str(workdir / "switchyard.db")),
        providers=providers,
        models=models,
        groups=groups,
        routes=routes,
        retrieval=dict(embedding_model=OK_EMBED["openai"], top_k=4, max_context_tokens=500),
        guardrails=dict(policies=[
            dict(name="strict", input=dict(injection="block", pii="redact"), output=dict(pii="redact", schema=dict(reasks=1))),
            dict(name="private", input=dict(pii="mask")),
        ]),
        # routing: defaults on purpose (the breaker's default settings are part of what is tested).
        # Issue 21/22: an experiment and a one-step workflow over a healthy upstream.
        experiments=[dict(name=EXPERIMENT, variants=[dict(name="a", target=OK["openai"], weight=1),
                                                     dict(name="b", target=OK["anthropic"], weight=1)])],
        workflows=[dict(name=WORKFLOW, max_cost_usd=1, steps=[dict(id="a", llm=dict(model=OK["openai"], prompt="{{input}}"))])],
    )
    import yaml
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def finite_nonneg(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x >= 0


def sane_tokens(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and 0 <= x <= SANE_TOKENS


# ------------------------------------------------------------------------------------ test helpers

import pytest  # noqa: E402


class Env:
    """What a test gets: the gateway, the hostile upstream, and calls that notice crashes and wedges."""

    def __init__(self, gateway: Gateway, upstream: "hu.HostileServer"):
        self.gw = gateway
        self.upstream = upstream

    # -- upstream counts
    def counts(self) -> dict:
        return self.upstream.snapshot()

    def upstream_calls(self) -> int:
        return sum(self.upstream.snapshot().values())

    # -- calls
    def call(self, method: str, path: str, *, json_body=None, body: bytes | None = None, headers=(),
             timeout: float = CLIENT_TIMEOUT, raw: bytes | None = None, half_close: bool = False,
             what: str | None = None) -> RawResponse:
        if not self.gw.alive():
            pytest.fail(f"GATEWAY DOWN before the request ({self.gw.status()})", pytrace=False)
        if raw is None:
            hdrs = list(headers)
            names = {k.lower() for k, _ in hdrs}
            if json_body is not None:
                body = json.dumps(json_body).encode()
            if body is not None and "content-type" not in names:
                hdrs.append(("Content-Type", "application/json"))
            if path.startswith("/v1/messages") and "anthropic-version" not in names:
                hdrs.append(("anthropic-version", "2023-06-01"))
            raw = build_request(method, path, hdrs, body, host=self.gw.host)
        r = raw_http("127.0.0.1", self.gw.port, raw, timeout, half_close=half_close)
        if os.environ.get("HOSTILE_VERBOSE"):
            print(f"\n[{what or path[:80]}] {r.describe()[:400]}")
        self.check_crash(r, what or f"{method} {path[:120]}")
        return r

    def check_crash(self, r: RawResponse, what: str) -> None:
        suspicious = r.status is None or r.incomplete or r.error is not None
        if self.gw.died(grace=15.0 if suspicious else 0.0):
            self.gw.crashes.append(what)
            pytest.fail(f"CRASH: gateway {self.gw.status()} during {what}\n{self.gw.crash_summary()}\n"
                        f"--- last 8 KB of gateway output ---\n{self.gw.output()}", pytrace=False)


def fail(category: str, message: str) -> None:
    pytest.fail(f"{category}: {message}", pytrace=False)


def require_answer(r: RawResponse, timeout: float) -> None:
    """The gateway answered at all (not wedged, not a dropped connection)."""
    if r.error == "timeout":
        fail("WEDGED", f"no complete answer within {timeout:.0f}s ({r.describe()})")
    if r.status is None:
        fail("DROPPED", f"connection closed without any response ({r.error}) after {r.elapsed:.1f}s")


def check_envelope(r: RawResponse, envelope: str | None) -> dict | None:
    """The error body is in the client's own envelope; returns the inner error object."""
    if envelope is None:
        return None
    body = r.json_or_none()
    if envelope == "openai":
        err = body.get("error") if isinstance(body, dict) else None
        if not (isinstance(err, dict) and isinstance(err.get("message"), str) and isinstance(err.get("type"), str)):
            fail("BAD ENVELOPE", f"expected OpenAI {{error: {{message, type}}}}; got {r.describe()}")
        return err
    if envelope == "anthropic":
        err = body.get("error") if isinstance(body, dict) else None
        if not (isinstance(body, dict) and body.get("type") == "error" and isinstance(err, dict)
                and isinstance(err.get("message"), str) and isinstance(err.get("type"), str)):
            fail("BAD ENVELOPE", f"expected Anthropic {{type: error, error: {{type, message}}}}; got {r.describe()}")
        return err
    if envelope == "mcp":
        if not (isinstance(body, dict) and body.get("jsonrpc") == "2.0" and isinstance(body.get("error"), dict)):
            fail("BAD ENVELOPE", f"expected a JSON-RPC error; got {r.describe()}")
        return body["error"]
    raise AssertionError(envelope)


def names_field(err: dict | None, names) -> bool:
    if not names or err is None:
        return True
    text = (str(err.get("message", "")) + " " + str(err.get("param") or "")).lower()
    # Whole words only (`n` must not match the n of "not valid").
    return any(re.search(r"(?<![a-z0-9_])" + re.escape(n.lower()) + r"(?![a-z0-9_])", text) for n in names)


def expect_client_error(env: Env, r: RawResponse, *, envelope: str | None, names=(), allow_200: bool = False,
                        calls_before: int | None = None, allow_closed: bool = False,
                        timeout: float = CLIENT_TIMEOUT) -> None:
    """A hostile-client case: a 4xx in the client's envelope naming the field (or a 200 where the row allows
    it), never a 5xx, a dropped connection or a wedge; bad input never reaches the upstream."""
    if allow_closed and r.status is None and r.error in ("dropped", "reset"):
        return
    require_answer(r, timeout)
    if r.incomplete:
        fail("DROPPED", f"response cut short: {r.describe()}")
    status = r.status
    if status >= 500:
        fail("5XX", f"{r.describe()}")
    if status == 200 and allow_200:
        return
    if not 400 <= status < 500:
        fail("WRONG STATUS", f"expected 4xx{' or 200' if allow_200 else ''}; got {r.describe()}")
    err = check_envelope(r, envelope)
    if not names_field(err, names):
        fail("FIELD NOT NAMED", f"error does not name any of {list(names)}: {r.describe()}")
    if calls_before is not None and not allow_200:
        after = env.upstream_calls()
        if after != calls_before:
            fail("UPSTREAM CALLED", f"bad input reached the upstream ({after - calls_before} call(s)); "
                                    f"answer: {r.describe()}")
