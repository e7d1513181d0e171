"""Budget windows: where each duration's window starts and ends (UTC), and the spend arithmetic."""
from datetime import datetime, timezone

import pytest

from app.budgets import Budgets, to_nano, window
from app.config import ApiKeyConfig, StorageConfig
from app.db import Store, UsageRecord
from app.shm import SharedCounters


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize("duration, now, start, end", [
    ("1h", "2026-03-10 14:59:59", "2026-03-10 14:00:00", "2026-03-10 15:00:00"),
    ("1h", "2026-03-10 15:00:00", "2026-03-10 15:00:00", "2026-03-10 16:00:00"),
    ("1d", "2026-03-10 23:59:59", "2026-03-10 00:00:00", "2026-03-11 00:00:00"),
    ("1d", "2026-03-11 00:00:00", "2026-03-11 00:00:00", "2026-03-12 00:00:00"),
    ("7d", "2026-03-10 12:00:00", "2026-03-09 00:00:00", "2026-03-16 00:00:00"),  # Monday to Monday
    ("7d", "2026-03-16 00:00:00", "2026-03-16 00:00:00", "2026-03-23 00:00:00"),
    ("month", "2026-02-28 23:59:59", "2026-02-01 00:00:00", "2026-03-01 00:00:00"),
    ("month", "2028-02-29 12:00:00", "2028-02-01 00:00:00", "2028-03-01 00:00:00"),  # leap year
    ("month", "2026-12-31 23:59:59", "2026-12-01 00:00:00", "2027-01-01 00:00:00"),  # year end
    ("month", "2027-01-01 00:00:00", "2027-01-01 00:00:00", "2027-02-01 00:00:00"),
])
def test_calendar_windows(duration, now, start, end):
    assert window(duration, at(now), anchor=at("2026-03-10 09:30:00")) == (at(start), at(end))


def test_30d_windows_count_from_the_anchor():
    anchor = at("2026-03-10 09:30:00")
    assert window("30d", anchor, anchor) == (anchor, anchor + 30 * 86400)
    assert window("30d", anchor + 30 * 86400 - 1, anchor)[0] == anchor
    assert window("30d", anchor + 30 * 86400, anchor)[0] == anchor + 30 * 86400
    assert window("30d", anchor - 1, anchor)[1] == anchor  # before the anchor: the window ending there


def test_no_duration_is_one_window_for_life():
    start, end = window("", at("2026-03-10 09:30:00"))
    assert start == 0 and end == float("inf")


def test_nano_dollars_add_up_exactly():
    # 0.1 + 0.2 in floats is not 0.3; in nano-dollars it is.
    assert to_nano(0.1) + to_nano(0.2) == to_nano(0.3)
    assert to_nano(0.0000015) == 1500


class FakeMetrics:
    def __init__(self):
        self.soft = []

    def observe_soft_budget(self, name):
        self.soft.append(name)


def key(**fields) -> ApiKeyConfig:
    return ApiKeyConfig(name="k", key_digest=b"", permissions=frozenset(), rate_limit="", allowed_models=("*",),
                        allowed_providers=("*",), id="key_1", **fields)


@pytest.fixture
def store(tmp_path):
    store = Store(StorageConfig(database_url=f"sqlite:///{tmp_path}/cortex.db", encryption_key="", redis_url=""))
    yield store
    store.close()


def test_charges_land_in_the_window_of_the_moment_they_are_made(tmp_path, store):
    now = [at("2026-03-10 23:59:59")]
    budgets = Budgets(SharedCounters(str(tmp_path / "c.shm"), slots=64), FakeMetrics(), lambda: now[0], store)
    daily = key(max_budget_usd=1.0, budget_duration="1d")
    budgets.charge(daily, 0.6)
    budgets.check(daily)
    budgets.charge(daily, 0.4)
    with pytest.raises(Exception, match="resets at 2026-03-11T00:00:00Z"):
        budgets.check(daily)
    now[0] = at("2026-03-11 00:00:00")
    budgets.check(daily)
    assert budgets.status(daily)["spend_usd"] == 0 and budgets.status(daily)["resets_at"] == "2026-03-12T00:00:00Z"


def test_the_soft_budget_is_reported_once_when_crossed(tmp_path, store):
    metrics = FakeMetrics()
    budgets = Budgets(SharedCounters(str(tmp_path / "c.shm"), slots=64), metrics, lambda: 1e9, store)
    soft = key(soft_budget_usd=0.5)
    for _ in range(4):
        budgets.charge(soft, 0.2)
    assert metrics.soft == ["k"]


def test_keys_without_a_budget_are_not_counted(tmp_path, store):
    counters = SharedCounters(str(tmp_path / "c.shm"), slots=64)
    budgets = Budgets(counters, FakeMetrics(), lambda: 1e9, store)
    budgets.charge(key(), 5.0)
    assert budgets.status(key()) is None


def test_a_new_counter_starts_from_the_usage_recorded_in_its_window(tmp_path, store):
    """Shared memory is lost when the instance restarts: the store's records carry the spend over."""
    now = at("2026-03-10 12:00:00")
    with store.database.connection_context():
        for key_name, timestamp, cost in [("k", at("2026-03-10 01:00:00"), 0.25), ("k", at("2026-03-10 11:00:00"), 0.5),
                                          ("k", at("2026-03-09 23:59:59"), 4.0),   # the day before
                                          ("other", at("2026-03-10 02:00:00"), 8.0), ("k", now - 60, None)]:
            UsageRecord.create(request_id="r", timestamp=timestamp, api_key_name=key_name, endpoint="/v1/chat/completions",
                               status="success", cost_usd=cost)
    counters = SharedCounters(str(tmp_path / "c.shm"), slots=64)
    daily = key(max_budget_usd=1.0, budget_duration="1d")
    first = Budgets(counters, FakeMetrics(), lambda: now, store)
    assert first.status(daily)["spend_usd"] == 0.75
    first.charge(daily, 0.125)
    second = Budgets(counters, FakeMetrics(), lambda: now, store)  # another worker: seeded once per instance
    assert second.status(daily)["spend_usd"] == 0.875
