"""The adapters' transport: SSE framing off the wire, uploads, proxies, deadlines and errors.

A raw loopback server (a thread speaking bytes) answers with exactly the bytes each test
scripts, so framing edge cases that the mock upstream never produces are covered here.
"""
import socket
import threading
import time
from pathlib import Path

import pytest

from app.config import parse_config
from app.errors import UpstreamError, UpstreamTimeout
from app.providers import UpstreamCall, build_adapters
from app.providers.base import UploadReader


class RawServer:
    """Accepts connections; records each request's head and body; sends the scripted bytes in pieces.

    A float among the pieces is a pause in seconds; `then` answers a second request on the same
    connection.
    """

    def __init__(self, pieces: list, hold_open: bool = False, then: list | None = None):
        self.replies = [pieces] + ([then] if then else [])
        self.hold_open = hold_open
        self.requests: list[bytes] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._release = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn:
                for pieces in self.replies:
                    self._answer(conn, pieces)
                if self.hold_open:
                    self._release.wait(10)

    def _answer(self, conn, pieces):
        request = b""
        while b"\r\n\r\n" not in request:
            received = conn.recv(65536)
            if not received:
                return  # the client closed the connection instead of sending (another) request
            request += received
        head, _, body = request.partition(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        while len(body) < length:
            body += conn.recv(65536)
        self.requests.append(head + b"\r\n\r\n" + body)
        for piece in pieces:
            if isinstance(piece, float):
                time.sleep(piece)
            else:
                conn.sendall(piece)

    def close(self):
        self._release.set()
        self._sock.close()


def adapter_for(url: str, environ: dict | None = None, **provider):
    raw = {"api_keys": [{"name": "k", "key": "key-123456"}],
           "providers": [{"name": "up", "type": "openai", "base_url": url, "api_keys": ["sk-test"],
                          "models": [{"id": "m"}], **provider}]}
    return build_adapters(parse_config(raw, Path("cortex.yaml"), environ=environ or {}))["up"]


@pytest.fixture
def raw_server():
    servers = []

    def start(pieces, **options):
        servers.append(RawServer(pieces, **options))
        return servers[-1]
    yield start
    for server in servers:
        server.close()


class Upload:
    """What an upload body must be: re-iterable bytes with an exact len() and a content type."""

    content_type = "multipart/form-data; boundary=b"

    def __init__(self, parts: list[bytes]):
        self.parts = parts

    def __len__(self):
        return sum(map(len, self.parts))

    def __iter__(self):
        return iter(self.parts)


def sse_head(extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n" + extra


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


COMMENTS = b": ping\n\n\n\ndata: 1\n\n\n\n"


@pytest.mark.parametrize("pieces, events", [
    # chunked, one event per chunk
    ([sse_head(b"Transfer-Encoding: chunked\r\n\r\n"), chunk(b'data: {"a":1}\n\n'), chunk(b"data: [DONE]\n\n"),
      b"0\r\n\r\n"], [b'data: {"a":1}', b"data: [DONE]"]),
    # CRLF line endings, an event split across writes, a multi-line event
    ([sse_head(b"Connection: close\r\n\r\n"), b"event: x\r\nda", b"ta: 1\r\n\r\ndata: 2\r\n", b"\r\n"],
     [b"event: x\ndata: 1", b"data: 2"]),
    # the last event without its blank line, the body ended by closing the connection
    ([sse_head(b"Connection: close\r\n\r\n"), b"data: 1\n\ndata: last"], [b"data: 1", b"data: last"]),
    # comments and keep-alive blank lines pass as they are; empty events are skipped
    ([sse_head(b"Content-Length: %d\r\n\r\n" % len(COMMENTS)), COMMENTS], [b": ping", b"data: 1"]),
], ids=["chunked", "crlf-split", "unterminated-tail", "comments"])
def test_sse_events_are_framed_from_the_wire(raw_server, pieces, events):
    server = raw_server(pieces)
    adapter = adapter_for(f"http://127.0.0.1:{server.port}/v1")
    assert list(adapter.stream(UpstreamCall(path="/chat/completions", body={"stream": True}, stream=True))) == events
    head = server.requests[0]
    assert head.startswith(b"POST /v1/chat/completions HTTP/1.1\r\n")
    assert b"Authorization: Bearer sk-test" in head and b"Accept: text/event-stream" in head


def test_a_connection_cut_mid_stream_is_an_upstream_error(raw_server):
    server = raw_server([sse_head(b"Transfer-Encoding: chunked\r\n\r\n"), chunk(b"data: 1\n\n"), b"5\r\ndat"])
    adapter = adapter_for(f"http://127.0.0.1:{server.port}/v1")
    events = iter(adapter.stream(UpstreamCall(path="/chat/completions", body={}, stream=True)))
    assert next(events) == b"data: 1"
    with pytest.raises(UpstreamError) as raised:
        list(events)
    assert raised.value.code == "upstream_connection_error"


def test_a_stream_silent_longer_than_the_timeout_is_an_upstream_timeout(raw_server):
    server = raw_server([sse_head(b"Transfer-Encoding: chunked\r\n\r\n"), chunk(b"data: 1\n\n")], hold_open=True)
    adapter = adapter_for(f"http://127.0.0.1:{server.port}/v1", timeout_secs=0.3)
    events = iter(adapter.stream(UpstreamCall(path="/chat/completions", body={}, stream=True)))
    assert next(events) == b"data: 1"
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout) as raised:
        next(events)
    assert raised.value.code == "upstream_timeout" and 0.25 < time.monotonic() - started < 5


def test_the_timeout_bounds_each_wait_not_the_whole_stream(raw_server):
    pieces = [sse_head(b"Transfer-Encoding: chunked\r\n\r\n")]
    for index in range(4):
        pieces += [0.2, chunk(b"data: %d\n\n" % index)]
    server = raw_server(pieces + [b"0\r\n\r\n"])
    adapter = adapter_for(f"http://127.0.0.1:{server.port}/v1", timeout_secs=0.5)
    events = list(adapter.stream(UpstreamCall(path="/chat/completions", body={}, stream=True)))
    assert events == [b"data: 0", b"data: 1", b"data: 2", b"data: 3"]


def test_a_connection_back_from_a_stream_keeps_its_timeout(raw_server):
    # A stream waits without the socket's timeout, and the body's end hands the connection back
    # to the pool in the middle of a read: the next call on it must still time out.
    stream = [sse_head(b"Transfer-Encoding: chunked\r\n\r\n"), 0.05, chunk(b"data: 1\n\n"), 0.05, b"0\r\n\r\n"]
    server = raw_server(stream, then=[b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"], hold_open=True)
    adapter = adapter_for(f"http://127.0.0.1:{server.port}/v1", timeout_secs=0.3)
    assert list(adapter.stream(UpstreamCall(path="/chat/completions", body={}, stream=True))) == [b"data: 1"]
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout):
        adapter.send(UpstreamCall(path="/chat/completions", body={}))
    assert len(server.requests) == 2 and time.monotonic() - started < 5


def test_an_upload_goes_out_with_its_exact_length(raw_server):
    server = raw_server([b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"])
    adapter = adapter_for(f"http://127.0.0.1:{server.port}/v1")
    reply = adapter.fetch(UpstreamCall(path="/audio/transcriptions", upload=Upload([b"head-", b"x" * 100_000, b"-tail"])))
    assert (reply.status, reply.content, reply.headers.get("content-type")) == (200, b"ok", "text/plain")
    head, _, body = server.requests[0].partition(b"\r\n\r\n")
    assert body == b"head-" + b"x" * 100_000 + b"-tail"
    assert b"Content-Length: 100010" in head and b"Content-Type: multipart/form-data; boundary=b" in head


@pytest.mark.parametrize("sizes", [[1, 5, 3], [8192], [3, 8192, 8195, 0, 1]])
def test_upload_reader_returns_the_upload_in_order(sizes):
    parts = [bytes([65 + i]) * size for i, size in enumerate(sizes)]
    reader = UploadReader(Upload(parts))
    read = b"".join(iter(lambda: reader.read(4096), b""))
    assert (len(reader), read) == (sum(sizes), b"".join(parts))


def test_http_proxy_from_the_environment_and_no_proxy(raw_server, monkeypatch):
    proxy = raw_server([b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"data\":[]}"])
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    adapter = adapter_for("http://upstream.invalid:8080/v1")
    assert adapter.send(UpstreamCall(path="/models", method="GET")).body == {"data": []}
    assert proxy.requests[0].startswith(b"GET http://upstream.invalid:8080/v1/models HTTP/1.1\r\n")

    monkeypatch.setenv("NO_PROXY", "upstream.invalid")
    with pytest.raises(UpstreamError) as raised:
        adapter_for("http://upstream.invalid:8080/v1").send(UpstreamCall(path="/models", method="GET"))
    assert raised.value.code == "upstream_unreachable" and len(proxy.requests) == 1


def test_a_deadline_bounds_the_whole_call(raw_server):
    server = raw_server([b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"], hold_open=True)
    adapter = adapter_for(f"http://127.0.0.1:{server.port}/v1", timeout_secs=30)
    with pytest.raises(UpstreamTimeout):
        adapter.send(UpstreamCall(path="/models", method="GET", deadline_secs=0.3))


def test_refused_and_timed_out_connections_map_to_their_codes(raw_server):
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    with pytest.raises(UpstreamError) as refused:
        adapter_for(f"http://127.0.0.1:{port}/v1").send(UpstreamCall(path="/chat/completions", body={}))
    assert refused.value.code == "upstream_unreachable"

    server = raw_server([b"HTTP/1.1 200 OK\r\n"], hold_open=True)
    with pytest.raises(UpstreamTimeout):
        adapter_for(f"http://127.0.0.1:{server.port}/v1", timeout_secs=0.3).send(
            UpstreamCall(path="/chat/completions", body={}))
