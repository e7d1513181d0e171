"""Where a finished login may send the browser: no open redirects.

A `redirect_url` is honoured only if it is a relative path on Cortex itself, or an absolute
http(s) URL whose origin is listed in the provider's `oauth.allowed_redirect_origins`.
"""
from urllib.parse import urlsplit

from app.errors import InvalidRequest

DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> str | None:
    """`scheme://host:port`, lower-cased with the port made explicit; None if not http(s)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in DEFAULT_PORTS or not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    return f"{scheme}://{parts.hostname.lower()}:{port or DEFAULT_PORTS[scheme]}"


def _is_local_path(url: str) -> bool:
    # "//host" and "/\host" are protocol-relative to browsers; "\" is read as "/" by some.
    return url.startswith("/") and not url.startswith(("//", "/\\")) and not urlsplit(url).netloc


def validated_redirect(url: str, allowed_origins) -> str:
    """`url` if it is safe to redirect to after a login, else a 400 naming why."""
    if any(ord(char) < 0x20 or char == "\\" for char in url):
        raise InvalidRequest("redirect_url contains control characters or backslashes", param="redirect_url",
                             code="invalid_redirect_url")
    if _is_local_path(url):
        return url
    target = origin(url)
    if target is not None and target in {origin(allowed) for allowed in allowed_origins}:
        return url
    raise InvalidRequest(
        "redirect_url must be a relative path or an URL on an origin listed in the provider's "
        "oauth.allowed_redirect_origins", param="redirect_url", code="invalid_redirect_url")
