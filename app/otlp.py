"""OTLP/HTTP export of Cortex's spans: protobuf encoding and a batch exporter off the request path.

The encoding is written out here (about sixty lines for the messages of
opentelemetry-proto's `trace/v1`, `common/v1` and `resource/v1` Cortex fills) instead of
depending on protobuf at run time; the tests decode what it writes with the official
generated classes (opentelemetry-proto), so a wrong tag or wire type fails there.

`BatchExporter.add()` appends to a bounded deque. A greenlet, started by the first span a
worker makes, sends a batch every `interval` (or as soon as one is full). When the queue is
full, or the collector fails or is unreachable, spans are dropped and counted
(`cortex_otel_spans_dropped_total`); a request never waits for the collector.
"""
import collections
import functools
import logging
import struct
import time
from urllib.parse import urlsplit

import gevent
import gevent.event
from geventhttpclient import HTTPClient

log = logging.getLogger("cortex.otlp")

SCOPE_NAME = "cortex"
EXPORT_TIMEOUT_SECS = 10.0
CLOSE_TIMEOUT_SECS = 5.0
SPANS_PER_YIELD = 32  # ~0.5 ms of encoding between two chances for requests to run

# Wire types of the protobuf encoding.
VARINT, FIXED64, LENGTH = 0, 1, 2
# Encoding runs once per span in the exporter's greenlet, on the worker's CPU: one-byte varints
# (every tag, most lengths) come from a table and attribute keys are encoded once each.
ONE_BYTE_VARINTS = tuple(bytes((value,)) for value in range(0x80))


