"""Client API keys: who is calling, and what they may do."""
import hashlib
import hmac
import ipaddress
from fnmatch import fnmatchcase

from app.config import ApiKeyConfig
from app.errors import AuthenticationFailed, PermissionDenied


def presented_key(headers) -> str | None:
    """The key a client sent, as `Authorization: Bearer …`, `x-api-key` or Google's `x-goog-api-key`
    (all on every surface)."""
    authorization = headers.get("Authorization", "")
    if authorization[:7].lower() == "bearer ":
        return authorization[7:].strip() or None
    return headers.get("x-api-key") or headers.get("x-goog-api-key") or None


class KeyRing:
    """The configured client keys, matched by sha256 digest in constant time."""

    def __init__(self, keys: tuple):
        self._keys = keys

    def authenticate(self, key: str | None) -> ApiKeyConfig:
        if not key:
            raise AuthenticationFailed("Missing API key: send 'Authorization: Bearer <key>' or 'x-api-key: <key>'")
        digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()
        found = None
        for candidate in self._keys:  # no early exit: timing does not depend on which key matched
            if hmac.compare_digest(candidate.key_digest, digest):
                found = candidate
        if found is None:
            raise AuthenticationFailed("Invalid API key")
        return found


def require_permission(principal: ApiKeyConfig, permission: str) -> None:
    # admin implies usage (DESIGN.md, Access: "admin: /api/*, /oauth/*, /usage*")
    granted = principal.permissions | ({"usage"} if "admin" in principal.permissions else set())
    if permission not in granted:
        raise PermissionDenied(f"API key '{principal.name}' lacks the '{permission}' permission")


def is_loopback(address: str | None) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return (getattr(ip, "ipv4_mapped", None) or ip).is_loopback


def require_admin_or_loopback(keys: KeyRing, headers, remote_addr: str | None) -> ApiKeyConfig | None:
    """An admin key, or no key at all from this machine (DESIGN.md: /metrics). A key that is
    sent is always checked, so a wrong one is a 401 even from loopback."""
    key = presented_key(headers)
    if key is None and is_loopback(remote_addr):
        return None
    principal = keys.authenticate(key)
    require_permission(principal, "admin")
    return principal


def _matches(value: str, patterns: tuple) -> bool:
    # "*" (the default) matches everything: no glob matching on every request for it.
    return "*" in patterns or any(fnmatchcase(value, pattern) for pattern in patterns)


def model_allowed(principal: ApiKeyConfig, requested: str, resolved: str) -> bool:
    """Globs in allowed_models match the name the client used or the model it resolved to."""
    return _matches(requested, principal.allowed_models) or _matches(resolved, principal.allowed_models)


def provider_allowed(principal: ApiKeyConfig, provider: str) -> bool:
    return _matches(provider, principal.allowed_providers)
