"""The first hour with Switchyard (issue 17): the demo gateway, then every CLI command a newcomer
types after the README's two commands. Each test names the item it covers.

A demo gateway runs on a free port with its own state folder (SWITCHYARD_STATE_DIR), started from an
empty folder; CLI commands run from another empty folder, so they can only find the gateway the way a
user's would.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = os.environ.get("SWITCHYARD_BIN") or str(REPO / ".build" / "debug" / "switchyard")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method: str, url: str, body: dict | None = None, headers: dict | None = None, timeout: float = 30):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


class Demo:
    def __init__(self, state: Path, port: int, workdir: Path, extra_env: dict | None = None, args: list[str] | None = None):
        self.port, self.state, self.url = port, state, f"http://127.0.0.1:{port}"
        self.env = {**os.environ, "SWITCHYARD_STATE_DIR": str(state), **(extra_env or {})}
        self.env.pop("SWITCHYARD_URL", None)
        self.log = workdir / f"serve-{port}.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen([BIN, "serve", "--port", str(port), *(args or [])], cwd=workdir, env=self.env,
                                         stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.time() + 90
        while time.time() < deadline:
            assert self.proc.poll() is None, f"serve exited: {self.log.read_text()[-3000:]}"
            try:
                if http("GET", self.url + "/health", timeout=2)[0] == 200 and self.registered():
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"demo not ready: {self.log.read_text()[-3000:]}")

    def registered(self) -> bool:
        return (self.state / f"gateway-{self.port}.json").exists()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)

    def chat(self, model="demo-gpt", text="hello", **extra):
        status, headers, body = http("POST", self.url + "/v1/chat/completions",
                                     {"model": model, "messages": [{"role": "user", "content": text}], **extra})
        assert status == 200, body
        return {k.lower(): v for k, v in headers.items()}, json.loads(body)


def cli(args: list[str], env: dict, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([BIN, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("first-hour")


@pytest.fixture(scope="module")
def demo(workdir):
    gateway = Demo(workdir / "state", free_port(), workdir)
    yield gateway
    gateway.stop()


@pytest.fixture
def elsewhere(tmp_path) -> Path:
    """An empty folder to run commands from: no switchyard.yaml to lean on."""
    return tmp_path


# 1. `logs` right after requests sees them (it used to miss them for ~0.3 s).
def test_logs_show_the_requests_just_made(demo, elsewhere):
    for attempt in range(3):
        headers, _ = demo.chat(text=f"fresh {attempt}")
        result = cli(["logs", "--limit", "1", "--json"], demo.env, elsewhere)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout.splitlines()[0])["id"] == headers["x-switchyard-request-id"]


# 2. Each demo gateway has its own state: logs never show another gateway's rows.
def test_each_demo_gateway_has_its_own_database(demo, workdir, elsewhere):
    other = Demo(workdir / "state", free_port(), workdir)
    try:
        headers, _ = other.chat(text="only on the other one")
        mine = cli(["logs", "--limit", "200", "--json"], {**demo.env, "SWITCHYARD_URL": demo.url}, elsewhere)
        theirs = cli(["logs", "--limit", "200", "--json"], {**demo.env, "SWITCHYARD_URL": other.url}, elsewhere)
        assert mine.returncode == 0 and theirs.returncode == 0, mine.stderr + theirs.stderr
        assert headers["x-switchyard-request-id"] in theirs.stdout
        assert headers["x-switchyard-request-id"] not in mine.stdout
        assert (demo.state / f"demo-{demo.port}").is_dir() and (demo.state / f"demo-{other.port}").is_dir()
    finally:
        other.stop()


# 3. The binary gets a stable place (bin/switchyard) and the README uses it throughout.
def test_serve_links_the_binary_and_the_readme_uses_it():
    serve = (REPO / "scripts" / "serve.sh").read_text()
    assert "ln -sfn ../.build/release/switchyard bin/switchyard" in serve and "export PATH" in serve
    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"```(?:bash|sh)\n(.*?)```", readme, re.S)
    commands = [line.strip() for block in blocks for line in block.splitlines()]
    assert not [c for c in commands if c.startswith("switchyard ") or ".build/release/switchyard" in c]
    assert any(c.startswith("bin/switchyard ") for c in commands)


# 4. In demo mode every layer is on and every command works without flags.
def test_demo_commands_work_without_flags(demo, elsewhere):
    headers, _ = demo.chat(model="auto", text="Prove it step by step")
    assert headers["x-switchyard-model"] == "demo-claude" and headers["x-switchyard-route"].startswith("auto")
    explain = cli(["explain", headers["x-switchyard-request-id"]], demo.env, elsewhere)
    assert explain.returncode == 0 and "tier" in explain.stdout and "demo-claude" in explain.stdout, explain.stderr
    models = cli(["models"], demo.env, elsewhere)
    assert models.returncode == 0 and "demo-claude" in models.stdout, models.stderr
    demo.chat(text="cache me")
    again, _ = demo.chat(text="cache me")
    assert again["x-switchyard-cache"] == "hit-exact"
    stats = cli(["cache", "stats"], demo.env, elsewhere)
    assert stats.returncode == 0 and re.search(r"exact_hits\s+[1-9]", stats.stdout), stats.stdout + stats.stderr
    search = cli(["search", "docs", "wifi password", "--top-k", "1"], demo.env, elsewhere)
    assert search.returncode == 0 and "wifi" in search.stdout, search.stdout + search.stderr
    _, grounded = demo.chat(text="What is the wifi password?", switchyard={"retrieval": {"collection": "docs"}})
    assert grounded["switchyard"].get("citations"), grounded
    tools = cli(["tools", "list"], demo.env, elsewhere)
    assert tools.returncode == 0 and "chat" in tools.stdout and "search_collection" in tools.stdout, tools.stderr
    if "time__get_current_time" in tools.stdout:  # the official server is installed (serve.sh, test.sh do it)
        call = cli(["tools", "call", "time__get_current_time", '{"timezone": "UTC"}'], demo.env, elsewhere)
        assert call.returncode == 0 and "UTC" in call.stdout, call.stderr


# 5. `ingest` takes several paths (a shell glob).
def test_ingest_takes_several_paths(demo, elsewhere):
    (elsewhere / "a.md").write_text("# Alpha\nThe zebra code word is periwinkle.")
    (elsewhere / "b.md").write_text("# Beta\nThe yak code word is marmalade.")
    result = cli(["ingest", "a.md", "b.md", "--collection", "notes", "--quiet"], demo.env, elsewhere)
    assert result.returncode == 0, result.stderr
    assert "ingested 2 files" in result.stdout
    deadline = time.time() + 15  # the gateway reloads changed collections within retrieval.sync_s (2 s)
    while True:
        status, _, body = http("POST", demo.url + "/v1/switchyard/collections/notes/search", {"query": "marmalade", "top_k": 1})
        if status == 200 and json.loads(body)["results"]:
            assert json.loads(body)["results"][0]["document_id"] == "b.md"
            break
        assert time.time() < deadline, body
        time.sleep(0.5)


# 6. A port in use: no banner, the port, a hint, a temporary-failure status.
def test_a_port_in_use_is_named_with_a_hint(demo, workdir, elsewhere):
    result = cli(["serve", "--port", str(demo.port)], demo.env, elsewhere, timeout=60)
    assert result.returncode == 75, result.stdout + result.stderr
    assert f"Port {demo.port}" in result.stderr and "--port" in result.stderr
    assert "DEMO MODE" not in result.stdout and "errno" not in result.stderr and ")\n" not in result.stderr


# 7. A provider whose key variable is unset: the warning names it, and so does the request's 502.
def test_an_unset_key_variable_is_named(workdir, elsewhere):
    mock_port, port = free_port(), free_port()
    mock = subprocess.Popen([BIN, "mock", "--port", str(mock_port), "--openai-key", "sk-real"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    config = elsewhere / "switchyard.yaml"
    config.write_text(f"""server: {{host: 127.0.0.1, port: {port}}}
