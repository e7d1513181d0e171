"""The response cache: identical inference requests answered from the store within the TTL.

Identical means same API key (the scope), same client format, same resolved route and the
same canonical body (keys sorted). Only complete successes are stored — never errors or a
stream that failed or was cut. Reads are one primary-key lookup; writes and the purge of
expired entries happen off the request path.
"""
import hashlib
import logging
import time
from dataclasses import dataclass

import gevent
import orjson

from app.db import CachedResponse
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
    CachedResponse.insert_many(batch).on_conflict_replace().execute()


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
