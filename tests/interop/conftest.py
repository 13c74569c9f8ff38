"""Interop fixtures: the official `openai` and `anthropic` SDKs against a live Switchyard.

One session starts `switchyard mock` (the fake upstreams, requiring the upstream keys) and
`switchyard serve` with a generated config pointing at it; every test gets fresh mock
recordings and no scripted faults.
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
GATEWAY_KEY = "sk-switchyard-test"
HR_KEY = "sk-switchyard-hr"
OPENAI_UPSTREAM_KEY = "sk-upstream-secret-openai"
ANTHROPIC_UPSTREAM_KEY = "sk-upstream-secret-anthropic"
GEMINI_UPSTREAM_KEY = "upstream-secret-gemini"
WRONG_KEYS = ("sk-upstream-secret-wrong-openai", "sk-upstream-secret-wrong-anthropic", "upstream-secret-wrong-gemini")
SECRETS = (OPENAI_UPSTREAM_KEY, ANTHROPIC_UPSTREAM_KEY, GEMINI_UPSTREAM_KEY, "sk-upstream-secret",
           "upstream-secret-") + WRONG_KEYS
STARTUP_TIMEOUT_S = 60.0

# Public model name -> facts the tests check against.
MODELS = {
    "m-openai": dict(provider="up-openai", protocol="openai", upstream="gpt-4o-mini",
                     price=dict(input=0.15, output=0.60, cached_input=0.075)),
    "m-anthropic": dict(provider="up-anthropic", protocol="anthropic", upstream="claude-3-5-haiku-latest",
                        price=dict(input=0.8, output=4.0)),
    "m-gemini": dict(provider="up-gemini", protocol="gemini", upstream="gemini-2.0-flash",
                     price=dict(input=0.1, output=0.4)),
    "m-ollama": dict(provider="up-ollama", protocol="ollama", upstream="llama3.2",
                     price=dict(input=0, output=0)),
    # Same upstreams with a discounted cached-input price, so caching visibly reduces cost
    # for every provider that reports cached tokens (not only OpenAI).
    "c-anthropic": dict(provider="up-anthropic", protocol="anthropic", upstream="claude-3-5-haiku-latest",
                        price=dict(input=0.8, output=4.0, cached_input=0.08)),
    "c-gemini": dict(provider="up-gemini", protocol="gemini", upstream="gemini-2.0-flash",
                     price=dict(input=0.1, output=0.4, cached_input=0.025)),
    # Error-path aliases, so upstream failures never count against the models the happy-path tests use.
    "x-openai": dict(provider="up-openai", protocol="openai", upstream="gpt-4o-mini",
                     price=dict(input=0.15, output=0.60, cached_input=0.075)),
    "x-anthropic": dict(provider="up-anthropic", protocol="anthropic", upstream="claude-3-5-haiku-latest",
                        price=dict(input=0.8, output=4.0)),
    "x-gemini": dict(provider="up-gemini", protocol="gemini", upstream="gemini-2.0-flash",
                     price=dict(input=0.1, output=0.4)),
    "x-ollama": dict(provider="up-ollama", protocol="ollama", upstream="llama3.2",
                     price=dict(input=0, output=0)),
    # Unreachable upstream (a closed port) and an upstream with a short timeout.
    # OpenAI-compatible upstream marked `responses_api: native`: /v1/responses passes through.
    "n-openai": dict(provider="up-openai-native", protocol="openai", upstream="gpt-4o-mini",
                     price=dict(input=0.15, output=0.60, cached_input=0.075)),
    "m-dead": dict(provider="up-dead", protocol="openai", upstream="gpt-4o-mini",
                   price=dict(input=0.15, output=0.60)),
    "m-slow": dict(provider="up-slow", protocol="openai", upstream="gpt-4o-mini",
                   price=dict(input=0.15, output=0.60)),
    "m-dead-gemini": dict(provider="up-dead-gemini", protocol="gemini", upstream="gemini-2.0-flash",
                          price=dict(input=0.1, output=0.4)),
    "m-slow-gemini": dict(provider="up-slow-gemini", protocol="gemini", upstream="gemini-2.0-flash",
                          price=dict(input=0.1, output=0.4)),
    # Providers configured with a wrong upstream key: the mock answers 401 and the gateway must neither
    # leak the key nor blame the caller's (valid) gateway key.
    "m-wrongkey-openai": dict(provider="up-wrongkey-openai", protocol="openai", upstream="gpt-4o-mini",
                              price=dict(input=0.15, output=0.60)),
    "m-wrongkey-anthropic": dict(provider="up-wrongkey-anthropic", protocol="anthropic",
                                 upstream="claude-3-5-haiku-latest", price=dict(input=0.8, output=4.0)),
    "m-wrongkey-gemini": dict(provider="up-wrongkey-gemini", protocol="gemini", upstream="gemini-2.0-flash",
                              price=dict(input=0.1, output=0.4)),
}
BATCH_DISCOUNT = 0.5
EMBEDDING_MODEL = "e-openai"
EMBEDDING_PRICE = 0.02
PROVIDER_MODELS = ["m-openai", "m-anthropic", "m-gemini", "m-ollama"]
ERROR_MODEL = {m: "x-" + m[2:] for m in PROVIDER_MODELS}
CONFIGURED_MODELS = ["m-openai", "m-anthropic", "m-gemini", "m-ollama", "e-openai"]


# A three-step workflow over two providers (tests/interop/test_workflows.py). `[[echo]]` makes the mock answer
# with the prompt itself, so each step's output carries the one before it and the final answer is predictable.
WORKFLOW_STEP_MODELS = {"draft": "m-openai", "review": "m-anthropic", "final": "m-openai"}
WORKFLOW = dict(
    name="draft-and-check",
    description="Draft with one model, review with another, format with the first.",
    steps=[
        dict(id="draft", llm=dict(model="m-openai", prompt="[[echo]] Answer briefly: {{input}}")),
        dict(id="review", llm=dict(model="m-anthropic", prompt="[[echo]] Improve this answer: {{steps.draft.output}}")),
        dict(id="final", llm=dict(model="m-openai", prompt="[[echo]] Format for the customer: {{steps.review.output}}")),
    ],
)


def expected_workflow_answer(question: str) -> str:
    return f"Format for the customer: Improve this answer: Answer briefly: {question}"


def expected_default_reply(model: str) -> str:
    info = MODELS[model]
    return f"Mock reply from {info['protocol']} model {info['upstream']}."


def expected_cost(model: str, prompt: int, completion: int, cached: int = 0) -> float:
    price = MODELS[model]["price"]
    cached_price = price.get("cached_input", price["input"])
    return ((prompt - cached) * price["input"] + cached * cached_price + completion * price["output"]) / 1e6


def nonce() -> str:
    return uuid.uuid4().hex[:10]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_port() -> int:
    # Bound then released: nothing listens on it afterwards (good enough for "unreachable").
    return free_port()


def assert_no_secrets(*texts) -> None:
    for text in texts:
        if text is None:
            continue
        if not isinstance(text, str):
            text = json.dumps(text, default=str) if not isinstance(text, (bytes, bytearray)) else text.decode("utf-8", "replace")
        for secret in SECRETS:
            assert secret not in text, f"upstream secret {secret!r} leaked: {text[:500]}"


def assert_headers_have_no_secrets(headers) -> None:
    assert_no_secrets("\n".join(f"{k}: {v}" for k, v in headers.items()))


def switchyard_binary() -> Path:
    env = os.environ.get("SWITCHYARD_BIN")
    path = Path(env) if env else REPO / ".build" / "debug" / "switchyard"
    if not path.is_file():
        pytest.exit(f"switchyard binary not found at {path}; run `swift build --product switchyard` "
                    f"or set SWITCHYARD_BIN", returncode=2)
    return path


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log: Path

    def output(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-8000:]
        except OSError:
            return "<no output>"

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)


def start(name: str, args: list[str], workdir: Path) -> Proc:
    log = workdir / f"{name}.log"
    handle = open(log, "wb")
    popen = subprocess.Popen(args, stdout=handle, stderr=subprocess.STDOUT, cwd=workdir,
                             stdin=subprocess.DEVNULL)
    handle.close()
    return Proc(name, popen, log)


def wait_ready(proc: Proc, url: str, timeout: float = STARTUP_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            pytest.exit(f"{proc.name} exited with status {proc.popen.returncode} before it was ready.\n"
                        f"--- {proc.name} output ---\n{proc.output()}", returncode=3)
        try:
            r = httpx.get(url, timeout=2)
            if r.status_code == 200:
                return
            last = f"HTTP {r.status_code}: {r.text[:200]}"
        except httpx.HTTPError as e:
            last = repr(e)
        time.sleep(0.1)
    proc.stop()
    pytest.exit(f"{proc.name} not ready at {url} after {timeout:.0f}s (last: {last}).\n"
                f"--- {proc.name} output ---\n{proc.output()}", returncode=3)


class Mock:
    """Client for the mock upstream's introspection API."""

    def __init__(self, base: str):
        self.base = base
        self.http = httpx.Client(base_url=base, timeout=10)

    def requests(self) -> list[dict]:
        r = self.http.get("/_mock/requests")
        r.raise_for_status()
        return r.json()

    def requests_containing(self, marker: str) -> list[dict]:
        return [req for req in self.requests() if marker in json.dumps(req.get("body"))]

    def only_request_containing(self, marker: str) -> dict:
        found = self.requests_containing(marker)
        assert found, f"no upstream request contains {marker!r}; recorded: {json.dumps(self.requests())[:2000]}"
        return found[-1]

    def clear(self) -> None:
        self.http.delete("/_mock/requests").raise_for_status()
        self.http.delete("/_mock/faults").raise_for_status()

    def fault(self, upstream_model: str, fault: str, count: int) -> None:
        r = self.http.post("/_mock/faults", json={"model": upstream_model, "fault": fault, "count": count})
        assert r.status_code < 300, r.text


