"""The provider adapter interface: `send` and `stream`, errors mapped at the boundary.

An adapter owns one keep-alive connection pool for its provider in this worker, knows how
its provider authenticates and where its endpoints live, and turns every transport or HTTP
failure into an `UpstreamError` before anything above sees it.

The pool is geventhttpclient's (a C HTTP parser made for gevent), not requests': on this
path requests cost ~540 us of CPU per call against ~80 us (bench notes in issue 7).
"""
import errno
import itertools
import logging
import math
import socket
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import partial
from urllib.parse import unquote, urlsplit
from urllib.request import getproxies

import gevent
import orjson
from geventhttpclient import HTTPClient
from geventhttpclient.response import HTTPSocketPoolResponse

from app.config import ProviderConfig
from app.errors import (ProviderNotConfigured, UpstreamAuthFailed, UpstreamError, UpstreamRateLimited,
                        UpstreamRejected, UpstreamTimeout, scrub)
from app.provider_types import PROVIDER_TYPES

log = logging.getLogger("cortex.providers")

# Concurrent upstream connections per provider per worker: geventhttpclient makes a call wait
# for a free one beyond this, so it matches the clients a worker serves (gunicorn's
# worker_connections); idle ones are kept for reuse and checked before it.
POOL_SIZE = 10_000
ERROR_BODY_LIMIT = 64 * 1024
UNREACHABLE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EADDRNOTAVAIL}


@dataclass
class UpstreamCall:
    path: str                    # relative to the provider's API root, e.g. "/chat/completions"
    body: dict | None = None     # JSON body
    model: str = ""              # upstream model id (Azure puts it in the URL)
    stream: bool = False
    headers: dict = field(default_factory=dict)  # client headers to forward (anthropic-version, ...)
    method: str = "POST"
    # A ready body instead of `body`: re-iterable (a key rotation sends it again), with len()
    # and .content_type; e.g. a multipart upload streamed from a spool file.
    upload: object = None
    deadline_secs: float | None = None  # the whole call, on top of the provider's timeouts
    traceparent: str = ""  # W3C trace context of Cortex's span for this call, sent upstream


@dataclass
class UpstreamReply:
    status: int
    headers: dict
    body: dict


@dataclass
class UpstreamContent:
    """A reply kept as the provider sent it (JSON, plain text, subtitles)."""

    status: int
    headers: dict
    content: bytes


@dataclass(frozen=True)
class Credential:
    """What authenticates one attempt: an API key of the pool, or an OAuth bearer."""

    headers: dict
    key_index: int | None = None  # the key's position in the KeyPool; None for an OAuth token

    @property
    def oauth(self) -> bool:
        return self.key_index is None


class KeyPool:
    """A provider's API keys used in turn; a key the provider rejects cools down for a while."""

    AUTH_COOL_DOWN_SECS = 300.0

    def __init__(self, keys: tuple):
        self._keys = keys
        self._until = [0.0] * len(keys)
        self._turn = itertools.count()

    def __len__(self):
        return len(self._keys)

    def in_turn(self) -> list[tuple[int, str]]:
        """Keys to try for one request: the usable ones from this request's turn, else the least cooled."""
        if not self._keys:
            return []
        now = time.monotonic()
        start = next(self._turn) % len(self._keys)
        order = [(start + i) % len(self._keys) for i in range(len(self._keys))]
        usable = [(i, self._keys[i]) for i in order if self._until[i] <= now]
        if usable:
            return usable
        soonest = min(order, key=lambda i: self._until[i])
        return [(soonest, self._keys[soonest])]

    def cool_down(self, index: int, secs: float) -> None:
        self._until[index] = time.monotonic() + secs

    def snapshot(self) -> list[dict]:
        """Each key's rotation state, by position (never the key): seconds of cool-down left."""
        now = time.monotonic()
        return [{"index": i, "cooling_down_secs": round(max(0.0, until - now), 1)} for i, until in enumerate(self._until)]


