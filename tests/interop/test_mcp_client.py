"""The official Python `mcp` client drives Switchyard's `/mcp` endpoint.

A gateway of its own (beside the session's) connects to the official `mcp-server-time` reference
server over stdio and serves its tools plus `chat` (answered by the session's mock upstream).
One key is unrestricted; the other may use `time__*` only.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import httpx
import pytest
import yaml
from mcp import ClientSession
from mcp.client import streamable_http
from mcp.shared.exceptions import McpError

from conftest import OPENAI_UPSTREAM_KEY, free_port, start, switchyard_binary, wait_ready

FULL_KEY = "sk-mcp-interop-full"
TIME_KEY = "sk-mcp-interop-time-only"


@pytest.fixture(scope="module")
def mcp_gateway(stack, tmp_path_factory) -> str:
    time_server = Path(sys.executable).parent / "mcp-server-time"
    assert time_server.is_file(), f"mcp-server-time missing from the interop venv ({time_server}); re-run tests/interop/run.sh"
    workdir = tmp_path_factory.mktemp("switchyard-mcp")
    port = free_port()
    config = dict(
        server=dict(host="127.0.0.1", port=port),
        storage=dict(sqlite=str(workdir / "switchyard.db"), flush_ms=50),
        providers=[dict(name="up-openai", kind="openai", base_url=f"{stack.mock_url}/v1", api_key=OPENAI_UPSTREAM_KEY)],
        models=[dict(name="m-openai", provider="up-openai", upstream="gpt-4o-mini", price=dict(input=0.15, output=0.6),
                     capabilities=["tools", "json"])],
        mcp=dict(servers=[dict(name="time", command=str(time_server), args=["--local-timezone", "UTC"])]),
        auth=dict(keys=[FULL_KEY, dict(key=TIME_KEY, name="time-only", tools=["time__*"])]),
    )
    path = workdir / "switchyard.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    proc = start("gateway-mcp", [str(switchyard_binary()), "serve", "--config", str(path)], workdir)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(proc, f"{url}/health")
        yield f"{url}/mcp"
    finally:
        proc.stop()


async def _session(url: str, key: str, body):
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(headers=headers, timeout=30) as http:
        if hasattr(streamable_http, "streamable_http_client"):  # mcp >= 1.24
            transport = streamable_http.streamable_http_client(url, http_client=http)
        else:
            transport = streamable_http.streamablehttp_client(url, headers=headers)
        async with transport as (read, write, _):
            async with ClientSession(read, write) as session:
                init = await session.initialize()
                return init, await body(session)


async def _wait_for_tools(session: ClientSession, timeout: float = 30.0):
    """The gateway answers at once; its MCP servers may still be starting."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        listed = await session.list_tools()
        if any(t.name.startswith("time__") for t in listed.tools) or asyncio.get_running_loop().time() > deadline:
            return listed
        await asyncio.sleep(0.2)


def test_initialize_list_and_call(mcp_gateway):
    async def body(session: ClientSession):
        listed = await _wait_for_tools(session)
        result = await session.call_tool("time__get_current_time", {"timezone": "Europe/Berlin"})
        chat = await session.call_tool("chat", {"model": "m-openai", "prompt": "[[reply: hello over MCP]]"})
        return listed, result, chat

    init, (listed, result, chat) = asyncio.run(_session(mcp_gateway, FULL_KEY, body))
    assert init.serverInfo.name == "switchyard"
    assert init.protocolVersion in ("2025-06-18", "2025-11-25")
    names = [t.name for t in listed.tools]
    assert names == ["chat", "search_collection", "time__convert_time", "time__get_current_time"]
    schema = next(t for t in listed.tools if t.name == "time__get_current_time").inputSchema
    assert "timezone" in schema["properties"]
    assert not result.isError
    assert "Europe/Berlin" in result.content[0].text
    assert not chat.isError
    assert chat.content[0].text == "hello over MCP"


