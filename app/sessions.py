"""Dashboard sign-in: an admin key exchanged for a signed session cookie, and CSRF tokens.

The cookie is Flask's signed session (itsdangerous), HttpOnly, SameSite=Strict, and Secure
whenever the request came over TLS (`request.is_secure`, which ProxyFix sets from
X-Forwarded-Proto behind a trusted proxy). It is signed with a secret derived from the
storage encryption key, so every worker and every instance sharing the store accept it. It
holds the key's id, never the key nor its digest. A session lasts while its key still
exists, is enabled and has the admin permission: each request looks the key up again.

The dashboard's pages call the admin and usage APIs with this cookie instead of a key;
any write made that way needs the session's CSRF token in the `X-CSRF-Token` header.
"""
import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import request, session
from flask.sessions import SecureCookieSessionInterface

from app.auth import require_permission
from app.errors import AuthenticationFailed, PermissionDenied

COOKIE_NAME = "cortex_session"
CSRF_HEADER = "X-CSRF-Token"
LIFETIME = timedelta(hours=12)
SAFE_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))


class DashboardSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, free for the API requests that carry no session cookie:
    Flask builds an itsdangerous serializer (which JSON-encodes `{}` to test itself) on every
    request and reads the cookie settings again while saving, ~140k instructions of a
    chat request's ~1.9M (callgrind); an API client never has the cookie."""

    def open_session(self, app, request):
        if "HTTP_COOKIE" not in request.environ or self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response) -> None:
        if session or session.modified or session.accessed:  # an untouched empty session has nothing to write
            super().save_session(app, session, response)

    def get_cookie_secure(self, app) -> bool:
        return request.is_secure  # called while the response is saved, inside the request


def init_app(app, encryption_key: bytes) -> None:
    # Derived, not the key itself: a leaked session secret must not decrypt OAuth tokens.
    app.secret_key = hmac.new(encryption_key, b"cortex dashboard sessions", hashlib.sha256).digest()
    app.session_interface = DashboardSessionInterface()
    app.config.update(SESSION_COOKIE_NAME=COOKIE_NAME, SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Strict", PERMANENT_SESSION_LIFETIME=LIFETIME)


def csrf_token() -> str:
    """This session's CSRF token, made on first use (the sign-in form has one before sign-in)."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf(sent: str | None) -> None:
    expected = session.get("csrf")
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        raise PermissionDenied("Missing or wrong CSRF token: reload the page and try again", code="csrf_failed")


def sign_in(keys, key: str) -> str:
    """Start a session for an admin key; returns the key's name. Raises 401/403 like the APIs."""
    principal = keys.authenticate(key)
    require_permission(principal, "admin")
    session.clear()
    session.permanent = True
    session["key"] = principal.id  # the id, not the key: the cookie is signed, not encrypted
    session["csrf"] = secrets.token_urlsafe(32)  # a new token at sign-in: one seen before it is worth nothing
    return principal.name


def sign_out() -> None:
    session.clear()


def signed_in(keys, method: str, csrf_sent: str | None):
    """The principal of the session's key, checked again now; writes need the CSRF token."""
    key_id = session.get("key")
    principal = keys.by_id(key_id) if key_id else None
    if principal is None:
        raise AuthenticationFailed("Not signed in, or the session's key no longer exists")
    require_permission(principal, "admin")
    if method not in SAFE_METHODS:
        check_csrf(csrf_sent)
    return principal
