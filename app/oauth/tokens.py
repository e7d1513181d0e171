"""Token sets and their encrypted store, shared by every worker (and instance) through the DB.

Each worker keeps the decrypted tokens it last read; a version counter in the instance's
shared memory (in Redis with `redis_url`, shared by every instance) moves on every write, so
a request costs a counter read, not a DB read, and still sees another worker's refresh or
logout at once. Entries also age out, which bounds how long a write the counter does not
see (another instance without Redis, the CLI) stays unseen: a missing login is looked up
again within seconds, a present one within `CACHE_MAX_AGE_SECS`.
"""
import dataclasses
import logging
import time
from dataclasses import dataclass

import orjson

from app.db import OAuthToken
from app.usage import STORE_ERRORS

log = logging.getLogger("cortex.oauth")

CACHE_MAX_AGE_SECS = 30.0
MISSING_MAX_AGE_SECS = 2.0


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str = ""
    expires_at: float | None = None  # unix seconds; None: does not expire
    scopes: tuple = ()
    token_type: str = "bearer"  # "permanent": a key that never expires (OpenRouter)

    @property
    def permanent(self) -> bool:
        return self.token_type == "permanent"

    def valid_at(self, when: float) -> bool:
        return self.expires_at is None or self.expires_at > when

    def to_bytes(self) -> bytes:
        return orjson.dumps(dataclasses.asdict(self))

    @classmethod
    def from_bytes(cls, data: bytes) -> "TokenSet":
        fields = orjson.loads(data)
        return cls(**{**fields, "scopes": tuple(fields.get("scopes") or ())})


def _context(provider: str) -> str:
    return f"token:{provider}"


class TokenStore:
    def __init__(self, store, cipher, counters):
        self._database = store.database
        self._cipher = cipher
        self._counters = counters
        self._cache = {}  # provider -> (shared version, monotonic read time, TokenSet | None)

    def _version_key(self, provider: str) -> str:
        return f"oauth-token:{provider}"

    def _changed(self, provider: str) -> None:
        self._counters.incr(self._version_key(provider))

    def load(self, provider: str) -> TokenSet | None:
        """The stored tokens, read and decrypted now."""
        with self._database.connection_context():
            row = OAuthToken.get_or_none(OAuthToken.provider == provider)
        if row is None:
            return None
        return TokenSet.from_bytes(self._cipher.decrypt(row.ciphertext, _context(provider)))

    def current(self, provider: str) -> TokenSet | None:
        """The tokens as this worker last read them, re-read when any worker changed them."""
        version = self._counters.get(self._version_key(provider))[0]
        cached = self._cache.get(provider)
        now = time.monotonic()
        if cached and cached[0] == version and now - cached[1] < (
                CACHE_MAX_AGE_SECS if cached[2] is not None else MISSING_MAX_AGE_SECS):
            return cached[2]
        try:
            tokens = self.load(provider)
        except STORE_ERRORS as exc:
            # Requests keep the tokens they had (or their keys) while the store is down.
            log.warning("oauth: could not read the %s token: %s", provider, type(exc).__name__)
            return cached[2] if cached else None
        self._cache[provider] = (version, now, tokens)
        return tokens

    def save(self, provider: str, tokens: TokenSet) -> None:
        fields = {
            OAuthToken.ciphertext: self._cipher.encrypt(tokens.to_bytes(), _context(provider)),
            OAuthToken.expires_at: tokens.expires_at,
            OAuthToken.refreshable: bool(tokens.refresh_token),
            OAuthToken.updated_at: time.time(),
        }
        with self._database.connection_context():
            # An upsert that leaves the lease columns to whoever holds the lease.
            (OAuthToken.insert({OAuthToken.provider: provider, **fields})
             .on_conflict(conflict_target=[OAuthToken.provider], update=fields).execute())
        self._changed(provider)

    def delete(self, provider: str) -> bool:
        with self._database.connection_context():
            deleted = OAuthToken.delete().where(OAuthToken.provider == provider).execute()
        self._changed(provider)
        return bool(deleted)

    def updated_at(self, provider: str) -> float | None:
        with self._database.connection_context():
            row = (OAuthToken.select(OAuthToken.updated_at).where(OAuthToken.provider == provider).first())
        return row.updated_at if row else None

    def expiring(self, before: float) -> list[str]:
        """Providers whose refreshable tokens expire before `before`."""
        with self._database.connection_context():
            query = OAuthToken.select(OAuthToken.provider).where(
                OAuthToken.refreshable, OAuthToken.expires_at.is_null(False), OAuthToken.expires_at < before)
            return [row.provider for row in query]

    def stored_providers(self) -> list[str]:
        with self._database.connection_context():
            return [row.provider for row in OAuthToken.select(OAuthToken.provider)]

    # The refresh lease -------------------------------------------------------------------
    def claim(self, provider: str, holder: str, lease_secs: float, *, expiring_before: float | None = None,
              attempted_before: float | None = None) -> bool:
        """Take the refresh lease if it is free (and the token still qualifies): one atomic UPDATE."""
        now = time.time()
        conditions = [OAuthToken.provider == provider, OAuthToken.lease_until <= now]
        if expiring_before is not None:
            conditions += [OAuthToken.expires_at.is_null(False), OAuthToken.expires_at < expiring_before]
        if attempted_before is not None:
            conditions.append(OAuthToken.refresh_attempted_at <= attempted_before)
        with self._database.connection_context():
            claimed = (OAuthToken.update(lease_until=now + lease_secs, lease_holder=holder, refresh_attempted_at=now)
                       .where(*conditions).execute())
        return claimed == 1

    def release(self, provider: str, holder: str) -> None:
        with self._database.connection_context():
            (OAuthToken.update(lease_until=0, lease_holder="")
             .where(OAuthToken.provider == provider, OAuthToken.lease_holder == holder).execute())