@dataclass
class Stack:
    gateway: str
    mock_url: str
    workdir: Path
    gateway_proc: Proc
    mock_proc: Proc


def write_config(path: Path, gateway_port: int, mock_port: int, workdir: Path) -> None:
    mock = f"http://127.0.0.1:{mock_port}"
    providers = [
        dict(name="up-openai", kind="openai", base_url=f"{mock}/v1", api_key=OPENAI_UPSTREAM_KEY),
        dict(name="up-anthropic", kind="anthropic", base_url=mock, api_key=ANTHROPIC_UPSTREAM_KEY),
        dict(name="up-gemini", kind="gemini", base_url=mock, api_key=GEMINI_UPSTREAM_KEY),
        dict(name="up-ollama", kind="ollama", base_url=mock),
        dict(name="up-openai-native", kind="openai", base_url=f"{mock}/v1", api_key=OPENAI_UPSTREAM_KEY,
             responses_api="native"),
        dict(name="up-dead", kind="openai", base_url=f"http://127.0.0.1:{closed_port()}/v1",
             api_key=OPENAI_UPSTREAM_KEY),
        dict(name="up-slow", kind="openai", base_url=f"{mock}/v1", api_key=OPENAI_UPSTREAM_KEY, timeout_ms=1000),
        dict(name="up-dead-gemini", kind="gemini", base_url=f"http://127.0.0.1:{closed_port()}",
             api_key=GEMINI_UPSTREAM_KEY),
        dict(name="up-slow-gemini", kind="gemini", base_url=mock, api_key=GEMINI_UPSTREAM_KEY, timeout_ms=1000),
        dict(name="up-wrongkey-openai", kind="openai", base_url=f"{mock}/v1", api_key=WRONG_KEYS[0]),
        dict(name="up-wrongkey-anthropic", kind="anthropic", base_url=mock, api_key=WRONG_KEYS[1]),
        dict(name="up-wrongkey-gemini", kind="gemini", base_url=mock, api_key=WRONG_KEYS[2]),
    ]
    models = []
    for name, info in MODELS.items():
        entry = dict(name=name, provider=info["provider"], upstream=info["upstream"], price=dict(info["price"]))
        if name == "m-openai":
            entry["context_window"] = 128000
            entry["batch_discount"] = BATCH_DISCOUNT  # batch requests cost half (tests/interop/test_batches.py)
        entry["capabilities"] = ["tools", "json"] if info["protocol"] == "ollama" else ["tools", "json", "vision"]
        models.append(entry)
    models.append(dict(name=EMBEDDING_MODEL, provider="up-openai", upstream="text-embedding-3-small",
                       type="embedding", price=dict(input=EMBEDDING_PRICE)))
    config = dict(
        server=dict(host="127.0.0.1", port=gateway_port),
        storage=dict(sqlite=str(workdir / "switchyard.db")),
        providers=providers,
        models=models,
        # Routing: a group whose first deployment is unreachable, and an auto route over tiers.
        groups=[dict(name="g-failover", strategy="priority", deployments=["m-dead", "m-anthropic", "m-gemini"],
                     retry=dict(attempts=1))],
        routes=[dict(name="auto",
                     classifier=dict(rules=[dict(name="hard", keywords=["prove"], task="reasoning", difficulty=3)]),
                     tiers=[dict(name="cheap", groups=["m-ollama", "m-gemini"], max_difficulty=1),
                            dict(name="strong", groups=["g-failover"])])],
        # The suite provokes many upstream errors on purpose; it does not test the breaker.
        routing=dict(circuit_breaker=dict(failures=100000, min_calls=100000)),
        # The second key may read documents restricted to the `hr` group (retrieval tests).
        auth=dict(keys=[GATEWAY_KEY, dict(key=HR_KEY, name="hr", groups=["hr"])]),
        workflows=[WORKFLOW],
    )
    path.write_text(yaml.safe_dump(config, sort_keys=False))


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Stack:
    binary = switchyard_binary()
    workdir = tmp_path_factory.mktemp("switchyard")
    mock_port, gateway_port = free_port(), free_port()
    while gateway_port == mock_port:
        gateway_port = free_port()
    mock_proc = start("mock", [str(binary), "mock", "--host", "127.0.0.1", "--port", str(mock_port),
                               "--openai-key", OPENAI_UPSTREAM_KEY,
                               "--anthropic-key", ANTHROPIC_UPSTREAM_KEY,
                               "--gemini-key", GEMINI_UPSTREAM_KEY], workdir)
    gateway_proc = None
    try:
        mock_url = f"http://127.0.0.1:{mock_port}"
        wait_ready(mock_proc, f"{mock_url}/_mock/requests")
        config = workdir / "switchyard.yaml"
        write_config(config, gateway_port, mock_port, workdir)
        gateway_proc = start("gateway", [str(binary), "serve", "--config", str(config),
                                         "--host", "127.0.0.1", "--port", str(gateway_port)], workdir)
        gateway = f"http://127.0.0.1:{gateway_port}"
        wait_ready(gateway_proc, f"{gateway}/health")
        yield Stack(gateway, mock_url, workdir, gateway_proc, mock_proc)
    finally:
        if gateway_proc is not None:
            gateway_proc.stop()
        mock_proc.stop()


