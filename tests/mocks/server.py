"""The loopback HTTP/1.1 server: records every request and answers it with a behaviour."""

from __future__ import annotations

import io
import itertools
import json
import re
import select
import socket
import socketserver
import struct
import sys
import threading
import time
from collections import defaultdict, deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from requests.structures import CaseInsensitiveDict
from werkzeug.formparser import parse_form_data
from werkzeug.serving import DechunkedInput
from werkzeug.wsgi import LimitedStream

from .behaviours import Behaviour, Fail
from .defaults import default_behaviour

DEFAULT_MODELS = [
    "gpt-4o-mini",
    "gpt-4o",
    "text-embedding-3-small",
    "whisper-1",
    "claude-sonnet-4-5",
    "claude-haiku-4-5",
]

_AZURE_DEPLOYMENT = re.compile(r"^/openai/deployments/([^/]+)/")


@dataclass(frozen=True)
class UploadedFile:
    """A multipart file part, summarised: uploads are counted while parsed, never kept."""

    filename: str
    content_type: str
    size: int


@dataclass
class RecordedRequest:
    method: str
    path: str  # without the query string
    query: dict[str, str]
    headers: CaseInsensitiveDict
    body: bytes  # empty for multipart requests, whose parts are in form/files
    body_size: int  # bytes received, also for multipart
    json: object | None
    client_address: tuple[str, int]  # (host, port) of the connection: shows keep-alive reuse
    form: dict[str, str] = field(default_factory=dict)  # the first value of each field
    form_lists: dict[str, list[str]] = field(default_factory=dict)  # every value, for repeated fields (include[])
    files: dict[str, UploadedFile] = field(default_factory=dict)
    received_at: float = field(default_factory=time.monotonic)

    @property
    def flavour(self) -> str:
        """Whose API the request speaks, "openai", "anthropic" or "gemini": decides the error envelope.

        Anthropic clients send anthropic-version (and often x-api-key); OpenAI clients send neither;
        Gemini's paths are under /v1beta.
        """
        if self.path.startswith("/v1beta/"):
            return "gemini"
        if self.path.startswith("/v1/messages") or "anthropic-version" in self.headers or "x-api-key" in self.headers:
            return "anthropic"
        return "openai"

    @property
    def api_key(self) -> str | None:
        """The credential sent, whichever header carried it (Bearer prefix removed)."""
        for header in ("x-api-key", "api-key", "x-goog-api-key"):
            if header in self.headers:
                return self.headers[header]
        authorization = self.headers.get("authorization")
        return authorization.removeprefix("Bearer ").strip() if authorization else None

    @property
    def deployment(self) -> str | None:
        """The Azure deployment named in the path, if any."""
        match = _AZURE_DEPLOYMENT.match(self.path)
        return match.group(1) if match else None


