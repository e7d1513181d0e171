"""The usage queue while the store is away: bounded in memory, written in order once it returns."""
import contextlib

import peewee
import pytest

from app import usage


class FlakyStore:
    """Stands in for `Store`: its database refuses connections while `down`."""

    def __init__(self):
        self.down = True
        self.database = self

    @contextlib.contextmanager
    def connection_context(self):
        if self.down:
            raise peewee.OperationalError("unable to open database file")
        yield

    def atomic(self):
        return contextlib.nullcontext()


@pytest.fixture
def small_queue(monkeypatch):
    monkeypatch.setattr(usage, "MAX_QUEUED", 10)
    monkeypatch.setattr(usage, "BATCH_SIZE", 4)


def test_records_wait_while_the_store_is_down_and_are_written_when_it_returns(small_queue):
    store, written = FlakyStore(), []
    writer = usage.BackgroundWriter("usage", store, written.extend)
    for record in range(6):
        writer.add(record)
    writer.flush(timeout=0)
    assert (writer.pending, written) == (6, []), "a failed batch goes back to the queue"
    store.down = False
    writer.flush()
    assert (writer.pending, written) == (0, list(range(6))), "in order, nothing lost"


def test_the_queue_is_bounded_and_drops_the_oldest(small_queue):
    store, written = FlakyStore(), []
    writer = usage.BackgroundWriter("usage", store, written.extend)
    for record in range(25):
        writer.add(record)
    assert (writer.pending, writer.dropped) == (10, 15)
    store.down = False
    writer.flush()
    assert written == list(range(15, 25))
