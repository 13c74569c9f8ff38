"""A small MCP server built with the official Python `mcp` SDK, for Switchyard's tests.

    fixture_server.py stdio
    fixture_server.py http PORT json|sse      (Streamable HTTP at http://127.0.0.1:PORT/mcp)
    fixture_server.py stateless-http PORT     (MCP 2026-07-28 only, written by hand: no initialize)
    fixture_server.py stateless-stdio         (the same over stdin/stdout)

Tools: echo, add, sleep (for timeouts), fail (reports a tool error), crash (the process dies
mid-call, to exercise restarts), pid (the serving process id), ledger (books an entry once per
idempotency key), and `announce` which adds a tool at run time and tells the client that the list
changed.
"""

from __future__ import annotations

import asyncio
import os
import sys

from mcp.server.fastmcp import Context, FastMCP


def build(**settings) -> FastMCP:
    server = FastMCP("switchyard-fixture", **settings)

    @server.tool()
    def echo(text: str) -> str:
        """Returns the text it was given."""
        return text

    @server.tool()
    def add(a: int, b: int) -> int:
        """Adds two whole numbers."""
        return a + b

    @server.tool()
    async def sleep(seconds: float) -> str:
        """Waits, then says how long it waited."""
        await asyncio.sleep(seconds)
        return f"slept {seconds}s"

    @server.tool()
    def fail(reason: str = "as requested") -> str:
        """Always fails with the given reason."""
        raise ValueError(f"fixture failure: {reason}")

    @server.tool()
    def crash() -> str:
        """Kills the server process in the middle of the call."""
        os._exit(3)

    applied: dict[str, int] = {}

    @server.tool()
    def ledger(entry: str, ctx: Context, lose_first_answer: bool = False) -> dict:
        """Books an entry once per idempotency key (`_meta` "io.switchyard/idempotency-key"): a call repeating a
        key is not booked again. With lose_first_answer the first call of a key books, then fails as if its answer
        were lost on the way back."""
        meta = ctx.request_context.meta
        extra = (meta.model_extra or {}) if meta is not None else {}
        key = extra.get("io.switchyard/idempotency-key")
        duplicate = key is not None and key in applied
        if not duplicate:
            applied[key if key is not None else f"no-key-{len(applied)}"] = len(applied) + 1
            if lose_first_answer:
                raise ValueError("the answer was lost on the way back")
        return {"key": key, "duplicate": duplicate, "booked": len(applied), "entry": entry}

    @server.tool()
    def pid() -> int:
        """The id of the process serving this call."""
        return os.getpid()

    @server.tool()
    async def announce(ctx: Context) -> str:
        """Adds the tool `late` and notifies the client that the tool list changed."""

        def late() -> str:
            """A tool that appeared at run time."""
            return "late tool"

        server.add_tool(late, name="late")
        await ctx.session.send_tool_list_changed()
        return "added late"

    return server


STATELESS = "2026-07-28"
STATELESS_TOOLS = [
    {"name": "echo", "description": "Returns the text it was given.",
     "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}},
    {"name": "add", "description": "Adds two whole numbers.",
     "inputSchema": {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                     "required": ["a", "b"]}},
    {"name": "revision", "description": "The protocol revision the call arrived in.",
     "inputSchema": {"type": "object", "properties": {}}},
]


def stateless_answer(message: dict, headers: dict | None = None) -> tuple[int, dict | None]:
    """One JSON-RPC message in the stateless revision: (HTTP status, answer or None for a notification)."""
    if "id" not in message:
        return 202, None
    ident = message["id"]

    def error(status: int, code: int, text: str, data=None):
        body = {"code": code, "message": text}
        if data is not None:
            body["data"] = data
        return status, {"jsonrpc": "2.0", "id": ident, "error": body}

    method = message.get("method", "")
    params = message.get("params") or {}
    meta = params.get("_meta") or {}
    version = meta.get("io.modelcontextprotocol/protocolVersion")
    if method == "initialize" or version is None:
        return error(400, -32601, f"{method}: this server speaks only the stateless revision {STATELESS}")
    if version != STATELESS:
        return error(400, -32022, "Unsupported protocol version", {"supported": [STATELESS], "requested": version})
    if headers is not None and (headers.get("mcp-method") != method or headers.get("mcp-protocol-version") != version):
        return error(400, -32020, "MCP headers do not match the body")
    if "io.modelcontextprotocol/clientCapabilities" not in meta:
        return error(400, -32602, "_meta lacks clientCapabilities")
    result: dict
    if method == "server/discover":
        result = {"supportedVersions": [STATELESS], "capabilities": {"tools": {}}, "ttlMs": 0, "cacheScope": "public"}
    elif method == "tools/list":
        result = {"tools": STATELESS_TOOLS, "ttlMs": 0, "cacheScope": "public"}
    elif method == "tools/call":
        name, args = params.get("name"), params.get("arguments") or {}
        if headers is not None and headers.get("mcp-name") != name:
            return error(400, -32020, "Mcp-Name header does not match params.name")
        if name == "echo":
            text = str(args.get("text", ""))
        elif name == "add":
            text = str(int(args["a"]) + int(args["b"]))
        elif name == "revision":
            text = version
        else:
            return error(200, -32602, f"unknown tool {name}")
        result = {"content": [{"type": "text", "text": text}], "isError": False}
    else:
        return error(200, -32601, f"method not found: {method}")
    result["resultType"] = "complete"
    return 200, {"jsonrpc": "2.0", "id": ident, "result": result}


def serve_stateless_http(port: int) -> None:
    import json
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("content-length", "0"))
            message = json.loads(self.rfile.read(length) or b"{}")
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, answer = stateless_answer(message, headers)
            body = json.dumps(answer).encode() if answer is not None else b""
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def serve_stateless_stdio() -> None:
    import json
    for line in sys.stdin:
        if not line.strip():
            continue
        _, answer = stateless_answer(json.loads(line))
        if answer is not None:
            sys.stdout.write(json.dumps(answer) + "\n")
            sys.stdout.flush()


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "stdio"
    if mode == "stdio":
        build().run("stdio")
    elif mode == "http":
        port = int(sys.argv[2])
        json_response = (sys.argv[3] if len(sys.argv) > 3 else "json") == "json"
        build(host="127.0.0.1", port=port, json_response=json_response, stateless_http=False, log_level="WARNING").run(
            "streamable-http")
    elif mode == "stateless-http":
        serve_stateless_http(int(sys.argv[2]))
    elif mode == "stateless-stdio":
        serve_stateless_stdio()
    else:
        sys.exit(f"unknown mode {mode!r}: use stdio, http PORT json|sse, stateless-http PORT or stateless-stdio")


if __name__ == "__main__":
    main()