@pytest.fixture(scope="session")
def gateway_url(stack) -> str:
    return stack.gateway


@pytest.fixture(scope="session")
def mock_session(stack) -> Mock:
    return Mock(stack.mock_url)


@pytest.fixture
def mock(mock_session) -> Mock:
    mock_session.clear()
    yield mock_session
    mock_session.clear()


@pytest.fixture(autouse=True)
def _fresh_mock(mock, stack):
    # Every test starts with no recordings and no faults at the mock, and a crash shows up where it happened.
    yield
    for proc in (stack.gateway_proc, stack.mock_proc):
        if proc.popen.poll() is not None:
            pytest.fail(f"{proc.name} exited with status {proc.popen.returncode} during this test.\n"
                        f"--- {proc.name} output ---\n{proc.output()}")


@pytest.fixture(scope="session")
def oai(stack):
    import openai
    client = openai.OpenAI(api_key=GATEWAY_KEY, base_url=f"{stack.gateway}/v1", max_retries=0, timeout=30)
    yield client
    client.close()


@pytest.fixture(scope="session")
def ant(stack):
    import anthropic
    client = anthropic.Anthropic(api_key=GATEWAY_KEY, base_url=stack.gateway, max_retries=0, timeout=30)
    yield client
    client.close()


@pytest.fixture(scope="session")
def http(stack) -> httpx.Client:
    client = httpx.Client(base_url=stack.gateway, timeout=30)
    yield client
    client.close()


