"""`switchyard bench streams`, the thousand-streams benchmark's client: against the mock upstream it reads every
stream to `[DONE]` and times it; a refused connection, an error status and a stream cut short are errors, each
named, never a hang or a crash."""

from __future__ import annotations

import re
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from test_first_hour import BIN, free_port


def result(output: str) -> dict:
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    return {key: value for key, value in re.findall(r"(\w+)=(\S+)", line)}


def bench(url: str, *extra: str) -> tuple[dict, str]:
    run = subprocess.run([BIN, "bench", "streams", url, *extra], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    return result(run.stdout), run.stdout


def test_streams_from_the_mock_are_read_to_the_end_and_timed():
    port = free_port()
    mock = subprocess.Popen([BIN, "mock", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
                break
            except OSError:
                time.sleep(0.1)
        figures, _ = bench(f"http://127.0.0.1:{port}/v1", "--streams", "30", "--words", "4", "--chunk-delay-ms", "60",
                           "--label", "t", "--pid", str(mock.pid))
        assert figures["streams"] == "30" and figures["ok"] == "30" and figures["errors"] == "0", figures
        # Four words sixty milliseconds apart: three pauses before [DONE], the first word at once.
        assert float(figures["total_p50_ms"]) >= 180, figures
        assert float(figures["ttft_p50_ms"]) < float(figures["total_p50_ms"]), figures
        # The first event (the role, no text) comes at once; the first token, the first word, one pause later.
        assert float(figures["first_data_p50_ms"]) <= float(figures["ttft_p50_ms"]), figures
        assert float(figures["ttft_p50_ms"]) >= 55, figures
        assert int(figures["peak_rss_mb"]) > 0, figures
        # A model name with a quote, a backslash and 100 KB of text is sent as one JSON string: still a valid request.
        figures, _ = bench(f"http://127.0.0.1:{port}/v1", "--streams", "3", "--words", "2", "--chunk-delay-ms", "0",
                           "--model", 'm"\\x' + "y" * 100_000)
        assert figures["ok"] == "3" and figures["errors"] == "0", figures
    finally:
        mock.terminate()
        mock.wait(10)


class Broken(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", "0")))
        if self.server.mode == "error":
            body = b'{"error": {"message": "no"}}'
            self.send_response(503)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:  # a stream that stops before [DONE]
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("connection", "close")
            self.end_headers()
            self.wfile.write(b'data: {"choices": [{"delta": {"content": "a"}}]}\n\n')
            self.wfile.flush()


def test_refusals_error_statuses_and_cut_streams_are_counted_as_errors():
    figures, output = bench(f"http://127.0.0.1:{free_port()}/v1", "--streams", "3", "--timeout", "5")
    assert figures["ok"] == "0" and figures["errors"] == "3" and "connect" in output, output
    for mode, named in [("error", "HTTP 503"), ("cut", "incomplete stream")]:
        server = ThreadingHTTPServer(("127.0.0.1", 0), Broken)
        server.daemon_threads = True
        server.mode = mode
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            figures, output = bench(f"http://127.0.0.1:{server.server_address[1]}/v1", "--streams", "4", "--timeout", "10")
            assert figures["ok"] == "0" and figures["errors"] == "4" and named in output, output
        finally:
            server.shutdown()


def test_out_of_range_options_are_refused():
    run = subprocess.run([BIN, "bench", "streams", "http://127.0.0.1:9/v1", "--streams", "0"], capture_output=True, text=True,
                         timeout=30)
    assert run.returncode != 0 and "--streams" in run.stderr, run.stderr
    run = subprocess.run([BIN, "bench", "streams", "https://example.com/v1"], capture_output=True, text=True, timeout=30)
    assert run.returncode != 0 and "http://" in run.stderr, run.stderr
