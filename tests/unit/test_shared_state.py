"""Shared-memory counters and the in-flight registry across processes; store migrations."""
import os
import sqlite3
import time

from app.config import StorageConfig
from app.db import Store
from app.inflight import InflightRegistry
from app.shm import SharedCounters


def run_in_children(count: int, work) -> None:
    pids = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            try:
                work()
            finally:
                os._exit(0)
        pids.append(pid)
    for pid in pids:
        assert os.waitpid(pid, 0)[1] == 0


def test_counters_are_shared_and_exact_across_processes(tmp_path):
    path = str(tmp_path / "counters.shm")
    counters = SharedCounters(path, slots=1024)
    counters.incr("warm", 1, 60)  # opened before the fork: children must reopen their own lock

    def hammer():
        for _ in range(500):
            counters.incr("hits", 1, 60)

    run_in_children(4, hammer)
    assert counters.get("hits")[0] == 2000
    assert counters.get("hits")[1] > time.time()


def test_counters_expire_and_delete(tmp_path):
    counters = SharedCounters(str(tmp_path / "c.shm"), slots=64)
    assert counters.incr("short", 3, 0.05) == 3
    time.sleep(0.1)
    assert counters.get("short") == (0, 0.0)
    assert counters.incr("short", 1, 60) == 1  # a fresh window
    counters.delete("short")
    assert counters.get("short")[0] == 0
    many = [f"key-{i}" for i in range(40)]
    for key in many:
        counters.incr(key, 2, 60)
    assert all(counters.get(key)[0] == 2 for key in many)  # probing past collisions and tombstones


def test_inflight_ids_increase_across_processes_and_dead_slots_are_ignored(tmp_path):
    path = str(tmp_path / "inflight.shm")
    registry = InflightRegistry(path, slots=32)
    mine = registry.register("POST", "/v1/chat/completions", "admin")
    mine.routed("openai", "gpt-4o")
    run_in_children(2, lambda: InflightRegistry(path, slots=32).register("POST", "/v1/embeddings", "k"))
    listed = registry.snapshot()
    assert [r.uri for r in listed] == ["/v1/chat/completions"], "the children exited: their slots are stale"
    assert listed[0].model == "gpt-4o" and listed[0].provider == "openai" and listed[0].idle_secs == 0
    later = registry.register("POST", "/anthropic/v1/messages", "admin")
    assert later.id == mine.id + 3
    mine.release()
    assert [r.id for r in registry.snapshot()] == [later.id]


def test_store_adds_columns_missing_from_an_older_table(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE usage_records (id INTEGER PRIMARY KEY, request_id VARCHAR(64), "
                           "timestamp REAL, endpoint VARCHAR(100), status VARCHAR(16))")
    store = Store(StorageConfig(f"sqlite:///{path}", "", ""))
    columns = {c.name for c in store.database.get_columns("usage_records")}
    assert {"cached", "cost_usd", "ttft_ms", "api_key_name"} <= columns
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


def test_usage_insert_reports_a_locked_store_as_a_store_error(tmp_path):
    """The writer keeps records queued only for STORE_ERRORS: a raw DB-API error would kill it."""
    import peewee

    from app.inference import CallContext
    from app.usage import STORE_ERRORS, _insert_usage
    store = Store(StorageConfig(f"sqlite:///{tmp_path}/u.db", "", ""))
    record = CallContext(request_id="r1", endpoint="/v1/chat/completions").usage_fields()
    with store.database.connection_context():
        _insert_usage(store.database, [record, {**record, "request_id": "r2", "cached": True}])
    with sqlite3.connect(tmp_path / "u.db") as connection:
        assert [r[0] for r in connection.execute("SELECT request_id FROM usage_records ORDER BY id")] == ["r1", "r2"]
    holder = sqlite3.connect(tmp_path / "u.db", timeout=0)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with store.database.connection_context():
            store.database.execute_sql("PRAGMA busy_timeout=50")
            try:
                _insert_usage(store.database, [record])
            except STORE_ERRORS as exc:
                assert isinstance(exc, peewee.OperationalError)
            else:
                raise AssertionError("a locked store must raise")
    finally:
        holder.rollback()
        holder.close()
