"""A small MCP server built with the official Python `mcp` SDK, for Switchyard's tests.

    fixture_server.py stdio
    fixture_server.py http PORT json|sse      (Streamable HTTP at http://127.0.0.1:PORT/mcp)

Tools: echo, add, sleep (for timeouts), fail (reports a tool error), crash (the process dies
mid-call, to exercise restarts), pid (the serving process id), and `announce` which adds a
tool at run time and tells the client that the list changed.
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


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "stdio"
    if mode == "stdio":
        build().run("stdio")
    elif mode == "http":
        port = int(sys.argv[2])
        json_response = (sys.argv[3] if len(sys.argv) > 3 else "json") == "json"
        build(host="127.0.0.1", port=port, json_response=json_response, stateless_http=False, log_level="WARNING").run(
            "streamable-http")
    else:
        sys.exit(f"unknown mode {mode!r}: use stdio or http PORT json|sse")


if __name__ == "__main__":
    main()
