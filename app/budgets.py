"""Spend limits per API key: `max_budget_usd` over a `budget_duration` window.

Spend is kept in integer nano-dollars in the instance's shared counters (shared memory
across the workers, `app.shm`; Redis across instances with `redis_url`), under a counter
named after the key and the window it belongs to. A new window is a new counter, so a
reset needs no job that could fail or run twice (LiteLLM #7129, #8364), spend recorded
just after a key is created stays in its window (#22013), and a duration applied to a key
starts a fresh window instead of carrying the old spend into it (#34270). Old windows'
counters expire on their own.

Windows (UTC): `1h` starts on the hour, `1d` at midnight, `7d` on Monday at midnight,
`month` on the 1st; `30d` has no calendar meaning and counts from the key's budget anchor
(when a runtime key got its duration; Monday 1970-01-05 for cortex.yaml keys). No duration:
one window for the key's life. The counter's name holds the anchor too, so any change of
duration starts afresh.

A counter starts from what the store's usage records say was spent in its window (shared
memory is lost when the instance restarts): see `Budgets._seed`.

A request is refused before it reaches a provider once the window's spend has reached the
budget. Its own cost is charged when it ends (a stream's when the stream ends): requests
already running when the budget is reached still finish, so spend can pass the budget by
what those cost.
"""
import calendar
import logging
import math
import time
from datetime import datetime, timezone

from peewee import fn

from app.config import BUDGET_ANCHOR
from app.db import UsageRecord
from app.errors import BudgetExceeded, ServiceUnavailable
from app.usage import STORE_ERRORS, off_hub_for

log = logging.getLogger("cortex.budgets")

NANO = 1_000_000_000
FIXED_SECS = {"1h": 3600, "1d": 86400, "7d": 7 * 86400, "30d": 30 * 86400}
ANCHORED = {"30d"}  # counted from the key's anchor; the others from DEFAULT_ANCHOR (calendar-aligned)
DEFAULT_ANCHOR = BUDGET_ANCHOR
EXPIRY_MARGIN_SECS = 3600.0  # a window's counter outlives it by this much
COUNTER_ERRORS = (OSError, RuntimeError, ServiceUnavailable)


def _month_window(now: float) -> tuple[float, float]:
    moment = datetime.fromtimestamp(now, timezone.utc)
    start = datetime(moment.year, moment.month, 1, tzinfo=timezone.utc)
    days = calendar.monthrange(moment.year, moment.month)[1]
    return start.timestamp(), start.timestamp() + days * 86400


def window(duration: str, now: float, anchor: float = DEFAULT_ANCHOR) -> tuple[float, float]:
    """(start, end) in unix seconds of the budget window holding `now`; end is exclusive."""
    if not duration:
        return 0.0, math.inf
    if duration == "month":
        return _month_window(now)
    length = FIXED_SECS[duration]
    if duration not in ANCHORED:
        anchor = DEFAULT_ANCHOR
    start = anchor + math.floor((now - anchor) / length) * length
    return start, start + length


def to_nano(usd: float) -> int:
    return round(usd * NANO)


def iso(timestamp: float) -> str | None:
    if math.isinf(timestamp):
        return None
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Budgets:
    def __init__(self, counters, metrics, clock, store):
        self._counters = counters
        self._metrics = metrics
        self._clock = clock
        self._store = store
        self._seeded = set()  # this worker's counters known to hold what the store recorded before them

    @staticmethod
    def applies(principal) -> bool:
        return principal.max_budget_usd is not None or principal.soft_budget_usd is not None

    def _counter(self, principal, now: float) -> tuple[str, float, float]:
        start, end = window(principal.budget_duration, now, principal.budget_anchor)
        name = f"spend:{principal.id}:{principal.budget_duration or 'life'}:{int(principal.budget_anchor)}:{int(start)}"
        if name not in self._seeded:
            self._seed(principal, name, start, end, now)
        return name, start, end

    def _seed(self, principal, name: str, start: float, end: float, now: float) -> None:
        """Start a counter from the usage the store recorded in its window: shared memory does not
        survive a restart of the instance, nor Redis a flush. The first worker to get the counter's
        marker adds what was recorded before that moment; every charge after it goes to the counter."""
        expiry = 0.0 if math.isinf(end) else end - now + EXPIRY_MARGIN_SECS
        try:
            if self._counters.incr("seeded:" + name, 1, expiry) == 1:
                recorded = off_hub_for(self._store, self._recorded_spend, principal.name,
                                       max(start, principal.created_at or 0.0), min(end, time.time()))
                if recorded:
                    self._counters.incr(name, to_nano(recorded), expiry)
            self._seeded.add(name)
        except (*COUNTER_ERRORS, *STORE_ERRORS) as exc:  # counted from zero meanwhile; the next request retries
            log.warning("budget of key %s not read from the store: %s", principal.name, type(exc).__name__)

    def _recorded_spend(self, key_name: str, since: float, until: float) -> float:
        with self._store.database.connection_context():
            return (UsageRecord.select(fn.SUM(UsageRecord.cost_usd))
                    .where((UsageRecord.api_key_name == key_name) & (UsageRecord.timestamp >= since)
                           & (UsageRecord.timestamp < until)).scalar() or 0.0)

    def spent_nano(self, principal) -> tuple[int, float, float]:
        """(spend in the current window, its start, its end)."""
        name, start, end = self._counter(principal, self._clock())
        return self._counters.get(name)[0], start, end

    def check(self, principal) -> None:
        """Refuse a key whose current window has used its budget (before any provider is called).
        Called for every key with a budget, soft only included: the window is then seeded before
        the request has a usage record of its own."""
        spent, _, end = self.spent_nano(principal)
        if principal.max_budget_usd is not None and spent >= to_nano(principal.max_budget_usd):
            resets = f"; it resets at {iso(end)}" if iso(end) else ""
            raise BudgetExceeded(f"API key '{principal.name}' has used its budget of "
                                 f"${principal.max_budget_usd:g} (spent ${spent / NANO:.6f}){resets}")

    def charge(self, principal, cost_usd: float | None) -> None:
        if not cost_usd or not self.applies(principal):
            return
        now = self._clock()
        name, _, end = self._counter(principal, now)
        amount = to_nano(cost_usd)
        expiry = 0.0 if math.isinf(end) else end - now + EXPIRY_MARGIN_SECS
        try:
            total = self._counters.incr(name, amount, expiry)
        except COUNTER_ERRORS as exc:  # the request is done; losing its charge beats failing it
            log.warning("budget of key %s not charged: %s", principal.name, type(exc).__name__)
            return
        soft = principal.soft_budget_usd
        if soft is not None and total - amount < to_nano(soft) <= total:
            log.warning("API key %s passed its soft budget of $%g (spent $%.6f)", principal.name, soft, total / NANO)
            self._metrics.observe_soft_budget(principal.name)

    def status(self, principal) -> dict | None:
        if not self.applies(principal):
            return None
        spent, start, end = self.spent_nano(principal)
        return {"spend_usd": spent / NANO, "max_budget_usd": principal.max_budget_usd,
                "soft_budget_usd": principal.soft_budget_usd, "budget_duration": principal.budget_duration or None,
                "window_start": iso(start) if start else None, "resets_at": iso(end)}