storage: {{sqlite: {elsewhere}/k.db}}
providers: [{{name: openai, kind: openai, base_url: "http://127.0.0.1:{mock_port}/v1", api_key: "${{MY_OPENAI_KEY}}"}}]
models: [{{name: m, provider: openai, price: {{input: 1, output: 1}}}}]
""")
    env = {**os.environ, "SWITCHYARD_STATE_DIR": str(elsewhere / "state")}
    env.pop("MY_OPENAI_KEY", None)
    log = elsewhere / "serve.log"
    with open(log, "wb") as out:
        gateway = subprocess.Popen([BIN, "serve", "--config", str(config)], cwd=elsewhere, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 60
        while True:
            assert gateway.poll() is None, log.read_text()
            try:
                if http("GET", f"http://127.0.0.1:{port}/health", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            assert time.time() < deadline, log.read_text()
            time.sleep(0.2)
        assert "${MY_OPENAI_KEY} is not set" in log.read_text()
        status, _, body = http("POST", f"http://127.0.0.1:{port}/v1/chat/completions",
                               {"model": "m", "messages": [{"role": "user", "content": "hi"}]})
        assert status == 502 and "${MY_OPENAI_KEY} is not set" in json.loads(body)["error"]["message"], body
    finally:
        gateway.terminate()
        mock.terminate()
        gateway.wait(timeout=30)
        mock.wait(timeout=30)


# 8. Runtime errors: one line, a distinct status, no usage text. Usage errors keep ArgumentParser's.
def test_runtime_errors_are_one_line_with_a_distinct_status(demo, elsewhere):
    missing = cli(["explain", "req_nope"], demo.env, elsewhere)
    assert missing.returncode == 66, missing
    assert missing.stderr.strip().startswith("Error: ") and len(missing.stderr.strip().splitlines()) == 1
    assert "Usage" not in missing.stderr
    down = cli(["cache", "stats", "--url", f"http://127.0.0.1:{free_port()}"], demo.env, elsewhere)
    assert down.returncode == 69 and "Usage" not in down.stderr, down
    usage = cli(["logs", "--limit", "0"], demo.env, elsewhere)
    assert usage.returncode == 64 and "Usage:" in usage.stderr, usage


def test_help_still_prints_help(elsewhere):
    for args in (["--help"], ["serve", "--help"], ["help", "logs"], ["cache", "stats", "--help"]):
        result = cli(args, dict(os.environ), elsewhere)
        assert result.returncode == 0, result
        assert "USAGE:" in result.stdout and "Error" not in result.stdout + result.stderr, result


# 9. created_at is Unix time.
def test_created_at_is_unix_time(demo):
    demo.chat(text="what time is it")
    status, _, body = http("GET", demo.url + "/v1/switchyard/requests?limit=1")
    assert status == 200
    assert abs(json.loads(body)["data"][0]["created_at"] - time.time()) < 300


# 10. The README states the prerequisites and the first build's time.
def test_the_readme_states_the_prerequisites():
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Prerequisites"):readme.index("## Two commands")]
    for fact in ("Swift 6.1", "sudo", "apt-get", "venv", "PyPI"):
        assert fact in section, fact
    assert re.search(r"first release build takes about \d+ minutes", section), section


# `doctor` checks a deployment and names the fix for what fails.
def test_doctor(demo, elsewhere):
    healthy = cli(["doctor"], demo.env, elsewhere)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "ok    config" in healthy.stdout and "provider mock-openai" in healthy.stdout
    broken = elsewhere / "broken.yaml"
    broken.write_text(f"""storage: {{sqlite: {elsewhere}/b.db}}
providers: [{{name: gone, kind: openai, base_url: "http://127.0.0.1:{free_port()}/v1"}}]
models: [{{name: m, provider: gone, price: {{input: 1, output: 1}}}}]
""")
    failing = cli(["doctor", "--config", str(broken), "--timeout", "2"], demo.env, elsewhere)
    assert failing.returncode == 78 and "FAIL  provider gone" in failing.stdout and "fix:" in failing.stdout, failing.stdout


# The README's "Try it", pasted in one go against the demo, works as written.
def test_the_readme_try_it_block_works_as_written(demo, tmp_path):
    readme = (REPO / "README.md").read_text()
    block = readme[readme.index("## Try it"):]
    block = re.search(r"```bash\n(.*?)```", block, re.S).group(1)
    script = block.replace("localhost:4000", f"localhost:{demo.port}").replace("bin/switchyard", BIN)
    for line in script.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        result = subprocess.run(["bash", "-o", "pipefail", "-c", line], cwd=REPO, env={**demo.env, "SWITCHYARD_URL": demo.url},
                                capture_output=True, text=True, timeout=180)
        assert result.returncode == 0, f"{line}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        assert result.stdout.strip(), line
