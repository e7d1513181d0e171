"""Writes that must not happen on the request path: queued in memory, written in batches.

`BackgroundWriter.add()` is an append to a deque. A greenlet writes batches (one transaction
each); if the store is unavailable the items stay queued (bounded: the oldest go first) and
are retried with backoff. `close()` drains everything synchronously; gunicorn's
`worker_exit` hook calls it so a SIGTERM loses nothing.
"""
import collections
import logging
import time
from functools import partial

import gevent
import gevent.event
import peewee

from app.db import UsageRecord
from app.translate import Usage

log = logging.getLogger("cortex.usage")

BATCH_SIZE = 500
FLUSH_INTERVAL_SECS = 0.5
MAX_QUEUED = 100_000
MAX_BACKOFF_SECS = 10.0
OPTIMIZE_INTERVAL_SECS = 600.0
# 100 rows of ~21 columns: well under SQLite's 32766 and PostgreSQL's 65535 bound parameters.
ROWS_PER_INSERT = 100
STORE_ERRORS = (peewee.PeeweeException, OSError)


def cost_usd(model_config, usage: Usage) -> float | None:
    """USD for one call at the model's configured prices (per million tokens); None when it has none.

    `usage.input_tokens` counts all input; its cached part is billed at the cache prices. An
    unset cache price is the input price: what a cached token really costs differs by provider,
    model and time (Anthropic bills reads at 0.1x and writes at 1.25x the input price, OpenAI
    discounts reads and does not report writes), so Cortex assumes no discount rather than a
    wrong one; set cache_read/cache_write_cost_per_mtok to bill them as the provider does.
    """
    if model_config is None or (model_config.input_cost_per_mtok is None
                                and model_config.output_cost_per_mtok is None):
        return None
    input_price = model_config.input_cost_per_mtok or 0
    read_price = model_config.cache_read_cost_per_mtok
    write_price = model_config.cache_write_cost_per_mtok
    read_price = input_price if read_price is None else read_price
    write_price = input_price if write_price is None else write_price
    uncached = max(usage.input_tokens - usage.cache_read_tokens - usage.cache_creation_tokens, 0)
    return (uncached * input_price + usage.cache_read_tokens * read_price
            + usage.cache_creation_tokens * write_price
            + usage.output_tokens * (model_config.output_cost_per_mtok or 0)) / 1_000_000


def off_hub(call, *args):
    """`call(*args)` in gevent's thread pool: a locked or slow store then holds one thread
    instead of the hub (SQLite's busy wait and blocking database drivers do not yield), so
    the worker's requests go on meanwhile. Store errors are passed back, not printed."""
    def guarded():
        try:
            return call(*args), None
        except STORE_ERRORS as exc:
            return None, exc

    result, error = gevent.get_hub().threadpool.apply(guarded)
    if error is not None:
        raise error
    return result


def off_hub_for(store, call, *args):
    """`call(*args)` where it does not hold the hub: in the thread pool for SQLite; in the calling
    greenlet for PostgreSQL, whose driver yields by itself (many concurrent callers then share the
    worker's connection pool from one thread, not from the pool's threads)."""
    return call(*args) if store.yields else off_hub(call, *args)


class BackgroundWriter:
    def __init__(self, name: str, store, write_batch, flush_interval: float = FLUSH_INTERVAL_SECS):
        self.name = name
        self._store = store
        self._write = write_batch  # called with a list of items inside a transaction
        self._flush_interval = flush_interval
        self._queue = collections.deque(maxlen=MAX_QUEUED)
        self._wake = gevent.event.Event()
        self._writer = None
        self._closed = False
        self.dropped = 0

    def add(self, item) -> None:
        if len(self._queue) == MAX_QUEUED:
            self.dropped += 1  # the deque drops the oldest; say so once in a while
            if self.dropped % 1000 == 1:
                log.error("%s queue full (%d): store unreachable; %d dropped", self.name, MAX_QUEUED, self.dropped)
        self._queue.append(item)
        if self._writer is None and not self._closed:
            self._writer = gevent.spawn(self._run)  # started lazily: never in gunicorn's master
        if len(self._queue) >= BATCH_SIZE:
            self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._queue)

    def _write_batch(self) -> int:
        batch = [self._queue.popleft() for _ in range(min(BATCH_SIZE, len(self._queue)))]
        if not batch:
            return 0
        try:
            with self._store.database.connection_context(), self._store.database.atomic():
                self._write(batch)
        except STORE_ERRORS:
            self._queue.extendleft(reversed(batch))  # keep order; retried later
            raise
        return len(batch)

    def _optimize(self) -> None:
        with self._store.database.connection_context():
            self._store.optimize()

    def _run(self):
        backoff = self._flush_interval
        optimized_at = time.monotonic()
        while not self._closed:
            self._wake.wait(backoff)
            self._wake.clear()
            try:
                # Only a backlog (full batches) is written back to back. Looping until the queue
                # was empty wrote, under steady load, whatever arrived during the previous batch:
                # dozens of tiny transactions a second, each paying connect and commit.
                while off_hub(self._write_batch) == BATCH_SIZE:
                    pass
                backoff = self._flush_interval
                if time.monotonic() - optimized_at > OPTIMIZE_INTERVAL_SECS:
                    optimized_at = time.monotonic()
                    off_hub(self._optimize)
            except STORE_ERRORS as exc:
                backoff = min(backoff * 2, MAX_BACKOFF_SECS)
                log.warning("store unavailable for %s (%s); %d queued, retry in %.1fs",
                            self.name, type(exc).__name__, len(self._queue), backoff)

    def flush(self, timeout: float = 10.0) -> None:
        """Write everything queued now; gives up (and logs) after `timeout` seconds of failures."""
        deadline = time.monotonic() + timeout
        while self._queue:
            try:
                self._write_batch()
            except STORE_ERRORS as exc:
                if time.monotonic() > deadline:
                    log.error("could not flush %d %s items: %s", len(self._queue), self.name, exc)
                    return
                time.sleep(0.1)

    def close(self) -> None:
        self._closed = True
        if self._writer is not None:
            self._writer.kill(block=False)
        self.flush()


def _insert_usage(database, batch: list[dict]) -> None:
    """Multi-row INSERTs of ROWS_PER_INSERT rows, SQL text built here: peewee's query builder was
    a fifth of a busy worker's CPU (py-spy). Not executemany: it steps the statement once per
    row, releasing and retaking the GIL each time, and every retake waits for the busy hub."""
    by_columns = collections.defaultdict(list)  # records normally all share CallContext.usage_fields
    for record in batch:
        by_columns[tuple(record)].append(tuple(record.values()))
    cursor = database.cursor()
    for columns, rows in by_columns.items():
        names = ", ".join(f'"{UsageRecord._meta.fields[c].column_name}"' for c in columns)
        row_placeholders = "(" + ", ".join([database.param] * len(columns)) + ")"
        for start in range(0, len(rows), ROWS_PER_INSERT):
            chunk = rows[start:start + ROWS_PER_INSERT]
            sql = (f'INSERT INTO "{UsageRecord._meta.table_name}" ({names}) VALUES '
                   + ", ".join([row_placeholders] * len(chunk)))
            with peewee.__exception_wrapper__:  # DB-API errors become peewee's, as STORE_ERRORS expects
                cursor.execute(sql, [value for row in chunk for value in row])


def usage_writer(store, flush_interval: float = FLUSH_INTERVAL_SECS) -> BackgroundWriter:
    return BackgroundWriter("usage", store, partial(_insert_usage, store.database), flush_interval)
