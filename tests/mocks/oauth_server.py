"""A loopback OAuth 2.0 authorization server for Cortex's tests.

    with MockOAuthServer() as auth:
        ...  # providers[].oauth: authorize_url=auth.url + "/authorize", token_url=auth.url + "/token"

- Authorization code with PKCE (RFC 7636): `/authorize` approves at once (or answers
  `access_denied` when `deny_next` is set) and redirects with a single-use code; `/token`
  rejects a code_verifier whose S256 digest is not the challenge.
- Tokens expire (`lifetimes[client_id]` seconds, else `DEFAULT_LIFETIME`) and refresh tokens
  rotate: a refresh token works once, a reused one gets `invalid_grant`.
- Device grant (RFC 8628): `/device/code`, then `authorization_pending` until the user opens
  `verification_uri_complete` (or `approve_device()`), `slow_down` when polled faster than the
  interval (or when `slow_down_next` is set).
- OpenRouter's PKCE key exchange: `/openrouter/auth` and `/openrouter/keys` (a permanent key).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import secrets
import socketserver
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

DEFAULT_LIFETIME = 3600
DEVICE_CODE_LIFETIME = 300
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
POLL_TOLERANCE_SECS = 0.3  # network jitter between two polls a client spaced correctly


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


@dataclass
class IssuedTokens:
    client_id: str
    grant_type: str
    access_token: str
    refresh_token: str
    expires_in: int


@dataclass
class Grant:
    """One request to the token endpoint and how it ended."""

    grant_type: str
    client_id: str
    error: str  # "" when tokens were issued
    refresh_token: str = ""  # the refresh token presented, for refresh grants
    received_at: float = field(default_factory=time.monotonic)


@dataclass
class _PendingCode:
    client_id: str
    redirect_uri: str
    challenge: str
    scope: str


@dataclass
class _Device:
    client_id: str
    user_code: str
    challenge: str
    scope: str
    interval: int
    expires_at: float
    approved: bool = False
    last_poll: float = 0.0


class _OAuthError(Exception):
    def __init__(self, error: str, description: str = "", status: int = 400):
        super().__init__(error)
        self.error, self.description, self.status = error, description, status


class MockOAuthServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, device_interval: int = 1) -> None:
        self.lifetimes: dict[str, int] = {}
        self.device_interval = device_interval
        self.deny_next = False
        self.slow_down_next = False
        self.issued: list[IssuedTokens] = []
        self.grants: list[Grant] = []
        self._lock = threading.Lock()
        self._codes: dict[str, _PendingCode] = {}
        self._live_refresh_tokens: dict[str, tuple[str, str]] = {}  # token -> (client_id, scope)
        self._devices: dict[str, _Device] = {}
        self._counter = itertools.count(1)
        self._server = _Server((host, port), self)
        self._thread: threading.Thread | None = None

    # --- lifecycle ---

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> MockOAuthServer:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="mock-oauth", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> MockOAuthServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- test API ---

    def approve_device(self, user_code: str) -> None:
        with self._lock:
            for device in self._devices.values():
                if device.user_code == user_code:
                    device.approved = True

    def tokens_for(self, client_id: str) -> list[IssuedTokens]:
        with self._lock:
            return [tokens for tokens in self.issued if tokens.client_id == client_id]

    def grants_of(self, grant_type: str, client_id: str) -> list[Grant]:
        with self._lock:
            return [g for g in self.grants if g.grant_type == grant_type and g.client_id == client_id]

    # --- the endpoints (called by the handler, under no lock) ---

    def _issue(self, client_id: str, grant_type: str, scope: str) -> dict:
        serial = next(self._counter)
        tokens = IssuedTokens(client_id, grant_type, f"mock-at-{serial}-{secrets.token_hex(12)}",
                              f"mock-rt-{serial}-{secrets.token_hex(12)}", self.lifetimes.get(client_id, DEFAULT_LIFETIME))
        self.issued.append(tokens)
        self._live_refresh_tokens[tokens.refresh_token] = (client_id, scope)
        return {"access_token": tokens.access_token, "token_type": "Bearer", "expires_in": tokens.expires_in,
                "refresh_token": tokens.refresh_token, "scope": scope}

    def authorize(self, query: dict) -> str:
        """The redirect the user's browser gets after (automatically) approving."""
        redirect_uri = query.get("redirect_uri", "")
        if self.deny_next:
            self.deny_next = False
            error = {"error": "access_denied", "error_description": "User denied access"}
        elif query.get("response_type") != "code" or query.get("code_challenge_method") != "S256" \
                or not query.get("code_challenge") or not query.get("client_id"):
            error = {"error": "invalid_request", "error_description": "PKCE S256 code flow required"}
        else:
            code = f"mock-code-{secrets.token_hex(8)}"
            with self._lock:
                self._codes[code] = _PendingCode(query["client_id"], redirect_uri, query["code_challenge"],
                                                 query.get("scope", ""))
            error = {"code": code}
        separator = "&" if "?" in redirect_uri else "?"
        return redirect_uri + separator + urlencode({**error, "state": query.get("state", "")})

    def openrouter_authorize(self, query: dict) -> str:
        code = f"mock-or-code-{secrets.token_hex(8)}"
        with self._lock:
            self._codes[code] = _PendingCode("openrouter", "", query.get("code_challenge", ""), "")
        callback = query["callback_url"]
        return callback + ("&" if "?" in callback else "?") + urlencode({"code": code})

    def openrouter_key(self, body: dict) -> dict:
        with self._lock:
            pending = self._codes.pop(body.get("code", ""), None)
            if pending is None or pending.client_id != "openrouter":
                raise _OAuthError("invalid_code", "unknown or used code", 403)
            if s256(body.get("code_verifier", "")) != pending.challenge:
                raise _OAuthError("invalid_code_verifier", "PKCE verification failed", 403)
            key = f"sk-or-mock-{secrets.token_hex(16)}"
            self.issued.append(IssuedTokens("openrouter", "openrouter_key", key, "", 0))
        return {"key": key, "user_id": "user_mock"}

    def device_code(self, form: dict) -> dict:
        device_code, user_code = f"mock-device-{secrets.token_hex(12)}", f"{secrets.token_hex(2).upper()}-MOCK"
        if not form.get("client_id") or not form.get("code_challenge"):
            raise _OAuthError("invalid_request", "client_id and code_challenge are required")
        with self._lock:
            self._devices[device_code] = _Device(form["client_id"], user_code, form["code_challenge"],
                                                 form.get("scope", ""), self.device_interval,
                                                 time.monotonic() + DEVICE_CODE_LIFETIME)
        verification_uri = f"{self.url}/device"
        return {"device_code": device_code, "user_code": user_code, "verification_uri": verification_uri,
                "verification_uri_complete": f"{verification_uri}?{urlencode({'user_code': user_code})}",
                "expires_in": DEVICE_CODE_LIFETIME, "interval": self.device_interval}

    def token(self, form: dict) -> dict:
        grant_type, client_id = form.get("grant_type", ""), form.get("client_id", "")
        grant = Grant(grant_type, client_id, "", form.get("refresh_token", ""))
        try:
            with self._lock:
                return self._grant(grant_type, client_id, form)
        except _OAuthError as exc:
            grant.error = exc.error
            raise
        finally:
            with self._lock:
                self.grants.append(grant)

    def _grant(self, grant_type: str, client_id: str, form: dict) -> dict:
        if grant_type == "authorization_code":
            pending = self._codes.pop(form.get("code", ""), None)
            if pending is None or pending.client_id != client_id:
                raise _OAuthError("invalid_grant", "unknown or already used authorization code")
            if pending.redirect_uri != form.get("redirect_uri"):
                raise _OAuthError("invalid_grant", "redirect_uri does not match the authorization request")
            if s256(form.get("code_verifier", "")) != pending.challenge:
                raise _OAuthError("invalid_grant", "PKCE verification failed")
            return self._issue(client_id, grant_type, pending.scope)
        if grant_type == "refresh_token":
            owner = self._live_refresh_tokens.pop(form.get("refresh_token", ""), None)
            if owner is None or owner[0] != client_id:
                raise _OAuthError("invalid_grant", "refresh token expired, revoked or already used")
            return self._issue(client_id, grant_type, owner[1])
        if grant_type == DEVICE_GRANT:
            return self._device_grant(client_id, form)
        raise _OAuthError("unsupported_grant_type", grant_type)

    def _device_grant(self, client_id: str, form: dict) -> dict:
        device = self._devices.get(form.get("device_code", ""))
        if device is None or device.client_id != client_id:
            raise _OAuthError("invalid_grant", "unknown device code")
        now = time.monotonic()
        if now > device.expires_at:
            raise _OAuthError("expired_token", "the device code expired")
        too_soon = now - device.last_poll < device.interval - POLL_TOLERANCE_SECS
        device.last_poll = now
        if too_soon or self.slow_down_next:
            self.slow_down_next = False
            device.interval += 5  # RFC 8628 section 3.5
            raise _OAuthError("slow_down", "polling too fast")
        if not device.approved:
            raise _OAuthError("authorization_pending", "the user has not approved yet")
        if s256(form.get("code_verifier", "")) != device.challenge:
            raise _OAuthError("invalid_grant", "PKCE verification failed")
        del self._devices[form["device_code"]]
        return self._issue(client_id, DEVICE_GRANT, device.scope)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: dict | None = None, location: str | None = None) -> None:
        payload = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _body(self) -> dict:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        if self.headers.get("Content-Type", "").startswith("application/json"):
            return json.loads(raw or "{}")
        return dict(parse_qsl(raw))

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query))
        mock = self.server.mock
        if url.path == "/authorize":
            self._send(302, location=mock.authorize(query))
        elif url.path == "/openrouter/auth":
            self._send(302, location=mock.openrouter_authorize(query))
        elif url.path == "/device":  # the user opens verification_uri_complete and approves
            mock.approve_device(query.get("user_code", ""))
            self._send(200, {"approved": query.get("user_code", "")})
        else:
            self._send(404, {"error": "not_found"})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        mock = self.server.mock
        routes = {"/token": mock.token, "/device/code": mock.device_code, "/openrouter/keys": mock.openrouter_key}
        if path not in routes:
            self._send(404, {"error": "not_found"})
            return
        try:
            self._send(200, routes[path](self._body()))
        except _OAuthError as exc:
            self._send(exc.status, {"error": exc.error, "error_description": exc.description})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], mock: MockOAuthServer) -> None:
        self.mock = mock
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # no getfqdn(): it can stall without DNS
        self.server_name, self.server_port = self.server_address[:2]