def fetch_log_record(http: httpx.Client, request_id: str, timeout: float = 3.5) -> dict:
    """The request-log line for `request_id` (the log is written asynchronously in batches)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        r = http.get("/v1/switchyard/requests", params={"limit": 200},
                     headers={"authorization": f"Bearer {GATEWAY_KEY}"})
        assert r.status_code == 200, f"GET /v1/switchyard/requests -> {r.status_code}: {r.text[:500]}"
        last = r.json()
        for record in last.get("data", []):
            if record.get("id") == request_id:
                return record
        if time.monotonic() > deadline:
            raise AssertionError(f"request {request_id} not in the request log after {timeout}s; "
                                 f"latest ids: {[x.get('id') for x in last.get('data', [])[:10]]}")
        time.sleep(0.1)


def close(a: float, b: float, tol: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=0, abs_tol=tol)


def system_text_at_upstream(protocol: str, body: dict) -> str:
    if protocol in ("openai", "ollama"):
        return " ".join(str(m.get("content")) for m in body.get("messages", [])
                        if m.get("role") in ("system", "developer"))
    if protocol == "anthropic":
        system = body.get("system")
        if isinstance(system, list):
            return " ".join(block.get("text", "") for block in system)
        return system or ""
    if protocol == "gemini":
        instruction = body.get("systemInstruction") or body.get("system_instruction") or {}
        return " ".join(part.get("text", "") for part in instruction.get("parts", []))
    raise AssertionError(protocol)


def sampling_at_upstream(protocol: str, body: dict) -> dict:
    """max_tokens / temperature / stop as the upstream protocol carries them."""
    if protocol == "openai":
        return dict(max_tokens=body.get("max_completion_tokens", body.get("max_tokens")),
                    temperature=body.get("temperature"), stop=body.get("stop"))
    if protocol == "anthropic":
        return dict(max_tokens=body.get("max_tokens"), temperature=body.get("temperature"),
                    stop=body.get("stop_sequences"))
    if protocol == "gemini":
        config = body.get("generationConfig") or body.get("generation_config") or {}
        return dict(max_tokens=config.get("maxOutputTokens", config.get("max_output_tokens")),
                    temperature=config.get("temperature"),
                    stop=config.get("stopSequences", config.get("stop_sequences")))
    if protocol == "ollama":
        options = body.get("options") or {}
        return dict(max_tokens=options.get("num_predict"), temperature=options.get("temperature"),
                    stop=options.get("stop"))
    raise AssertionError(protocol)


def check_error_headers(response, model: str) -> None:
    """An upstream failure still says which request, model and provider it was."""
    headers = response.headers
    assert headers.get("x-switchyard-request-id"), dict(headers)
    assert headers.get("x-switchyard-model") == model, f"x-switchyard-model missing/wrong on an error: {dict(headers)}"
    assert headers.get("x-switchyard-provider") == MODELS[model]["provider"], \
        f"x-switchyard-provider missing/wrong on an error: {dict(headers)}"


def tools_at_upstream(protocol: str, body: dict) -> dict:
    """Tool name -> parameter JSON schema, as the upstream protocol carries tool definitions."""
    tools = body.get("tools") or []
    if protocol in ("openai", "ollama"):
        return {t["function"]["name"]: t["function"].get("parameters") for t in tools if t.get("type") == "function"}
    if protocol == "anthropic":
        return {t["name"]: t.get("input_schema") for t in tools}
    if protocol == "gemini":
        out = {}
        for group in tools:
            for decl in group.get("functionDeclarations") or group.get("function_declarations") or []:
                out[decl["name"]] = decl.get("parameters") or decl.get("parametersJsonSchema")
        return out
    raise AssertionError(protocol)


def images_at_upstream(protocol: str, body: dict) -> list[tuple[str, str]]:
    """(media type, base64 data) of every inline image in the upstream request."""
    found = []
    if protocol == "openai":
        for m in body.get("messages", []):
            if isinstance(m.get("content"), list):
                for part in m["content"]:
                    if part.get("type") == "image_url":
                        url = part["image_url"]["url"]
                        head, _, data = url.partition(",")
                        found.append((head.removeprefix("data:").removesuffix(";base64"), data))
    elif protocol == "anthropic":
        for m in body.get("messages", []):
            if isinstance(m.get("content"), list):
                for part in m["content"]:
                    if part.get("type") == "image" and part.get("source", {}).get("type") == "base64":
                        found.append((part["source"]["media_type"], part["source"]["data"]))
    elif protocol == "gemini":
        for c in body.get("contents", []):
            for part in c.get("parts", []):
                inline = part.get("inlineData") or part.get("inline_data")
                if inline:
                    found.append((inline.get("mimeType") or inline.get("mime_type"), inline["data"]))
    elif protocol == "ollama":
        for m in body.get("messages", []):
            for data in m.get("images") or []:
                found.append(("", data))
    return found


# A 1x1 transparent PNG.
PNG_1PX = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
VISION_MODELS = ["m-openai", "m-anthropic", "m-gemini"]


def forced_tool_at_upstream(protocol: str, body: dict) -> str | None:
    """The name of the tool the upstream request forces, in that protocol's tool_choice shape."""
    if protocol == "openai":
        choice = body.get("tool_choice")
        return (choice or {}).get("function", {}).get("name") if isinstance(choice, dict) else None
    if protocol == "anthropic":
        choice = body.get("tool_choice") or {}
        return choice.get("name") if choice.get("type") == "tool" else None
    if protocol == "gemini":
        config = (body.get("toolConfig") or body.get("tool_config") or {})
        calling = config.get("functionCallingConfig") or config.get("function_calling_config") or {}
        names = calling.get("allowedFunctionNames") or calling.get("allowed_function_names") or []
        return names[0] if calling.get("mode") == "ANY" and len(names) == 1 else None
    raise AssertionError(protocol)