def test_limited_key_sees_and_calls_only_its_tools(mcp_gateway):
    async def body(session: ClientSession):
        listed = await _wait_for_tools(session)
        allowed = await session.call_tool("time__convert_time",
                                          {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"})
        with pytest.raises(McpError) as refused:
            await session.call_tool("chat", {"model": "m-openai", "prompt": "hi"})
        return listed, allowed, refused.value

    _, (listed, allowed, refused) = asyncio.run(_session(mcp_gateway, TIME_KEY, body))
    assert [t.name for t in listed.tools] == ["time__convert_time", "time__get_current_time"]
    assert "21:00" in allowed.content[0].text
    assert "not allowed" in str(refused)


def test_wrong_key_is_refused(mcp_gateway):
    async def body(session: ClientSession):
        return await session.list_tools()

    with pytest.raises(BaseException):
        asyncio.run(asyncio.wait_for(_session(mcp_gateway, "sk-not-a-key", body), timeout=20))
    # The refusal itself, as the HTTP transport sees it.
    r = httpx.post(mcp_gateway, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                   headers={"Authorization": "Bearer sk-not-a-key", "Accept": "application/json, text/event-stream"})
    assert r.status_code == 401
    assert r.json()["error"]["message"] == "Invalid API key."


def test_cli_lists_and_calls_tools(tmp_path):
    """`switchyard tools list|call` against the official time server."""
    import json
    import subprocess

    time_server = Path(sys.executable).parent / "mcp-server-time"
    path = tmp_path / "switchyard.yaml"
    path.write_text(yaml.safe_dump(dict(storage=dict(sqlite=":memory:"),
                                        mcp=dict(servers=[dict(name="time", command=str(time_server))]))))
    binary = str(switchyard_binary())

    def run(*args):
        return subprocess.run([binary, "tools", *args, "--config", str(path)], capture_output=True, text=True, timeout=120)

    listed = run("list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [t["name"] for t in json.loads(listed.stdout)["tools"]] == ["chat", "search_collection", "time__convert_time", "time__get_current_time"]
    called = run("call", "time__get_current_time", '{"timezone": "UTC"}')
    assert called.returncode == 0, called.stderr
    assert json.loads(called.stdout)["timezone"] == "UTC"
    failed = run("call", "time__get_current_time", '{"timezone": "Nowhere/Nope"}')
    assert failed.returncode == 1
    assert "Nowhere/Nope" in failed.stdout
    unknown = run("call", "nope__tool", "{}")
    assert unknown.returncode == 66  # not found, as the README's exit statuses say
    assert "There is no tool named 'nope__tool'." in unknown.stderr


# --- the stateless revision 2026-07-28, on the same endpoint -----------------------------------------

STATELESS = "2026-07-28"


def stateless_call(url: str, key: str, method: str, params: dict | None = None, version: str = STATELESS,
                   headers: dict | None = None, request_id=1):
    meta = {"io.modelcontextprotocol/protocolVersion": version, "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "interop", "version": "1"}}
    body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": {**(params or {}), "_meta": meta}}
    sent = {"authorization": f"Bearer {key}", "accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": version, "Mcp-Method": method, **(headers or {})}
    return httpx.post(url, json=body, headers=sent, timeout=30)


def test_stateless_discover_list_and_call_without_a_handshake(mcp_gateway):
    discover = stateless_call(mcp_gateway, FULL_KEY, "server/discover")
    assert discover.status_code == 200, discover.text
    result = discover.json()["result"]
    assert result["resultType"] == "complete"
    assert result["supportedVersions"][0] == STATELESS and "2025-11-25" in result["supportedVersions"]
    assert "tools" in result["capabilities"]
    assert result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "switchyard"
    assert result["ttlMs"] >= 0 and result["cacheScope"] in ("public", "private")
    assert "mcp-session-id" not in {k.lower() for k in discover.headers}

    deadline = asyncio.get_event_loop_policy().new_event_loop().time() + 30
    import time
    while True:  # the time server's tools appear once it has started
        listed = stateless_call(mcp_gateway, TIME_KEY, "tools/list", request_id=2).json()["result"]
        names = {tool["name"] for tool in listed["tools"]}
        if any(name.startswith("time__") for name in names) or time.time() > deadline:
            break
        time.sleep(0.3)
    assert listed["resultType"] == "complete" and listed["cacheScope"] == "private" and listed["ttlMs"] >= 0
    assert names and all(name.startswith("time__") for name in names), names  # the key's tool globs apply
    called = stateless_call(mcp_gateway, TIME_KEY, "tools/call",
                            {"name": "time__get_current_time", "arguments": {"timezone": "UTC"}}, request_id=3)
    result = called.json()["result"]
    assert result["resultType"] == "complete" and not result.get("isError"), result
    assert "UTC" in json.dumps(result["content"])


def test_stateless_version_and_header_errors(mcp_gateway):
    unsupported = stateless_call(mcp_gateway, FULL_KEY, "tools/list", version="2099-01-01")
    assert unsupported.status_code == 400
    error = unsupported.json()["error"]
    assert error["code"] == -32022
    assert error["data"]["requested"] == "2099-01-01" and STATELESS in error["data"]["supported"]
    mismatch = stateless_call(mcp_gateway, FULL_KEY, "tools/list", headers={"Mcp-Method": "tools/call"})
    assert mismatch.status_code == 400 and mismatch.json()["error"]["code"] == -32020
    wrong_header = stateless_call(mcp_gateway, FULL_KEY, "tools/list", headers={"MCP-Protocol-Version": "2025-11-25"})
    assert wrong_header.status_code == 400 and wrong_header.json()["error"]["code"] == -32020


def test_initialize_asking_for_the_stateless_revision_gets_the_newest_handshake_version(mcp_gateway):
    r = httpx.post(mcp_gateway, json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": STATELESS, "capabilities": {}, "clientInfo": {"name": "x", "version": "1"}}},
        headers={"authorization": f"Bearer {FULL_KEY}", "accept": "application/json, text/event-stream"}, timeout=30)
    assert r.status_code == 200
    assert r.json()["result"]["protocolVersion"] == "2025-11-25"
