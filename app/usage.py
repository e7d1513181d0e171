"""Usage records: queued in memory on the request path, written in batches by a greenlet.

`record()` is an append to a deque. The writer greenlet inserts batches in one transaction;
if the store is unavailable the records stay queued (bounded) and are retried with backoff.
`close()` drains everything synchronously; gunicorn's `worker_exit` hook calls it so a
SIGTERM loses nothing.
"""
import collections
import logging
import time

import gevent
import gevent.event
import peewee

from app.db import UsageRecord

log = logging.getLogger("cortex.usage")

BATCH_SIZE = 500
FLUSH_INTERVAL_SECS = 0.5
MAX_QUEUED = 100_000
MAX_BACKOFF_SECS = 10.0


def cost_usd(model_config, input_tokens: int, output_tokens: int) -> float | None:
    if model_config is None or (model_config.input_cost_per_mtok is None
                                and model_config.output_cost_per_mtok is None):
        return None
    return ((input_tokens * (model_config.input_cost_per_mtok or 0))
            + (output_tokens * (model_config.output_cost_per_mtok or 0))) / 1_000_000


class UsageWriter:
    def __init__(self, store, flush_interval: float = FLUSH_INTERVAL_SECS):
        self._store = store
        self._flush_interval = flush_interval
        self._queue = collections.deque(maxlen=MAX_QUEUED)
        self._wake = gevent.event.Event()
        self._writer = None
        self._closed = False
        self.dropped = 0

    def record(self, **fields) -> None:
        if len(self._queue) == MAX_QUEUED:
            self.dropped += 1  # the deque drops the oldest; say so once in a while
            if self.dropped % 1000 == 1:
                log.error("usage queue full (%d records): store unreachable; %d dropped", MAX_QUEUED, self.dropped)
        self._queue.append(fields)
        if self._writer is None and not self._closed:
            self._writer = gevent.spawn(self._run)
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
                UsageRecord.insert_many(batch).execute()
        except (peewee.PeeweeException, OSError):
            self._queue.extendleft(reversed(batch))  # keep order; retried later
            raise
        return len(batch)

    def _run(self):
        backoff = self._flush_interval
        while not self._closed:
            self._wake.wait(backoff)
            self._wake.clear()
            try:
                while self._write_batch():
                    pass
                backoff = self._flush_interval
            except (peewee.PeeweeException, OSError) as exc:
                backoff = min(backoff * 2, MAX_BACKOFF_SECS)
                log.warning("usage store unavailable (%s); %d records queued, retry in %.1fs",
                            type(exc).__name__, len(self._queue), backoff)

    def flush(self, timeout: float = 10.0) -> None:
        """Write everything queued now; gives up (and logs) after `timeout` seconds of failures."""
        deadline = time.monotonic() + timeout
        while self._queue:
            try:
                self._write_batch()
            except (peewee.PeeweeException, OSError) as exc:
                if time.monotonic() > deadline:
                    log.error("could not flush %d usage records: %s", len(self._queue), exc)
                    return
                time.sleep(0.1)

    def close(self) -> None:
        self._closed = True
        if self._writer is not None:
            self._writer.kill(block=False)
        self.flush()
