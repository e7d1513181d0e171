"""OpenTelemetry spans made by Cortex itself: one CLIENT span per inference request.

The OpenTelemetry SDK is not on the request path: its context machinery, span processors and
attribute validation cost tens of microseconds per span, and Cortex needs one span shape only.
A `Span` here is a plain record (ids, times, attributes, events, status) that `Tracer.end`
hands to the batch exporter (app.otlp) once the request is over; encoding and sending happen
there, in the background. With tracing off no `Tracer` exists and nothing here runs.

Trace context is W3C Trace Context (https://www.w3.org/TR/trace-context/): the client's
`traceparent` makes the span its child, and the span's own `traceparent` goes upstream.
"""
import random
import re
import time

# version-traceid-parentid-flags; version 00 is the only one defined, later ones are read alike.
TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$")
INVALID_TRACE_ID = "0" * 32
INVALID_SPAN_ID = "0" * 16
SPAN_KIND_CLIENT = 3
STATUS_UNSET, STATUS_OK, STATUS_ERROR = 0, 1, 2


def parse_traceparent(header: str | None) -> tuple[str, str, int] | None:
    """(trace id, parent span id, flags) from a `traceparent` header; None when absent or invalid
    (the spec says to start a new trace then)."""
    if not header:
        return None
    match = TRACEPARENT.match(header.strip().lower())
    if match is None:
        return None
    version, trace_id, span_id, flags = match.groups()
    if version == "ff" or (version == "00" and len(header.strip()) != 55) \
            or trace_id == INVALID_TRACE_ID or span_id == INVALID_SPAN_ID:
        return None
    return trace_id, span_id, int(flags, 16)


class Span:
    """One finished or running span; ids as lowercase hex, times in ns since the epoch."""

    __slots__ = ("trace_id", "span_id", "parent_span_id", "flags", "trace_state", "name", "kind",
                 "start_ns", "end_ns", "attributes", "events", "status_code", "status_message")

    def __init__(self, parent: tuple[str, str, int] | None, trace_state: str = ""):
        # `random` (reseeded in every forked worker) rather than `secrets`: a system call per
        # request for ids that are unique, not secret (as app.web.new_request_id).
        if parent is None:
            self.trace_id, self.parent_span_id, self.flags = f"{random.getrandbits(128):032x}", "", 1
        else:
            self.trace_id, self.parent_span_id, self.flags = parent
        self.span_id = f"{random.getrandbits(64) or 1:016x}"
        self.trace_state = trace_state
        self.name = ""
        self.kind = SPAN_KIND_CLIENT
        self.start_ns = time.time_ns()
        self.end_ns = 0
        self.attributes = {}
        self.events = []  # (time ns, name, attributes)
        self.status_code = STATUS_UNSET
        self.status_message = ""

    @property
    def traceparent(self) -> str:
        """This span as the parent of the upstream call."""
        return f"00-{self.trace_id}-{self.span_id}-{self.flags:02x}"

    def add_event(self, name: str, attributes: dict | None = None, at_ns: int | None = None) -> None:
        self.events.append((at_ns or time.time_ns(), name, attributes or {}))

    def set_error(self, error_type: str, message: str) -> None:
        self.status_code, self.status_message = STATUS_ERROR, message
        self.attributes["error.type"] = error_type


class Tracer:
    """Starts spans for requests and queues them for export when they end; app-wide, one per worker."""

    def __init__(self, exporter, capture_content: bool, servers: dict):
        self.exporter = exporter
        self.capture_content = capture_content
        self.servers = servers  # provider name -> its fixed span attributes (app.genai.provider_servers)

    def captures(self, principal) -> bool:
        """Whether this key's messages go into its spans: capture is on and the key did not opt out."""
        return self.capture_content and principal.capture_content

    def start(self, traceparent: str | None, tracestate: str | None = None) -> Span:
        parent = parse_traceparent(traceparent)
        # tracestate belongs to the trace the client continues; a new trace starts without one.
        return Span(parent, (tracestate or "")[:512] if parent else "")

    def end(self, span: Span) -> None:
        span.end_ns = time.time_ns()
        self.exporter.add(span)

    def close(self) -> None:
        self.exporter.close()
