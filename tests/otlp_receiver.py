"""A loopback OTLP/HTTP traces receiver: decodes what Cortex exports with the official generated
protobuf classes (opentelemetry-proto), so the hand-written encoding in app/otlp.py is checked
against the real schema."""
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest


def any_value(value):
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [any_value(item) for item in value.array_value.values]
    return getattr(value, kind) if kind else None


def attributes(key_values) -> dict:
    return {kv.key: any_value(kv.value) for kv in key_values}


@dataclass
class ReceivedSpan:
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_span_id: str
    trace_state: str
    start_ns: int
    end_ns: int
    attributes: dict
    events: list  # (name, attributes, time ns)
    status_code: int
    status_message: str
    resource: dict = field(default_factory=dict)
    scope: str = ""

    def event(self, name: str):
        return next((e for e in self.events if e[0] == name), None)


class OTLPReceiver:
    def __init__(self):
        self.spans: list[ReceivedSpan] = []
        self.requests: list[dict] = []  # path and headers of each export
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                export = ExportTraceServiceRequest.FromString(body)
                receiver._add(self.path, dict(self.headers), export)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _add(self, path: str, headers: dict, export) -> None:
        spans = []
        for resource_spans in export.resource_spans:
            resource = attributes(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    spans.append(ReceivedSpan(
                        name=span.name, kind=span.kind, trace_id=span.trace_id.hex(), span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex(), trace_state=span.trace_state,
                        start_ns=span.start_time_unix_nano, end_ns=span.end_time_unix_nano,
                        attributes=attributes(span.attributes),
                        events=[(e.name, attributes(e.attributes), e.time_unix_nano) for e in span.events],
                        status_code=span.status.code, status_message=span.status.message,
                        resource=resource, scope=scope_spans.scope.name))
        with self._lock:
            self.requests.append({"path": path, "headers": headers})
            self.spans.extend(spans)

    def span_of(self, request_id: str, wait_secs: float = 15.0) -> ReceivedSpan:
        """The span of the request with this x-request-id, once exported (spans leave in batches)."""
        deadline = time.monotonic() + wait_secs
        while time.monotonic() < deadline:
            with self._lock:
                found = [s for s in self.spans if s.attributes.get("cortex.request_id") == request_id]
            if found:
                assert len(found) == 1, f"one span per request, got {len(found)}"
                return found[0]
            time.sleep(0.05)
        raise AssertionError(f"no span for request {request_id} reached the receiver")

    def close(self):
        self._server.shutdown()
        self._server.server_close()
