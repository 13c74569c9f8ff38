"""An OTLP/HTTP receiver that accepts span exports and drops them, counting the spans (for
Benchmarks/observability.sh: the exporter's cost without a collector's). GET /count prints the count.
Stdlib only: it counts the spans by reading the protobuf wire format's top-level fields, without decoding."""

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

count = 0
lock = threading.Lock()


def varint(data: bytes, i: int):
    shift = value = 0
    while True:
        b = data[i]
        value |= (b & 0x7F) << shift
        i += 1
        if not b & 0x80:
            return value, i
        shift += 7


def fields(data: bytes):
    """(field number, wire type, payload) of each top-level field."""
    i = 0
    while i < len(data):
        key, i = varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 2:
            length, i = varint(data, i)
            yield number, wire, data[i:i + length]
            i += length
        elif wire == 0:
            _, i = varint(data, i)
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        else:
            return


def spans_in(body: bytes) -> int:
    n = 0
    for number, _, resource_spans in fields(body):  # ExportTraceServiceRequest.resource_spans = 1
        if number != 1:
            continue
        for n2, _, scope_spans in fields(resource_spans):  # ResourceSpans.scope_spans = 2
            if n2 == 2:
                n += sum(1 for n3, _, _ in fields(scope_spans) if n3 == 2)  # ScopeSpans.spans = 2
    return n


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as collectors do (every answer has a content-length)

    def do_POST(self):
        global count
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        with lock:
            count += spans_in(body)
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def do_GET(self):
        text = str(count).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