class _ByteCounter:
    """Upload sink for the multipart parser that keeps only the size."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        return len(data)

    def seek(self, *args: object) -> int:
        return 0


class _CountingReader(io.RawIOBase):
    def __init__(self, raw: io.RawIOBase) -> None:
        self._raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        read = self._raw.readinto(buffer) or 0
        self.count += read
        return read


_request_ids = itertools.count(1)


class Exchange:
    """One request/response on a connection: the interface behaviours write through."""

    def __init__(self, handler: _Handler, request: RecordedRequest, stopping: threading.Event) -> None:
        self.request = request
        self._handler = handler
        self._stopping = stopping

    @property
    def mock(self) -> MockUpstream:
        return self._handler.server.mock

    def _start(self, status: int, headers: dict[str, str]) -> None:
        handler = self._handler
        handler.send_response(status)
        request_id_header = "request-id" if self.request.flavour == "anthropic" else "x-request-id"
        handler.send_header(request_id_header, f"req_mock_{next(_request_ids)}")
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()

    def send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self._start(status, {**headers, "Content-Length": str(len(body))})
        self._handler.wfile.write(body)

    def start_stream(self) -> None:
        self._start(
            200,
            {
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
                "Transfer-Encoding": "chunked",
            },
        )

    def send_chunk(self, data: bytes) -> bool:
        """Write one HTTP chunk (unbuffered, so it leaves at once); False if the client is gone."""
        try:
            self._handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            return True
        except OSError:
            self._handler.close_connection = True
            return False

    def end_stream(self) -> None:
        try:
            self._handler.wfile.write(b"0\r\n\r\n")
        except OSError:
            self._handler.close_connection = True

    def wait(self, seconds: float) -> bool:
        """Pause; False (early) when the client disconnects or the mock stops.

        Watching the socket is what lets a stream end as soon as its client goes away, instead
        of at its next write. ``stop()`` shuts every connection down, which wakes this too.
        """
        if seconds <= 0:
            return True
        deadline = time.monotonic() + seconds
        poller = select.poll()  # not select(): load tests open more than 1024 descriptors
        poller.register(self._handler.connection, select.POLLIN | select.POLLRDHUP)
        if poller.poll(seconds * 1000):
            if self._client_gone():
                self._handler.close_connection = True
                return False
            # Woken by pipelined bytes from a live client (rare): sit out the rest of the pause.
            self._stopping.wait(max(0.0, deadline - time.monotonic()))
        return not self._stopping.is_set()

    def _client_gone(self) -> bool:
        try:
            return self._handler.connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True

    def reset(self) -> None:
        """Close with SO_LINGER 0, so the kernel sends RST instead of FIN."""
        handler = self._handler
        handler.close_connection = True
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.connection.close()
        handler.rfile.close()  # drops the socket's last reference: the actual close happens here

    def hang_up(self) -> None:
        """Close the connection after this request without having answered."""
        self._handler.close_connection = True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, and chunked responses for streams
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body (and each SSE chunk) are separate writes: without NODELAY, Nagle plus
        # the client's delayed ACK can hold the second one back for ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.mock._track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.mock._untrack(self.connection)

    def log_message(self, format: str, *args: object) -> None:
        if self.server.mock.log_requests:
            super().log_message(format, *args)

    def _dispatch(self) -> None:
        mock = self.server.mock
        request = self._read_request()
        mock._record(request)
        exchange = Exchange(self, request, mock._stopping)
        with mock._responding():
            try:
                mock._behaviour_for(request).respond(exchange)
            except OSError:  # the client went away mid-response
                self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

    def _body_stream(self) -> io.RawIOBase:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return DechunkedInput(self.rfile)
        return LimitedStream(self.rfile, int(self.headers.get("Content-Length") or 0))

    def _read_request(self) -> RecordedRequest:
        url = urlsplit(self.path)
        headers = CaseInsensitiveDict(self.headers.items())
        stream = _CountingReader(self._body_stream())
        content_type = headers.get("Content-Type", "")
        body, form_lists, files = b"", {}, {}
        if content_type.startswith("multipart/form-data"):
            form_lists, files = _parse_multipart(stream, content_type)
            while stream.read(65536):  # whatever the parser left, so keep-alive stays in sync
                pass
        else:
            body = stream.read()
        return RecordedRequest(
            method=self.command,
            path=url.path,
            query=dict(parse_qsl(url.query, keep_blank_values=True)),
            headers=headers,
            body=body,
            body_size=stream.count,
            json=_parse_json(body),
            client_address=self.client_address[:2],
            form={name: values[0] for name, values in form_lists.items()},
            form_lists=form_lists,
            files=files,
        )


def _parse_json(body: bytes) -> object | None:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _parse_multipart(stream: io.RawIOBase, content_type: str) -> tuple[dict[str, list[str]], dict[str, UploadedFile]]:
    environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": content_type,
        "wsgi.input": stream,
        "wsgi.input_terminated": True,
    }
    _, form, files = parse_form_data(environ, stream_factory=lambda *args, **kwargs: _ByteCounter())
    uploads = {
        name: UploadedFile(upload.filename or "", upload.content_type or "", upload.stream.size)
        for name, upload in files.items()
    }
    return form.to_dict(flat=False), uploads


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for stalled handlers
    request_queue_size = 4096  # load tests open thousands of connections at once

    def __init__(self, address: tuple[str, int], mock: MockUpstream) -> None:
        self.mock = mock
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (getfqdn), which can stall without DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # vanished clients are routine here
            super().handle_error(request, client_address)


class MockUpstream:
    """A fake OpenAI / Anthropic / Azure OpenAI upstream on 127.0.0.1, bound at construction."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, log_requests: bool = False) -> None:
        self._restore_settings()
        self.log_requests = log_requests
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._scripts: dict[str, deque[Behaviour]] = defaultdict(deque)
        self._standing: dict[str, Behaviour] = {}
        self._open_connections: set[socket.socket] = set()
        self._responses_in_progress = 0
        self._stopping = threading.Event()
        self._server = _Server((host, port), self)
        self._thread: threading.Thread | None = None

    def _restore_settings(self) -> None:
        self.models: list[str] = list(DEFAULT_MODELS)  # what GET /v1/models lists
        self.reject_keys: set[str] = set()  # credentials answered with 401
        self.response_delay = 0.0  # seconds before each default reply or stream starts
        self.stream_delay = 0.0  # seconds between the events of default streams

    # --- lifecycle ---

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def openai_url(self) -> str:
        return self.url + "/v1"

    def start(self) -> MockUpstream:
        # A short poll interval keeps stop() quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="mock-upstream", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, and cut every open connection (which also ends stalls and streams)."""
        self._stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()
        with self._lock:
            connections = list(self._open_connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self) -> MockUpstream:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- test API ---

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.path == path]

    def calls(self, path: str) -> int:
        return len(self.requests_to(path))

    @property
    def active_connections(self) -> int:
        """Responses still being produced: streams in progress and stalls."""
        with self._lock:
            return self._responses_in_progress

    def script(self, path: str, *behaviours: Behaviour) -> None:
        """Queue behaviours for the next requests to ``path``, one per request, in order."""
        with self._lock:
            self._scripts[path].extend(behaviours)

    def serve(self, path: str, behaviour: Behaviour) -> None:
        """Answer every request to ``path`` with ``behaviour`` (after any scripted ones) until reset."""
        with self._lock:
            self._standing[path] = behaviour

    def reset(self, settle_secs: float = 2.0) -> None:
        """Forget recordings and scripts, and restore the settings: a clean mock for the next test.

        Responses still finishing get up to `settle_secs` first: a client may have read its whole
        answer before the handler thread counted it done, and the next test counts connections.
        """
        deadline = time.monotonic() + settle_secs
        while self.active_connections and time.monotonic() < deadline:
            time.sleep(0.01)
        with self._lock:
            self._requests.clear()
            self._scripts.clear()
            self._standing.clear()
            self._restore_settings()

    # --- used by the handler ---

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _behaviour_for(self, request: RecordedRequest) -> Behaviour:
        # Rejected keys win over scripts, so a retry with another key still gets the scripted answer.
        if request.api_key in self.reject_keys:
            return Fail(401, "Incorrect API key provided (rejected by the mock).")
        with self._lock:
            scripted = self._scripts.get(request.path)
            if scripted:
                return scripted.popleft()
            standing = self._standing.get(request.path)
        return standing or default_behaviour(request, self)

    @contextmanager
    def _responding(self):
        with self._lock:
            self._responses_in_progress += 1
        try:
            yield
        finally:
            with self._lock:
                self._responses_in_progress -= 1

    def _track(self, connection: socket.socket) -> None:
        with self._lock:
            self._open_connections.add(connection)

    def _untrack(self, connection: socket.socket) -> None:
        with self._lock:
            self._open_connections.discard(connection)
