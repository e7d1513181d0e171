"""Reading usage records back: filtered pages, newest first, and aggregate summaries.

Everything is computed by the database: pages walk the (column, timestamp) indexes
backwards, summaries are COUNT/SUM/AVG with GROUP BY, so a million records cost one
indexed scan per aggregate and never a row in Python. Queries run in gevent's native
thread pool: SQLite (and psycopg) release the GIL while they work, so a summary scanning a
million rows does not stall the streams this worker is relaying.
"""
import base64
import binascii
import math
import time
from dataclasses import dataclass

from peewee import SQL, Case, fn

from app.db import UsageRecord
from app.errors import InvalidRequest, PermissionDenied
from app.usage import off_hub
from schemas.usage import MAX_OFFSET

UNKNOWN_GROUP = "unknown"  # the key under which records without a provider/model/key are counted
RECORD_COLUMNS = (
    UsageRecord.id, UsageRecord.request_id, UsageRecord.timestamp, UsageRecord.api_key_name, UsageRecord.model,
    UsageRecord.requested_model, UsageRecord.provider, UsageRecord.endpoint, UsageRecord.stream,
    UsageRecord.input_tokens, UsageRecord.output_tokens, UsageRecord.total_tokens, UsageRecord.cache_read_tokens,
    UsageRecord.cache_creation_tokens, UsageRecord.latency_ms, UsageRecord.ttft_ms, UsageRecord.status,
    UsageRecord.http_status, UsageRecord.error_code, UsageRecord.cost_usd, UsageRecord.cached,
)
GROUPS = (("by_provider", UsageRecord.provider), ("by_model", UsageRecord.model),
          ("by_api_key", UsageRecord.api_key_name))


def rfc3339(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def encode_cursor(timestamp: float, record_id: int) -> str:
    return base64.urlsafe_b64encode(f"{timestamp!r},{record_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, int]:
    try:
        timestamp, record_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split(",")
        timestamp, record_id = float(timestamp), int(record_id)
        if not (math.isfinite(timestamp) and 0 <= record_id <= MAX_OFFSET):  # else an overflow in the store
            raise ValueError(cursor)
        return timestamp, record_id
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidRequest("Invalid cursor: pass the X-Next-Cursor header of the previous page unchanged",
                             code="invalid_cursor", param="cursor") from None


@dataclass(frozen=True)
class UsagePage:
    records: list
    next_cursor: str | None  # None on the last page


def _visible_key(principal, requested: str | None) -> str | None:
    """The api_key filter a caller may use: admin any (or none), everyone else only their own."""
    if "admin" in principal.permissions:
        return requested
    if requested not in (None, principal.name):
        raise PermissionDenied(f"API key '{principal.name}' may only read its own usage")
    return principal.name


def _conditions(principal, query: dict) -> list:
    conditions = []
    api_key = _visible_key(principal, query.get("api_key"))
    if api_key is not None:
        conditions.append(UsageRecord.api_key_name == api_key)
    if "provider" in query:
        conditions.append(UsageRecord.provider == query["provider"])
    if "model" in query:
        conditions.append(UsageRecord.model == query["model"])
    if "start_time" in query:
        conditions.append(UsageRecord.timestamp >= query["start_time"])
    if "end_time" in query:
        conditions.append(UsageRecord.timestamp < query["end_time"])
    return conditions


def _where(select, conditions: list):
    return select.where(*conditions) if conditions else select


def _render(row: dict) -> dict:
    record = dict(row)
    del record["id"]
    record["timestamp"] = rfc3339(row["timestamp"])
    record["stream"] = bool(row["stream"])
    record["cached"] = bool(row["cached"])
    return record


class UsageQueries:
    """Read side of the usage store; app-wide, on `app.extensions["cortex"].usage_queries`."""

    def __init__(self, store):
        self._database = store.database

    def _off_hub(self, work, *args):
        """`work(*args)` on a pool thread, with its own connection (peewee's is per thread)."""
        def run():
            with self._database.connection_context():
                return work(*args)
        return off_hub(run)

    def page(self, principal, query: dict) -> UsagePage:
        """`limit` records matching the filters, newest first, after `offset` records or after `cursor`."""
        conditions = _conditions(principal, query)
        if "cursor" in query:
            timestamp, record_id = decode_cursor(query["cursor"])
            # The first term bounds the index range; the second breaks ties at equal timestamps.
            conditions += [UsageRecord.timestamp <= timestamp,
                           (UsageRecord.timestamp < timestamp) | (UsageRecord.id < record_id)]
        limit = query["limit"]
        select = (_where(UsageRecord.select(*RECORD_COLUMNS), conditions)
                  .order_by(UsageRecord.timestamp.desc(), UsageRecord.id.desc())
                  .limit(limit + 1).offset(query["offset"]).dicts())  # one extra row tells if a next page exists
        rows = self._off_hub(list, select)
        next_cursor = encode_cursor(rows[limit - 1]["timestamp"], rows[limit - 1]["id"]) if len(rows) > limit else None
        return UsagePage([_render(row) for row in rows[:limit]], next_cursor)

    def summary(self, principal, query: dict) -> dict:
        return self._off_hub(_summarize, _conditions(principal, query))


def _summarize(conditions: list) -> dict:
    totals = _where(UsageRecord.select(
        fn.COUNT(SQL("*")), fn.SUM(UsageRecord.total_tokens), fn.SUM(UsageRecord.input_tokens),
        fn.SUM(UsageRecord.output_tokens), fn.AVG(UsageRecord.latency_ms),
        fn.SUM(Case(None, [(UsageRecord.status == "success", 1)], 0)), fn.SUM(UsageRecord.cost_usd),
    ), conditions).tuples()
    requests, tokens, input_tokens, output_tokens, latency, successes, cost = totals.get()
    summary = {
        "total_requests": requests,
        "total_tokens": tokens or 0,
        "total_input_tokens": input_tokens or 0,
        "total_output_tokens": output_tokens or 0,
        "avg_latency_ms": round(float(latency or 0.0), 1),  # PostgreSQL's AVG is a Decimal
        "total_cost_usd": cost,  # null when no matching record has a configured price
    }
    for name, column in GROUPS:
        # Filtered by time at most, each GROUP BY reads only its (column, timestamp) index, no table rows.
        counts = _where(UsageRecord.select(column, fn.COUNT(SQL("*"))), conditions).group_by(column).tuples()
        groups = summary[name] = {}
        for group, count in counts:  # NULL and a literal "unknown" share one key
            key = UNKNOWN_GROUP if group is None else group
            groups[key] = groups.get(key, 0) + count
    summary["success_count"] = successes or 0
    summary["error_count"] = requests - (successes or 0)
    return summary
