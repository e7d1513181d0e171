"""Redis for state that several Cortex instances share (`storage.redis_url`).

One client per worker (redis-py pools its connections; under gevent its sockets yield to the
hub). Commands fail fast when Redis is down — short timeouts, one retry for a connection that
went stale — and every caller degrades instead of failing the request: `/ready` reports 503
meanwhile. Keys are prefixed `cortex:`.
"""
from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

from app.errors import ServiceUnavailable

if TYPE_CHECKING:
    import redis

log = logging.getLogger("cortex.redis")

KEY_PREFIX = "cortex:"
SOCKET_TIMEOUT_SECS = 2.0
CONNECT_TIMEOUT_SECS = 1.0
# INCRBY and, for a counter it creates, its lifetime: one atomic step (budget windows).
INCR_EXPIRING = """
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
if total == tonumber(ARGV[1]) then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return total
"""


def redis_errors() -> tuple[type[Exception], ...]:
    """What a failed Redis command raises. redis-py (~6 MB of a worker's RSS) is imported only
    where Redis is configured: by `redis_client`, and here once a command has failed."""
    import redis
    return (redis.RedisError,)


def redis_client(url: str) -> redis.Redis:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry
    return redis.Redis.from_url(url, socket_timeout=SOCKET_TIMEOUT_SECS,
                                socket_connect_timeout=CONNECT_TIMEOUT_SECS, retry=Retry(NoBackoff(), 1))


def reachable(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis_errors():
        return False


class OutageLog:
    """Logs the first failure of an outage and the recovery, not every failed command."""

    def __init__(self, what: str):
        self._what = what
        self._down = False

    def failed(self, exc: Exception) -> None:
        if not self._down:
            self._down = True
            log.warning("redis unavailable for %s: %s", self._what, type(exc).__name__)

    def succeeded(self) -> None:
        if self._down:
            self._down = False
            log.info("redis available again for %s", self._what)


class RedisCounters:
    """The counters of `SharedCounters` (versions of runtime settings, keys and OAuth tokens; budget
    spend), in Redis so that every instance sees another's writes. While Redis is down `get`
    answers 0: readers then re-read the store once and keep what they read, and budgets let
    requests through."""

    def __init__(self, client: redis.Redis):
        self._redis = client
        self._outage = OutageLog("shared versions")
        self._incr_expiring = client.register_script(INCR_EXPIRING)

    def get(self, key: str) -> tuple[int, float]:
        try:
            value = self._redis.get(KEY_PREFIX + key)
        except redis_errors() as exc:
            self._outage.failed(exc)
            return 0, 0.0
        self._outage.succeeded()
        return int(value or 0), 0.0

    def incr(self, key: str, amount: int = 1, expiry_secs: float = 0.0) -> int:
        """Add to a counter; a new one lives `expiry_secs` (0: for ever), set in the same atomic step."""
        try:
            if expiry_secs:
                return self._incr_expiring(keys=[KEY_PREFIX + key], args=[amount, math.ceil(expiry_secs)])
            return self._redis.incrby(KEY_PREFIX + key, amount)
        except redis_errors() as exc:
            self._outage.failed(exc)
            raise ServiceUnavailable("Redis (storage.redis_url) is not reachable: the change is stored, but other "
                                     "workers and instances may not see it until the next one") from None
