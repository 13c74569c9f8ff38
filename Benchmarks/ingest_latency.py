#!/usr/bin/env python3
"""Chat latency at one connection while documents are ingested through the collections API.

Starts `switchyard mock` and `switchyard serve` (the binary given, or $SWITCHYARD_BIN), creates a
collection, then measures plain chat requests one at a time: first alone, then while another thread
upserts DOCS documents in batches of BATCH, each batch on a new connection (so batches land on every
event loop, as independent clients' would). Prints p50 / p99 / max per phase. Stdlib only.

Usage: python3 Benchmarks/ingest_latency.py [BINARY ...]   (several binaries: run one after another)
Environment: DOCS (5000), BATCH (100), EMBEDDING=mock|local (mock: the mock upstream's 16-d vectors,
so the ingest is the database and index work alone; local: the native MiniLM model).
"""

import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

DOCS = int(os.environ.get("DOCS", "5000"))
BATCH = int(os.environ.get("BATCH", "100"))
EMBEDDING = os.environ.get("EMBEDDING", "mock")
WORDS = ("gateway router cache model token latency budget replica index vector search prompt answer tool "
         "stream retry fallback provider cost tenant").split()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(port, path, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", path)
            if c.getresponse().status < 500:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"port {port} not ready")


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def chat_latencies(port, stop, minimum=300):
    """Sequential chat requests on one keep-alive connection until `stop` is set (and at least `minimum`)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hello"}]})
    latencies = []
    while not stop.is_set() or len(latencies) < minimum:
        start = time.perf_counter()
        conn.request("POST", "/v1/chat/completions", body, {"content-type": "application/json"})
        response = conn.getresponse()
        response.read()
        latencies.append((time.perf_counter() - start) * 1000)
        if response.status != 200:
            raise SystemExit(f"chat answered {response.status}")
    return latencies


def ingest(port, done, timings):
    rng = random.Random(7)
    started = time.perf_counter()
    for first in range(0, DOCS, BATCH):
        documents = [{"id": f"d{n}", "title": f"Doc {n}",
                      "text": " ".join(rng.choice(WORDS) for _ in range(180))}
                     for n in range(first, min(DOCS, first + BATCH))]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)  # a new connection per batch
        conn.request("POST", "/v1/switchyard/collections/docs/documents", json.dumps({"documents": documents}),
                     {"content-type": "application/json", "connection": "close"})
        response = conn.getresponse()
        text = response.read()
        if response.status != 200:
            raise SystemExit(f"ingest answered {response.status}: {text[:300]}")
        conn.close()
    timings["ingest_s"] = time.perf_counter() - started
    done.set()


def run(binary):
    work = tempfile.mkdtemp(prefix="switchyard-ingest-")
    mock_port, port = free_port(), free_port()
    mock = subprocess.Popen([binary, "mock", "--port", str(mock_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    config = os.path.join(work, "switchyard.yaml")
    embedding = "e" if EMBEDDING == "mock" else "local/all-minilm-l6-v2"
    with open(config, "w") as f:
        f.write(f"""server: {{host: 127.0.0.1, port: {port}}}
storage: {{sqlite: {work}/switchyard.db}}
providers:
  - {{name: mock, kind: openai, base_url: "http://127.0.0.1:{mock_port}/v1", api_key: dummy}}
models:
  - {{name: m, provider: mock, upstream: gpt-4o-mini, price: {{input: 0.15, output: 0.6}}}}
  - {{name: e, provider: mock, upstream: text-embedding-3-small, type: embedding, price: {{input: 0.02}}}}
retrieval: {{embedding_model: {embedding}, sync_s: 0}}
""")
    gateway = subprocess.Popen([binary, "serve", "--config", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait(mock_port, "/_mock/requests")
        wait(port, "/health")
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        c.request("POST", "/v1/switchyard/collections", json.dumps({"name": "docs"}), {"content-type": "application/json"})
        r = c.getresponse()
        assert r.status == 200, r.read()
        r.read()
        stop = threading.Event()
        stop.set()
        chat_latencies(port, stop, minimum=200)  # warm up
        alone = chat_latencies(port, stop, minimum=2000)
        done, timings = threading.Event(), {}
        worker = threading.Thread(target=ingest, args=(port, done, timings))
        worker.start()
        during = chat_latencies(port, done, minimum=200)
        worker.join()
        return alone, during, timings["ingest_s"]
    finally:
        for p in (gateway, mock):
            p.terminate()
            p.wait(timeout=20)


def main():
    binaries = sys.argv[1:] or [os.environ.get("SWITCHYARD_BIN", ".build/release/switchyard")]
    print(f"chat at one connection, alone and during an ingest of {DOCS} documents in batches of {BATCH} "
          f"(embeddings: {EMBEDDING}); latencies in ms")
    print(f"{'binary':<48} {'phase':<8} {'n':>6} {'p50':>8} {'p99':>8} {'max':>9}")
    for binary in binaries:
        alone, during, seconds = run(binary)
        for phase, values in (("alone", alone), ("ingest", during)):
            print(f"{binary[-48:]:<48} {phase:<8} {len(values):>6} {statistics.median(values):>8.3f} "
                  f"{percentile(values, 0.99):>8.3f} {max(values):>9.3f}")
        print(f"{'':<48} ingest took {seconds:.1f} s ({DOCS / seconds:.0f} documents/s)")


if __name__ == "__main__":
    main()
