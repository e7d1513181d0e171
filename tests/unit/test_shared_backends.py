"""The scale-out backends against real servers: Redis-held counters, in-flight view and
response cache (two registries on one Redis are two workers, or two instances), their
behaviour while Redis is down, and the store on PostgreSQL (schema creation by concurrent
workers, the upserts, queries that yield to other greenlets)."""
import multiprocessing
import time
from types import SimpleNamespace

import gevent
import psycopg2.extensions
import pytest

from app import db
from app.cache import RedisResponseCache, ResponseCache
from app.config import CachingConfig, StorageConfig, TokenRefreshConfig
from app.db import CachedResponse, Setting, Store
from app.errors import ServiceUnavailable
from app.inflight import RedisInflightRegistry
from app.redis_state import RedisCounters, reachable, redis_client
from app.settings import RuntimeSettings
from tests.cortex_server import free_port

USAGE = SimpleNamespace(input_tokens=3, output_tokens=5)


@pytest.fixture
def redis_url(redis_server):
    return redis_server.fresh_url()


@pytest.fixture
def down():
    """A client for a Redis that is not there."""
    return redis_client(f"redis://127.0.0.1:{free_port()}/0")


def test_counters_are_shared_through_redis(redis_url):
    mine, theirs = RedisCounters(redis_client(redis_url)), RedisCounters(redis_client(redis_url))
    assert mine.get("version") == (0, 0.0)
    assert mine.incr("version") == 1 and theirs.incr("version") == 2
    assert mine.get("version")[0] == theirs.get("version")[0] == 2


def test_counters_while_redis_is_down(down):
    counters = RedisCounters(down)
    assert counters.get("version") == (0, 0.0)  # readers fall back to the store
    with pytest.raises(ServiceUnavailable):
        counters.incr("version")
    assert not reachable(down)


def test_inflight_requests_of_every_worker_are_listed_with_increasing_ids(redis_url):
    worker_a, worker_b = RedisInflightRegistry(redis_client(redis_url)), RedisInflightRegistry(redis_client(redis_url))
    first = worker_a.register("POST", "/v1/chat/completions", "admin")
    second = worker_b.register("POST", "/anthropic/v1/messages", None)
    assert second.id == first.id + 1
    first.routed("openai", "gpt-4o")
    worker_a.publish()  # the heartbeat's work: routes are memory writes until then
    listed = worker_b.snapshot()
    assert [(r.id, r.uri, r.model, r.provider, r.api_key_name) for r in listed] == [
        (first.id, "/v1/chat/completions", "gpt-4o", "openai", "admin"),
        (second.id, "/anthropic/v1/messages", None, None, None)]
    assert all(r.elapsed_secs == 0 and r.idle_secs == 0 for r in listed)
    first.release()
    first.release()  # twice is harmless
    assert [r.id for r in worker_a.snapshot()] == [second.id]


def test_the_heartbeat_keeps_requests_listed_and_publishes_chunks(redis_url):
    worker, viewer = RedisInflightRegistry(redis_client(redis_url)), RedisInflightRegistry(redis_client(redis_url))
    worker.LEASE_SECS = 1
    streaming = worker.register("POST", "/v1/chat/completions", "admin")
    streaming.chunk_sent()
    gevent.sleep(2.2)  # two leases: only the heartbeat (every 0.5 s) keeps the request listed
    [listed] = viewer.snapshot()
    assert listed.id == streaming.id and listed.elapsed_secs >= 2 and listed.idle_secs >= 2
    streaming.chunk_sent()
    gevent.sleep(0.7)
    assert viewer.snapshot()[0].idle_secs == 0
    streaming.release()
    gevent.sleep(0.7)  # a heartbeat after the release must not bring it back
    assert viewer.snapshot() == []


def test_requests_of_a_dead_worker_drop_out_when_their_lease_ends(redis_url):
    dead = RedisInflightRegistry(redis_client(redis_url))
    dead.LEASE_SECS = 1
    dead.register("POST", "/v1/chat/completions", "admin")  # its heartbeat never runs: no gevent.sleep
    viewer = RedisInflightRegistry(redis_client(redis_url))
    assert len(viewer.snapshot()) == 1
    time.sleep(1.1)
    assert viewer.snapshot() == []


def test_inflight_while_redis_is_down(down):
    registry = RedisInflightRegistry(down)
    assert registry.register("POST", "/v1/chat/completions", "admin") is None  # served, not listed
    with pytest.raises(ServiceUnavailable):
        registry.snapshot()


@pytest.mark.parametrize("stream, body", [(False, b'{"id":"x"}'), (True, b"data: {}\n\ndata: [DONE]\n\n")])
def test_cached_responses_are_shared_and_expire(redis_url, stream, body):
    writer, reader = RedisResponseCache(redis_client(redis_url)), RedisResponseCache(redis_client(redis_url))
    writer.put("k", stream=stream, body=body, provider="openai", model="gpt-4o", usage=USAGE, ttl_secs=1)
    hit = reader.get("k")
    assert (hit.stream, hit.body, hit.provider, hit.model, hit.input_tokens, hit.output_tokens) == (
        stream, body, "openai", "gpt-4o", 3, 5)
    assert reader.get("other") is None
    time.sleep(1.1)
    assert reader.get("k") is None


def test_the_cache_misses_while_redis_is_down(down):
    cache = RedisResponseCache(down)
    cache.put("k", stream=False, body=b"{}", provider="p", model="m", usage=USAGE, ttl_secs=60)
    assert cache.get("k") is None


# --- PostgreSQL -------------------------------------------------------------------------------------

def open_store(url: str) -> None:
    Store(StorageConfig(database_url=url, encryption_key="", redis_url=""))


def test_workers_create_the_schema_of_a_fresh_database_together(postgres_server):
    url = postgres_server.fresh_url()
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=open_store, args=(url,)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert [worker.exitcode for worker in workers] == [0] * 4


def test_upserts_on_postgresql(postgres_server, redis_url):
    store = Store(StorageConfig(database_url=postgres_server.fresh_url(), encryption_key="", redis_url=""))
    defaults = SimpleNamespace(caching=CachingConfig(True, False, 300), token_refresh=TokenRefreshConfig(True, 300, 60))
    settings = RuntimeSettings(defaults, store, RedisCounters(redis_client(redis_url)))
    settings.update("caching", {"response_cache_ttl_secs": 30})
    assert settings.update("caching", {"response_cache_enabled": True}).response_cache_ttl_secs == 30
    with store.database.connection_context():
        assert Setting.select().count() == 1

    cache = ResponseCache(store)
    for body in (b"first", b"second"):
        cache.put("k", stream=False, body=body, provider="p", model="m", usage=USAGE, ttl_secs=60)
        cache._writer.flush()
    assert cache.get("k").body == b"second"
    with store.database.connection_context():
        assert CachedResponse.select().count() == 1


def test_postgresql_queries_yield_to_other_greenlets_in_a_gevent_worker(postgres_server, monkeypatch):
    monkeypatch.setattr(db.monkey, "is_module_patched", lambda module: True)  # as in a gunicorn gevent worker
    store = Store(StorageConfig(database_url=postgres_server.fresh_url(), encryption_key="", redis_url=""))
    ticks = []

    def tick():
        while True:
            gevent.sleep(0.01)
            ticks.append(1)

    ticker = gevent.spawn(tick)
    try:
        with store.database.connection_context():
            store.database.execute_sql("SELECT pg_sleep(0.3)")
    finally:
        ticker.kill()
        psycopg2.extensions.set_wait_callback(None)  # the patch is process-wide
    assert len(ticks) >= 10  # a blocking driver would have let the ticker run at most once
