"""Client API keys: who is calling, and what they may do."""
import hashlib
import ipaddress
import time
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
    """The keys of cortex.yaml and those created at run time (app.keys), found by sha256 digest."""

    def __init__(self, keys: tuple, runtime=None, clock=time.time):
        self._keys = {key.key_digest: key for key in keys}
        self._runtime = runtime
        self._clock = clock

    def authenticate(self, key: str | None) -> ApiKeyConfig:
        if not key:
            raise AuthenticationFailed("Missing API key: send 'Authorization: Bearer <key>' or 'x-api-key: <key>'")
        # A dict lookup by digest: what it could leak through timing is about the digest, which
        # an attacker cannot steer towards a key's without inverting sha256.
        digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()
        found = self._keys.get(digest)
        if found is None and self._runtime is not None:
            found = self._runtime.by_digest(digest)
        if found is None:
            raise AuthenticationFailed("Invalid API key")
        if found.disabled:
            raise AuthenticationFailed(f"API key '{found.name}' is disabled")
        if found.expires_at is not None and found.expires_at <= self._clock():
            raise AuthenticationFailed(f"API key '{found.name}' has expired")
        return found

    def by_id(self, key_id: str) -> ApiKeyConfig | None:
        """The key with this id (a dashboard session holds it); None once it is revoked, disabled or expired."""
        found = next((key for key in self._keys.values() if key.id == key_id), None)
        if found is None and self._runtime is not None:
            found = self._runtime.by_id(key_id)
        if found is None or found.disabled or (found.expires_at is not None and found.expires_at <= self._clock()):
            return None
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
