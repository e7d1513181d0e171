"""The provider adapter interface: `send` and `stream`, errors mapped at the boundary.

An adapter owns one `requests.Session` (connection pool) for its provider in this worker,
knows how its provider authenticates and where its endpoints live, and turns every
transport or HTTP failure into an `UpstreamError` before anything above sees it.
"""
import itertools
import logging
import time
from dataclasses import dataclass, field

import orjson
import requests
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies
from urllib3.exceptions import ReadTimeoutError

from app.config import ProviderConfig
from app.errors import (ProviderNotConfigured, UpstreamAuthFailed, UpstreamError, UpstreamRateLimited,
                        UpstreamTimeout, scrub)

log = logging.getLogger("cortex.providers")

POOL_SIZE = 1000          # concurrent upstream connections kept per provider per worker
ERROR_BODY_LIMIT = 64 * 1024
READ_SIZE = 64 * 1024


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
    timeout: tuple | None = None  # (connect, read) seconds instead of the provider's


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


def _error_message(body: bytes) -> str:
    """The provider's own error message, from either envelope; raw text otherwise."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body.decode("utf-8", "replace").strip()[:500] or "no error message"
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    if isinstance(error, str):
        return error
    if isinstance(parsed, dict) and parsed.get("message"):
        return str(parsed["message"])
    return body.decode("utf-8", "replace")[:500]


def _retry_after(headers) -> float | None:
    value = headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


class SSEStream:
    """Events of an upstream SSE response as raw bytes blocks, read as they arrive."""

    def __init__(self, response: requests.Response, provider: "ProviderAdapter"):
        self.response = response
        self._provider = provider

    def __iter__(self):
        buffer = b""
        read = self.response.raw.read1
        try:
            while True:
                chunk = read(READ_SIZE)
                if not chunk:
                    break
                buffer += chunk
                if b"\r" in buffer:
                    buffer = buffer.replace(b"\r\n", b"\n")
                *events, buffer = buffer.split(b"\n\n")
                for event in events:
                    if event:
                        yield event
        except Exception as exc:  # noqa: BLE001 - urllib3 and socket errors alike end the stream
            raise self._provider.map_transport_error(exc) from None
        finally:
            self.close()
        if buffer.strip():
            yield buffer.strip()

    def close(self):
        self.response.close()


class ProviderAdapter:
    """Base adapter: OpenAI-style bearer auth at `base_url`. Subclasses change what differs."""

    wire_format = "openai"
    lists_models = True  # GET <root>/models lists the provider's models

    def __init__(self, provider: ProviderConfig, secrets: tuple = (), tokens=None):
        self.provider = provider
        self.keys = KeyPool(provider.api_keys)
        self.tokens = tokens  # OAuth bearer source: access_token(provider, required) -> str | None
        self._secrets = secrets
        self._timeout = (provider.connect_timeout_secs, provider.timeout_secs)
        self.session = requests.Session()
        pool = HTTPAdapter(pool_connections=4, pool_maxsize=POOL_SIZE, max_retries=0)
        self.session.mount("http://", pool)
        self.session.mount("https://", pool)
        self.session.headers.update({"User-Agent": "cortex-gateway", "Content-Type": "application/json"})
        # Proxy settings (HTTP(S)_PROXY, NO_PROXY) are read once here instead of on every call:
        # with trust_env, requests rescans the environment and netrc per request.
        self.session.proxies = get_environ_proxies(provider.base_url)
        self.session.trust_env = False

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
        return {**self.provider.headers, **self.forwarded_headers(call), **credential.headers}

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
        if isinstance(exc, requests.ConnectTimeout) or (
                isinstance(exc, requests.ConnectionError) and "NewConnectionError" in repr(exc.args)):
            return UpstreamError(f"Provider '{name}' is unreachable", retryable=True, code="upstream_unreachable")
        if isinstance(exc, (requests.Timeout, ReadTimeoutError, TimeoutError)):
            return UpstreamTimeout(f"Provider '{name}' timed out", retryable=True, code="upstream_timeout")
        return UpstreamError(f"Connection to provider '{name}' failed: {type(exc).__name__}", retryable=True,
                             code="upstream_connection_error")

    def _http_error(self, status: int, headers, body: bytes) -> UpstreamError:
        message = scrub(f"Provider '{self.provider.name}' returned {status}: {_error_message(body)}", self._secrets)
        if status == 429:
            return UpstreamRateLimited(message, upstream_status=status, retryable=True,
                                       retry_after=_retry_after(headers),
                                       headers={"Retry-After": headers["Retry-After"]} if "Retry-After" in headers
                                       else None)
        if status in (401, 403):
            return UpstreamAuthFailed(message, upstream_status=status, retryable=True)
        return UpstreamError(message, upstream_status=status, retryable=status >= 500 or status == 408)

    def _post(self, call: UpstreamCall, credential: Credential) -> requests.Response:
        headers = self.request_headers(call, credential)
        if call.stream:
            headers["Accept"] = "text/event-stream"
            headers["Accept-Encoding"] = "identity"  # a compressed stream would be buffered
        data = orjson.dumps(call.body) if call.body is not None else None
        if call.upload is not None:
            data = call.upload
            headers["Content-Type"] = call.upload.content_type
        try:
            return self.session.request(
                call.method, self.url(call), data=data,
                headers=headers, timeout=call.timeout or self._timeout, stream=True,
            )
        except requests.RequestException as exc:
            raise self.map_transport_error(exc) from None

    def _open(self, call: UpstreamCall) -> requests.Response:
        """POST with key rotation: a rejected or rate-limited key cools down and the next is tried."""
        error = None
        for credential in self._credentials():
            response = self._post(call, credential)
            if response.status_code < 400:
                return response
            try:
                body = response.raw.read(ERROR_BODY_LIMIT, decode_content=True)
            except Exception as exc:  # noqa: BLE001 - any read failure is a transport error
                raise self.map_transport_error(exc) from None
            finally:
                response.close()
            error = self._http_error(response.status_code, response.headers, body)
            if credential.oauth:
                break  # there is no other credential to rotate to
            index = credential.key_index
            if isinstance(error, UpstreamAuthFailed):
                self.keys.cool_down(index, KeyPool.AUTH_COOL_DOWN_SECS)
            elif isinstance(error, UpstreamRateLimited):
                self.keys.cool_down(index, error.retry_after or 1.0)
            else:
                break
            log.warning("provider %s key #%d answered %d; trying the next key", self.provider.name, index,
                        response.status_code)
        raise error

    def fetch(self, call: UpstreamCall) -> UpstreamContent:
        response = self._open(call)
        try:
            return UpstreamContent(response.status_code, response.headers, response.content)
        except requests.RequestException as exc:
            raise self.map_transport_error(exc) from None
        finally:
            response.close()

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
        content_type = response.headers.get("Content-Type", "")
        if "text/event-stream" not in content_type:
            response.close()
            raise UpstreamError(f"Provider '{self.provider.name}' did not answer with an event stream "
                                f"(Content-Type {content_type or 'missing'})", retryable=True,
                                code="upstream_bad_response")
        return SSEStream(response, self)

    def close(self):
        self.session.close()