def _varint(value: int) -> bytes:
    if 0 <= value < 0x80:
        return ONE_BYTE_VARINTS[value]
    value &= 0xFFFFFFFFFFFFFFFF  # negative int64 values are written as their two's complement
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _tag(number: int, wire_type: int) -> bytes:
    return _varint(number << 3 | wire_type)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field: strings, bytes, embedded messages."""
    return _tag(number, LENGTH) + _varint(len(payload)) + payload


def _fixed64(number: int, value: int) -> bytes:
    return _tag(number, FIXED64) + struct.pack("<Q", value)


STRING_VALUE, BOOL_VALUE, INT_VALUE, DOUBLE_VALUE = _tag(1, LENGTH), _tag(2, VARINT), _tag(3, VARINT), _tag(4, FIXED64)
VALUE = _tag(2, LENGTH)  # KeyValue.value


def _any_value(value) -> bytes:
    """common.v1.AnyValue; bool before int (a bool is an int in Python)."""
    if isinstance(value, str):
        data = value.encode("utf-8", "replace")
        return STRING_VALUE + _varint(len(data)) + data
    if isinstance(value, bool):
        return BOOL_VALUE + ONE_BYTE_VARINTS[value]
    if isinstance(value, int):
        return INT_VALUE + _varint(value)
    if isinstance(value, float):
        return DOUBLE_VALUE + struct.pack("<d", value)
    if isinstance(value, (list, tuple)):
        return _field(5, b"".join(_field(1, _any_value(item)) for item in value))
    return _any_value(str(value))


def _attribute(number: int, key: str, value) -> bytes:
    """One common.v1.KeyValue as field `number` of its message."""
    encoded_value = _any_value(value)
    key_value = _field(1, key.encode()) + VALUE + _varint(len(encoded_value)) + encoded_value
    return _tag(number, LENGTH) + _varint(len(key_value)) + key_value


# Most attributes repeat from span to span (operation, provider, models, key name, flags): each
# is encoded once. Unique ones (request ids, token counts) pass through and are evicted first.
# typed: True and 1 are different attributes.
_repeated_attribute = functools.lru_cache(maxsize=4096, typed=True)(_attribute)


def _attributes(number: int, attributes: dict) -> bytes:
    """repeated common.v1.KeyValue; None values are left out."""
    return b"".join(_repeated_attribute(number, key, value) if isinstance(value, (str, int))
                    else _attribute(number, key, value)
                    for key, value in attributes.items() if value is not None)


def encode_span(span) -> bytes:
    """trace.v1.Span."""
    out = [_field(1, bytes.fromhex(span.trace_id)), _field(2, bytes.fromhex(span.span_id))]
    if span.trace_state:
        out.append(_field(3, span.trace_state.encode()))
    if span.parent_span_id:
        out.append(_field(4, bytes.fromhex(span.parent_span_id)))
    out += [_field(5, span.name.encode("utf-8", "replace")), _tag(6, VARINT) + _varint(span.kind),
            _fixed64(7, span.start_ns), _fixed64(8, span.end_ns), _attributes(9, span.attributes)]
    for at_ns, name, attributes in span.events:
        out.append(_field(11, _fixed64(1, at_ns) + _field(2, name.encode()) + _attributes(3, attributes)))
    if span.status_code:
        status = _tag(3, VARINT) + _varint(span.status_code)
        if span.status_message:
            status = _field(2, span.status_message.encode("utf-8", "replace")) + status
        out.append(_field(15, status))
    return b"".join(out)


def export_request(encoded_spans: list, resource: dict) -> bytes:
    """collector.trace.v1.ExportTraceServiceRequest of spans already encoded: one resource, one scope."""
    scope_spans = _field(1, _field(1, SCOPE_NAME.encode())) + b"".join(_field(2, span) for span in encoded_spans)
    resource_spans = _field(1, _attributes(1, resource)) + _field(2, scope_spans)
    return _field(1, resource_spans)


def encode_export_request(spans, resource: dict) -> bytes:
    return export_request([encode_span(span) for span in spans], resource)


class BatchExporter:
    """Queues finished spans and posts them in batches to an OTLP/HTTP traces endpoint."""

    def __init__(self, settings, on_drop=None, on_export=None):
        self.settings = settings  # app.config.ObservabilityConfig
        self._queue = collections.deque()
        self._wake = gevent.event.Event()
        self._sender = None
        self._closed = False
        self._on_drop = on_drop or (lambda reason, count: None)
        self._on_export = on_export or (lambda count: None)
        url = urlsplit(settings.traces_endpoint)
        self._path = (url.path or "/v1/traces") + (f"?{url.query}" if url.query else "")
        self._http = None
        self._url = url
        self._headers = {"Content-Type": "application/x-protobuf", **settings.headers}

    def add(self, span) -> None:
        if len(self._queue) >= self.settings.max_queue_size:
            self._on_drop("queue_full", 1)
            return
        self._queue.append(span)
        if self._sender is None and not self._closed:
            self._sender = gevent.spawn(self._run)  # started lazily: never in gunicorn's master
        if len(self._queue) >= self.settings.max_export_batch_size:
            self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._queue)

    def _client(self) -> HTTPClient:
        if self._http is None:
            url = self._url
            self._http = HTTPClient(url.hostname, url.port, ssl=url.scheme == "https", concurrency=1,
                                    connection_timeout=EXPORT_TIMEOUT_SECS, network_timeout=EXPORT_TIMEOUT_SECS,
                                    headers={"User-Agent": "cortex-gateway"})
        return self._http

    def export_batch(self) -> int:
        """Send up to one batch now; returns how many spans left the queue (sent or dropped)."""
        size = min(self.settings.max_export_batch_size, len(self._queue))
        batch = [self._queue.popleft() for _ in range(size)]
        if not batch:
            return 0
        try:
            encoded = []
            for span in batch:
                encoded.append(encode_span(span))
                if len(encoded) % SPANS_PER_YIELD == 0:
                    gevent.sleep(0)  # a whole batch at once would hold the worker's hub for milliseconds
            body = export_request(encoded, self.settings.resource)
            response = self._client().request("POST", self._path, body=body, headers=self._headers)
            status = response.status_code
            response.read()
            response.release()
        except Exception as exc:  # noqa: BLE001 - whatever the collector does, the spans are dropped and counted
            log.warning("OTLP export of %d spans failed: %s", len(batch), type(exc).__name__)
            self._reset_client()
            self._on_drop("export_failed", len(batch))
            return len(batch)
        if status >= 300:
            log.warning("OTLP collector answered %d to %d spans", status, len(batch))
            self._on_drop("export_failed", len(batch))
        else:
            self._on_export(len(batch))
        return len(batch)

    def _reset_client(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self.settings.schedule_delay_secs)
            self._wake.clear()
            while self.export_batch() == self.settings.max_export_batch_size:
                pass

    def close(self) -> None:
        """Send what is queued (bounded in time) and stop; gunicorn's worker_exit calls it."""
        self._closed = True
        if self._sender is not None:
            self._sender.kill(block=False)
        deadline = time.monotonic() + CLOSE_TIMEOUT_SECS
        while self._queue and time.monotonic() < deadline:
            self.export_batch()
        if self._queue:
            self._on_drop("shutdown", len(self._queue))
            self._queue.clear()
        self._reset_client()
