"""The response cache: identical inference requests answered from the store within the TTL.

Identical means same API key (the scope), same client format, same resolved route and the
same canonical body (keys sorted). Only complete successes are stored — never errors or a
stream that failed or was cut. Reads are one primary-key lookup; writes and the purge of
expired entries happen off the request path. With `redis_url`, `RedisResponseCache` keeps
the entries in Redis instead (one GET, one SET with the TTL; Redis expires them).
"""
import hashlib
import logging
import time
from dataclasses import dataclass

import gevent
import orjson

from app.db import CachedResponse
from app.redis_state import KEY_PREFIX, OutageLog, redis_errors
from app.usage import STORE_ERRORS, BackgroundWriter, off_hub

log = logging.getLogger("cortex.cache")

PURGE_INTERVAL_SECS = 60.0


@dataclass(frozen=True)
class CacheHit:
    stream: bool
    body: bytes
    provider: str
    model: str
    input_tokens: int
    output_tokens: int


def cache_key(scope: str, client_format: str, routes: tuple, body: dict) -> str:
    route = sorted((r.provider.name, r.model) for r in routes)  # round robin reorders candidates
    material = orjson.dumps([scope, client_format, route, body], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(material).hexdigest()


def _upsert(batch: list[dict]) -> None:
    # ON CONFLICT DO UPDATE: both SQLite and PostgreSQL speak it (REPLACE is SQLite's own).
    (CachedResponse.insert_many(batch)
     .on_conflict(conflict_target=[CachedResponse.key],
                  preserve=[f for f in CachedResponse._meta.sorted_fields if f is not CachedResponse.key])
     .execute())


class ResponseCache:
    def __init__(self, store):
        self._store = store
        self._writer = BackgroundWriter("response cache", store, _upsert)
        self._purger = None

    def get(self, key: str) -> CacheHit | None:
        try:
            with self._store.database.connection_context():
                row = CachedResponse.get_or_none((CachedResponse.key == key)
                                                 & (CachedResponse.expires_at > time.time()))
        except STORE_ERRORS as exc:
            log.warning("response cache unavailable: %s", type(exc).__name__)
            return None
        if row is None:
            return None
        return CacheHit(row.stream, bytes(row.body), row.provider, row.model, row.input_tokens, row.output_tokens)

    def put(self, key: str, *, stream: bool, body: bytes, provider: str, model: str, usage, ttl_secs: int) -> None:
        self._writer.add({
            "key": key, "expires_at": time.time() + ttl_secs, "stream": stream, "body": body,
            "provider": provider, "model": model,
            "input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens,
        })
        if self._purger is None:
            self._purger = gevent.spawn(self._purge_forever)

    def _purge_expired(self):
        with self._store.database.connection_context():
            CachedResponse.delete().where(CachedResponse.expires_at <= time.time()).execute()

    def _purge_forever(self):
        while True:
            gevent.sleep(PURGE_INTERVAL_SECS)
            try:
                off_hub(self._purge_expired)
            except STORE_ERRORS as exc:
                log.warning("could not purge the response cache: %s", type(exc).__name__)

    def close(self):
        if self._purger is not None:
            self._purger.kill(block=False)
        self._writer.close()


class RedisResponseCache:
    """The same cache for every instance: an entry is its CacheHit's fields as JSON, a newline,
    then the body. While Redis is down every lookup is a miss and nothing is stored."""

    def __init__(self, client):
        self._redis = client
        self._outage = OutageLog("the response cache")

    def get(self, key: str) -> CacheHit | None:
        try:
            entry = self._redis.get(f"{KEY_PREFIX}cache:{key}")
        except redis_errors() as exc:
            self._outage.failed(exc)
            return None
        self._outage.succeeded()
        if entry is None:
            return None
        fields, body = entry.split(b"\n", 1)
        return CacheHit(body=body, **orjson.loads(fields))

    def put(self, key: str, *, stream: bool, body: bytes, provider: str, model: str, usage, ttl_secs: int) -> None:
        fields = orjson.dumps({"stream": stream, "provider": provider, "model": model,
                               "input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens})
        try:
            self._redis.set(f"{KEY_PREFIX}cache:{key}", fields + b"\n" + body, ex=ttl_secs)
        except redis_errors() as exc:
            self._outage.failed(exc)

    def close(self):
        """Nothing to flush: every put is written at once."""