def _error_details(body: bytes) -> tuple[str, str | None]:
    """The provider's own error message, from either envelope (raw text otherwise), and the
    OpenAI envelope's `param` if it names one."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body.decode("utf-8", "replace").strip()[:500] or "no error message", None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, dict) and error.get("message"):
        param = error.get("param")
        return str(error["message"]), param if isinstance(param, str) else None
    if isinstance(error, str):
        return error, None
    if isinstance(parsed, dict) and parsed.get("message"):
        return str(parsed["message"]), None
    return body.decode("utf-8", "replace")[:500], None


def _retry_after(headers) -> float | None:
    """Retry-After in seconds; None when absent or not a finite number (the HTTP-date form included)."""
    try:
        seconds = float(headers.get("Retry-After") or "nan")
    except ValueError:
        return None
    return max(0.0, seconds) if math.isfinite(seconds) else None


class IdleTimeout:
    """Bounds each wait for a stream's next bytes like the socket's timeout does, without its garbage.

    For every wait, gevent's socket timeout builds a gevent.Timeout, a timer and an exception:
    with thousands of streams open, that churn set the length of the garbage collector's pauses
    (bench notes in issue 7). Here one libev timer per stream is re-armed around each read,
    and the socket waits without its own timeout only meanwhile: geventhttpclient hands the
    connection back to the pool the moment the body ends, inside a read, and the pool's next
    call must find the timeout on it again.
    """

    def __init__(self, sock, secs: float):
        self._sock = sock
        self._secs = secs
        # Repeating, so that again() re-arms it with the whole `secs` (libev resumes a stopped
        # one-shot timer with only what was left of it).
        self._timer = gevent.get_hub().loop.timer(secs, secs)
        # Built once; a bound method of self would be a reference cycle per stream.
        self._expired = partial(gevent.getcurrent().throw, TimeoutError, "timed out")

    def __enter__(self):
        self._sock.settimeout(None)
        self._timer.again(self._expired)  # counted from now: again() updates the loop's clock

    def __exit__(self, exc_type, exc, traceback):
        self._timer.stop()
        self._sock.settimeout(self._secs)


class SSEStream:
    """Events of an upstream SSE response as raw bytes blocks (lines joined by \\n), as they arrive."""

    def __init__(self, response: HTTPSocketPoolResponse, provider: "ProviderAdapter"):
        self.response = response
        self._provider = provider

    def __iter__(self):
        readline = self.response.readline
        # geventhttpclient has no accessor for it; None when the whole body came with the head.
        sock = self.response._sock
        idle = nullcontext() if sock is None else IdleTimeout(sock, self._provider.provider.timeout_secs)
        lines = []
        try:
            while True:
                with idle:
                    line = readline(b"\n")  # as soon as a whole line is in; b"" once the body has ended
                if not line:
                    break
                line = line.rstrip(b"\r\n")
                if line:
                    lines.append(line)
                elif lines:
                    yield b"\n".join(lines)
                    lines = []
            tail = self.response.read().strip()  # a last line without its newline
        except Exception as exc:  # noqa: BLE001 - parser and socket errors alike end the stream
            raise self._provider.map_transport_error(exc) from None
        finally:
            self.close()
        if tail:
            lines.append(tail)
        if lines:
            yield b"\n".join(lines)

    def has_whole_event(self) -> bool:
        """Whether the next event has already been read whole: iterating gives it without a wait.
        (A blank line ends an event; blank lines before it are skipped, not events.)"""
        rest = bytes(self.response._body_buffer).lstrip(b"\r\n")  # geventhttpclient's parsed, unread body
        return b"\n\n" in rest or b"\n\r\n" in rest

    def close(self):
        self.response.release()  # an unfinished response closes its connection


class UploadReader:
    """A file-like view of a re-iterable upload, the shape geventhttpclient sends a body from."""

    def __init__(self, upload):
        self._size = len(upload)
        self._chunks = iter(upload)
        self._pending = b""

    def __len__(self):
        return self._size

    def read(self, size: int) -> bytes:
        while len(self._pending) < size and (chunk := next(self._chunks, None)) is not None:
            self._pending += chunk
        data, self._pending = self._pending[:size], self._pending[size:]
        return data


def connection_pool(base_url: str, connect_timeout: float, read_timeout: float) -> HTTPClient:
    """Keep-alive connections to the origin of `base_url`, through HTTP(S)_PROXY unless NO_PROXY says not.

    The proxy settings are read once, here, not per call.
    """
    url = urlsplit(base_url)
    proxy_options = {}
    proxy = None
    if getproxies():
        # requests' NO_PROXY matching (CIDR blocks, ports); imported only when a proxy is set, as
        # it costs a worker ~4.6 MB of RSS. With no proxy variable it would answer {} anyway.
        from requests.utils import get_environ_proxies
        proxy = get_environ_proxies(base_url).get(url.scheme)
    if proxy:
        parsed = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        proxy_options = {"proxy_host": parsed.hostname, "proxy_port": parsed.port or 80,
                         "proxy_user": unquote(parsed.username) if parsed.username else None,
                         "proxy_password": unquote(parsed.password) if parsed.password else None}
    return HTTPClient(url.hostname, url.port, ssl=url.scheme == "https", concurrency=POOL_SIZE,
                      connection_timeout=connect_timeout, network_timeout=read_timeout,
                      headers={"User-Agent": "cortex-gateway"}, **proxy_options)


class ProviderAdapter:
    """Base adapter: OpenAI-style bearer auth at `base_url`. Subclasses change what differs.

    What the provider's type speaks and serves comes from its registry entry (app.provider_types):
    `wire_format` is the format chat requests go out in, the one the inference service reads.
    """

    def __init__(self, provider: ProviderConfig, secrets: tuple = (), tokens=None):
        self.provider = provider
        self.provider_type = PROVIDER_TYPES[provider.type]
        self.wire_format = self.provider_type.chat_wire_format
        self.keys = KeyPool(provider.api_keys)
        self.tokens = tokens  # OAuth bearer source: access_token(provider, required) -> str | None
        self._secrets = secrets
        self.http = connection_pool(provider.base_url, provider.connect_timeout_secs, provider.timeout_secs)
        url = urlsplit(provider.base_url)
        self._origin = f"{url.scheme}://{url.netloc}"

    # What differs between providers -------------------------------------------------------
    def url(self, call: UpstreamCall) -> str:
        return self.provider.base_url + call.path

    def auth_headers(self, key: str) -> dict:
        return {"Authorization": f"Bearer {key}"}

    def oauth_headers(self, access_token: str) -> dict:
        return {"Authorization": f"Bearer {access_token}"}

    def forwarded_headers(self, call: UpstreamCall) -> dict:
        return {}

    def request_headers(self, call: UpstreamCall, credential: Credential) -> dict:
        headers = {**self.provider.headers, **self.forwarded_headers(call), **credential.headers}
        if call.traceparent:
            headers["traceparent"] = call.traceparent
        return headers

    # Shared machinery --------------------------------------------------------------------
    def _credentials(self) -> list[Credential]:
        """An OAuth bearer (auth_method oauth, or auto when logged in), else the keys in turn."""
        method = self.provider.auth_method
        if method != "api_key" and self.tokens is not None:
            # `auto` without keys needs the login as much as `oauth` does.
            required = method == "oauth" or not len(self.keys)
            token = self.tokens.access_token(self.provider.name, required=required)
            if token:
                return [Credential(self.oauth_headers(token))]
        keys = self.keys.in_turn()
        if not keys:
            missing = ", ".join(self.provider.missing_key_variables)
            hint = f"set the {missing} environment variable" if missing else "add api_keys to its config"
            raise ProviderNotConfigured(
                f"Provider '{self.provider.name}' has no API key configured: {hint} and restart Cortex",
                code="provider_not_configured")
        return [Credential(self.auth_headers(key), index) for index, key in keys]

    def map_transport_error(self, exc: Exception) -> UpstreamError:
        name = self.provider.name
        if isinstance(exc, UpstreamError):
            return exc
        if isinstance(exc, (ConnectionRefusedError, socket.gaierror)) or getattr(exc, "errno", None) in UNREACHABLE:
            return UpstreamError(f"Provider '{name}' is unreachable", retryable=True, code="upstream_unreachable")
        if isinstance(exc, TimeoutError):
            return UpstreamTimeout(f"Provider '{name}' timed out", retryable=True, code="upstream_timeout")
        return UpstreamError(f"Connection to provider '{name}' failed: {type(exc).__name__}", retryable=True,
                             code="upstream_connection_error")

    def _http_error(self, status: int, headers, body: bytes) -> UpstreamError:
        text, param = _error_details(body)
        message = scrub(f"Provider '{self.provider.name}' returned {status}: {text}", self._secrets)
        if status in UpstreamRejected.ANTHROPIC_TYPES:
            return UpstreamRejected(message, upstream_status=status, param=param)
        if status == 429:
            wait = _retry_after(headers)
            # Whole seconds, as DESIGN.md promises clients; a key without a hint cools down for 1 s.
            return UpstreamRateLimited(message, upstream_status=status, retryable=True, retry_after=wait,
                                       headers={"Retry-After": str(math.ceil(1.0 if wait is None else wait))})
        if status in (401, 403):
            return UpstreamAuthFailed(message, upstream_status=status, retryable=True)
        return UpstreamError(message, upstream_status=status, retryable=status >= 500 or status == 408)

    def _post(self, call: UpstreamCall, credential: Credential) -> HTTPSocketPoolResponse:
        headers = self.request_headers(call, credential)
        body = b""
        if call.body is not None:
            body = orjson.dumps(call.body)
            headers["Content-Type"] = "application/json"
        elif call.upload is not None:
            body = UploadReader(call.upload)
            headers["Content-Type"] = call.upload.content_type
        if call.stream:
            headers["Accept"] = "text/event-stream"
        url = self.url(call)
        try:
            return self.http.request(call.method, url[len(self._origin):], body=body, headers=headers)
        except Exception as exc:  # noqa: BLE001 - every transport failure is mapped at this boundary
            raise self.map_transport_error(exc) from None

    def _open(self, call: UpstreamCall) -> HTTPSocketPoolResponse:
        """POST with key rotation: a rejected or rate-limited key cools down and the next is tried."""
        error = None
        for credential in self._credentials():
            response = self._post(call, credential)
            status = response.status_code
            if status < 400:
                return response
            try:
                body = response.read(ERROR_BODY_LIMIT)
            except Exception as exc:  # noqa: BLE001 - any read failure is a transport error
                raise self.map_transport_error(exc) from None
            finally:
                response.release()
            error = self._http_error(status, response.info(), body)
            if credential.oauth:
                break  # there is no other credential to rotate to
            index = credential.key_index
            if isinstance(error, UpstreamAuthFailed):
                self.keys.cool_down(index, KeyPool.AUTH_COOL_DOWN_SECS)
            elif isinstance(error, UpstreamRateLimited):
                self.keys.cool_down(index, error.retry_after or 1.0)
            else:
                break
            log.warning("provider %s key #%d answered %d; trying the next key", self.provider.name, index, status)
        raise error

    def fetch(self, call: UpstreamCall) -> UpstreamContent:
        deadline = nullcontext() if call.deadline_secs is None else gevent.Timeout(
            call.deadline_secs, UpstreamTimeout(f"Provider '{self.provider.name}' timed out", retryable=True,
                                                code="upstream_timeout"))
        with deadline:
            response = self._open(call)
            try:
                return UpstreamContent(response.status_code, response.info(), response.read())
            except Exception as exc:  # noqa: BLE001 - any read failure is a transport error
                raise self.map_transport_error(exc) from None
            finally:
                response.release()

    def send(self, call: UpstreamCall) -> UpstreamReply:
        reply = self.fetch(call)
        try:
            body = orjson.loads(reply.content)
        except orjson.JSONDecodeError:
            raise UpstreamError(f"Provider '{self.provider.name}' sent a response that is not JSON",
                                upstream_status=reply.status, retryable=True,
                                code="upstream_bad_response") from None
        if not isinstance(body, dict):
            raise UpstreamError(f"Provider '{self.provider.name}' sent an unexpected response",
                                retryable=True, code="upstream_bad_response")
        return UpstreamReply(reply.status, reply.headers, body)

    def stream(self, call: UpstreamCall) -> SSEStream:
        response = self._open(call)
        content_type = response.get("Content-Type", "")
        if "text/event-stream" not in content_type:
            response.release()
            raise UpstreamError(f"Provider '{self.provider.name}' did not answer with an event stream "
                                f"(Content-Type {content_type or 'missing'})", retryable=True,
                                code="upstream_bad_response")
        return SSEStream(response, self)

    def close(self):
        self.http.close()
