#!/usr/bin/env python3
"""N concurrent streamed chat completions against URL; prints TTFT (time to the first `data:` line) and total time
percentiles, errors, and (with --pid) the process's peak RSS while they ran.

    python3 Benchmarks/streams.py http://127.0.0.1:PORT/v1 --streams 1000 [--pid PID] [--label NAME]

The prompt asks the mock upstream (`switchyard mock`) for ten words a chunk apart (`[[chunk-delay: 100]]`): the
first chunk at once, then one every 100 ms, about a second a stream. Plain asyncio sockets and HTTP/1.1, one
connection per stream, so the client is never the bottleneck at a thousand."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from urllib.parse import urlparse


def percentile(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered) + 0.5)) - 1))]


async def one(host, port, path, body, start_gate, results, timeout):
    await start_gate.wait()
    began = time.perf_counter()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        request = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                   f"Authorization: Bearer sk-bench\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
        writer.write(request)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        status = int(head.split(b" ", 2)[1])
        if status != 200:
            results.append(("error", f"HTTP {status}"))
            writer.close()
            return
        first = None
        seen_done = False
        buffer = b""
        while True:
            chunk = await asyncio.wait_for(reader.read(65536), timeout)
            if not chunk:
                break
            if first is None and b"data:" in chunk:
                first = time.perf_counter() - began
            buffer += chunk
            if b"[DONE]" in buffer[-64:] or b"[DONE]" in chunk:
                seen_done = True
                break
        total = time.perf_counter() - began
        writer.close()
        if first is None or not seen_done:
            results.append(("error", "incomplete stream"))
        else:
            results.append(("ok", first, total))
    except Exception as error:  # noqa: BLE001 - every failure counts as an error
        results.append(("error", type(error).__name__))


async def peak_rss(pid, stop, out):
    peak = 0
    while not stop.is_set():
        try:
            for line in open(f"/proc/{pid}/status"):
                if line.startswith("VmRSS:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            break
        await asyncio.sleep(0.05)
    out.append(peak)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--model", default="gpt-4o-mini")
    parser.add_argument("--pid", type=int)
    parser.add_argument("--label", default="")
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()
    url = urlparse(args.url)
    path = url.path.rstrip("/") + "/chat/completions"
    words = " ".join(f"w{i}" for i in range(10))
    body = json.dumps({"model": args.model, "stream": True, "max_tokens": 64, "messages": [
        {"role": "user", "content": f"[[reply: {words}]] [[chunk-delay: 100]]"}]}).encode()
    gate, results = asyncio.Event(), []
    tasks = [asyncio.create_task(one(url.hostname, url.port, path, body, gate, results, args.timeout)) for _ in range(args.streams)]
    stop, rss = asyncio.Event(), []
    watcher = asyncio.create_task(peak_rss(args.pid, stop, rss)) if args.pid else None
    await asyncio.sleep(0.2)
    began = time.perf_counter()
    gate.set()
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - began
    stop.set()
    if watcher:
        await watcher
    ok = [r for r in results if r[0] == "ok"]
    errors = [r[1] for r in results if r[0] == "error"]
    ttft = [r[1] * 1000 for r in ok]
    total = [r[2] * 1000 for r in ok]
    print(f"RESULT {args.label or 'run'} streams={args.streams} ok={len(ok)} errors={len(errors)} "
          f"ttft_p50_ms={percentile(ttft, 50):.1f} ttft_p99_ms={percentile(ttft, 99):.1f} "
          f"total_p50_ms={percentile(total, 50):.0f} total_p99_ms={percentile(total, 99):.0f} wall_s={wall:.2f}"
          + (f" peak_rss_mb={rss[0] / 1024:.0f}" if rss else ""))
    if errors:
        print("errors:", sorted(set(errors))[:5])


if __name__ == "__main__":
    asyncio.run(main())
