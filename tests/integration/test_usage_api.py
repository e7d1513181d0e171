"""`GET /usage` and `GET /usage/summary` against a known set of requests, under real gunicorn with 2 workers."""
import time
from datetime import datetime, timedelta, timezone

import openai
import pytest
import requests

from tests.cortex_server import ADMIN_KEY, INFERENCE_KEY, CortexServer, base_config
from tests.mocks import Fail

REPORTER_KEY = "test-reporter-key-0004"
USAGE_ONLY_KEY = "test-usage-only-key-0005"
# A new connection per request: a frozen worker must not hold a kept-alive one.
CLOSE = {"Connection": "close"}
HI = [{"role": "user", "content": "hello usage api"}]
EXPECTED_RECORDS = 10


@pytest.fixture(scope="module")
def server(mock, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("usage-api")
    config = base_config(mock.url, workdir / "cortex.db")
    config["api_keys"] += [
        {"name": "reporter", "key": REPORTER_KEY, "permissions": ["inference", "usage"]},
        {"name": "auditor", "key": USAGE_ONLY_KEY, "permissions": ["usage"]},
    ]
    server = CortexServer(config, workdir).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def rows(server, mock):
    """Make the known traffic, half of it on each worker; return the store's rows, newest first."""
    first, second = sorted(server.worker_pids())
    with server.frozen(second):
        admin_openai, admin_anthropic = server.openai(default_headers=CLOSE), server.anthropic(default_headers=CLOSE)
        for word in ("one", "two three", "four five six"):
            admin_openai.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": word}])
        admin_anthropic.messages.create(model="claude-3-5-sonnet-20241022", max_tokens=20, messages=HI)
        mock.script("/v1/chat/completions", Fail(500, "upstream broke"))
        with pytest.raises(openai.APIStatusError):
            admin_openai.chat.completions.create(model="gpt-4o", messages=HI)
    with server.frozen(first):
        with pytest.raises(openai.NotFoundError):
            admin_openai.chat.completions.create(model="no-such-model", messages=HI)
        reporter_openai = server.openai(REPORTER_KEY, default_headers=CLOSE)
        for _ in range(2):
            reporter_openai.chat.completions.create(model="gpt-4o-mini", messages=HI)
        assert list(reporter_openai.chat.completions.create(model="gpt-4o", messages=HI, stream=True,
                                                            stream_options={"include_usage": True}))
        server.anthropic(REPORTER_KEY, default_headers=CLOSE).messages.create(
            model="claude-3-5-sonnet-20241022", max_tokens=20, messages=HI)
    deadline = time.monotonic() + 10
    while len(server.usage_rows()) < EXPECTED_RECORDS and time.monotonic() < deadline:
        time.sleep(0.1)  # each worker's batched writer flushes every 0.5 s
    return sorted(server.usage_rows(), key=lambda row: (row["timestamp"], row["id"]), reverse=True)


def get(server, path, key=ADMIN_KEY, **params):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return requests.get(server.url + path, params=params, headers=headers)


def rfc3339(timestamp: float, offset_hours: int = 0) -> str:
    return datetime.fromtimestamp(timestamp, timezone(timedelta(hours=offset_hours))).isoformat(timespec="microseconds")


def matching(rows, api_key=None, provider=None, model=None, start_time=None, end_time=None):
    """The rows a filter selects, computed here from the raw store (start inclusive, end exclusive)."""
    return [row for row in rows
            if (api_key is None or row["api_key_name"] == api_key)
            and (provider is None or row["provider"] == provider)
            and (model is None or row["model"] == model)
            and (start_time is None or row["timestamp"] >= start_time)
            and (end_time is None or row["timestamp"] < end_time)]


def windows(rows) -> list[dict]:
    """Time filters whose boundaries fall between records: (query params, python filter)."""
    times = sorted(row["timestamp"] for row in rows)
    early, late = (times[2] + times[3]) / 2, (times[7] + times[8]) / 2
    return [
        ({"start_time": rfc3339(early)}, {"start_time": early}),
        ({"end_time": rfc3339(late, offset_hours=2)}, {"end_time": late}),
        ({"start_time": rfc3339(early, offset_hours=-5), "end_time": rfc3339(late)},
         {"start_time": early, "end_time": late}),
    ]


def test_the_known_traffic_was_recorded_by_both_workers(server, rows):
    assert len(rows) == EXPECTED_RECORDS
    served = {entry["worker"] for entry in server.access_log() if entry["path"].startswith(("/v1/", "/anthropic/"))}
    assert served == server.worker_pids()
    assert len(get(server, "/usage").json()) == EXPECTED_RECORDS


def test_records_are_the_stored_ones_newest_first(server, rows):
    records = get(server, "/usage").json()
    assert [r["request_id"] for r in records] == [row["request_id"] for row in rows]
    for record, row in zip(records, rows):
        shown = datetime.strptime(record["timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
        assert 0 <= row["timestamp"] - shown < 1
        for name in ("api_key_name", "model", "provider", "endpoint", "input_tokens", "output_tokens",
                     "total_tokens", "latency_ms", "status", "error_code", "cost_usd"):
            assert record[name] == row[name], name
    by_status = sorted((r["status"], r["error_code"] or "") for r in records)
    assert by_status[:2] == [("error", "model_not_found"), ("error", "upstream_500")]
    priced = [r for r in records if r["model"] == "gpt-4o" and r["status"] == "success"]
    assert priced and all(r["cost_usd"] == pytest.approx((r["input_tokens"] * 2.5 + r["output_tokens"] * 10) / 1e6)
                          for r in priced)
    assert all(r["cost_usd"] is None for r in records if r["model"] == "gpt-4o-mini")
    assert {r["endpoint"] for r in records} == {"/v1/chat/completions", "/anthropic/v1/messages"}


@pytest.mark.parametrize("filters", [
    {"api_key": "reporter"}, {"provider": "mockanthropic"}, {"model": "gpt-4o-mini"},
    {"model": "gpt-4o", "api_key": "admin"}, {"provider": "mockai", "api_key": "reporter"}, {"api_key": "nobody"},
])
def test_filters(server, rows, filters):
    expected = matching(rows, **filters)
    assert [r["request_id"] for r in get(server, "/usage", **filters).json()] == [r["request_id"] for r in expected]


def test_time_filters(server, rows):
    for params, window in windows(rows):
        expected = [r["request_id"] for r in matching(rows, **window)]
        assert 0 < len(expected) < len(rows)
        assert [r["request_id"] for r in get(server, "/usage", **params).json()] == expected, params
    assert get(server, "/usage", start_time="2000-01-01T00:00:00Z", end_time="2000-01-02T00:00:00Z").json() == []


def expected_summary(rows) -> dict:
    def counts(column):
        result = {}
        for row in rows:
            key = row[column] if row[column] is not None else "unknown"
            result[key] = result.get(key, 0) + 1
        return result

    costs = [row["cost_usd"] for row in rows if row["cost_usd"] is not None]
    return {
        "total_requests": len(rows),
        "total_tokens": sum(row["total_tokens"] for row in rows),
        "total_input_tokens": sum(row["input_tokens"] for row in rows),
        "total_output_tokens": sum(row["output_tokens"] for row in rows),
        "avg_latency_ms": pytest.approx(sum(row["latency_ms"] for row in rows) / len(rows) if rows else 0, abs=0.051),
        "total_cost_usd": pytest.approx(sum(costs)) if costs else None,
        "by_provider": counts("provider"),
        "by_model": counts("model"),
        "by_api_key": counts("api_key_name"),
        "success_count": sum(row["status"] == "success" for row in rows),
        "error_count": sum(row["status"] == "error" for row in rows),
    }


def test_summary_matches_the_records(server, rows):
    summary = get(server, "/usage/summary").json()
    assert summary == expected_summary(rows)
    assert summary["by_provider"]["unknown"] == 1, "the unknown-model request has no provider"
    assert summary["total_cost_usd"] > 0
    assert sum(summary["by_model"].values()) == summary["total_requests"] == EXPECTED_RECORDS
    assert summary["success_count"] == 8 and summary["error_count"] == 2


@pytest.mark.parametrize("filters", [{"api_key": "reporter"}, {"provider": "mockai", "model": "gpt-4o"},
                                     {"model": "claude-3-5-sonnet-20241022"}, {"api_key": "nobody"}])
def test_summary_filters(server, rows, filters):
    assert get(server, "/usage/summary", **filters).json() == expected_summary(matching(rows, **filters))


def test_summary_time_filters(server, rows):
    for params, window in windows(rows):
        assert get(server, "/usage/summary", **params).json() == expected_summary(matching(rows, **window)), params


def test_paging_by_cursor_walks_every_record_once(server, rows):
    seen, cursor = [], None
    for _ in range(EXPECTED_RECORDS):
        response = get(server, "/usage", limit=3, **({"cursor": cursor} if cursor else {}))
        seen += [r["request_id"] for r in response.json()]
        cursor = response.headers.get("X-Next-Cursor")
        if cursor is None:
            break
    assert seen == [row["request_id"] for row in rows]
    assert len(response.json()) == 1, "10 records in pages of 3: the last page holds one"


def test_paging_by_offset_and_limits(server, rows):
    ids = [row["request_id"] for row in rows]
    page = get(server, "/usage", limit=3, offset=3)
    assert [r["request_id"] for r in page.json()] == ids[3:6] and page.headers.get("X-Next-Cursor")
    assert [r["request_id"] for r in get(server, "/usage", limit=3, offset=9).json()] == ids[9:]
    exact = get(server, "/usage", limit=EXPECTED_RECORDS)
    assert len(exact.json()) == EXPECTED_RECORDS and "X-Next-Cursor" not in exact.headers
    filtered = get(server, "/usage", api_key="reporter", limit=2)
    rest = get(server, "/usage", api_key="reporter", cursor=filtered.headers["X-Next-Cursor"])
    assert [r["request_id"] for r in filtered.json() + rest.json()] == [
        row["request_id"] for row in matching(rows, api_key="reporter")]


@pytest.mark.parametrize("key", [REPORTER_KEY, USAGE_ONLY_KEY])
def test_a_usage_key_sees_only_its_own_records(server, rows, key):
    name = "reporter" if key == REPORTER_KEY else "auditor"
    own = [row["request_id"] for row in matching(rows, api_key=name)]
    assert [r["request_id"] for r in get(server, "/usage", key).json()] == own
    assert [r["request_id"] for r in get(server, "/usage", key, api_key=name).json()] == own
    assert get(server, "/usage/summary", key).json() == expected_summary(matching(rows, api_key=name))
    for path in ("/usage", "/usage/summary"):
        denied = get(server, path, key, api_key="admin")
        assert denied.status_code == 403 and denied.json()["error"]["type"] == "permission_error"


def test_access_needs_a_key_with_usage_permission(server, rows):
    assert get(server, "/usage", key=None).status_code == 401
    assert get(server, "/usage", key="wrong-key").status_code == 401
    denied = get(server, "/usage/summary", key=INFERENCE_KEY)
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "insufficient_permissions"


@pytest.mark.parametrize("path, params, param", [
    ("/usage", {"limit": "0"}, "limit"),
    ("/usage", {"limit": "1001"}, "limit"),
    ("/usage", {"limit": "ten"}, "limit"),
    ("/usage", {"offset": "-1"}, "offset"),
    ("/usage", {"start_time": "yesterday"}, "start_time"),
    ("/usage", {"start_time": "2024-11-01T00:00:00"}, "start_time"),  # no offset: ambiguous
    ("/usage", {"end_time": "2024-11-01"}, "end_time"),
    ("/usage", {"end_time": "2024-13-01T00:00:00Z"}, "end_time"),
    ("/usage", {"start_time": "2024-11-02T00:00:00Z", "end_time": "2024-11-01T00:00:00Z"}, "end_time"),
    ("/usage", {"cursor": "not-a-cursor"}, "cursor"),
    ("/usage", {"cursor": "MTcwMDAwMDAwMC4wLDU", "offset": "2"}, "cursor"),
    ("/usage", {"user": "admin"}, "user"),
    ("/usage", {"limit": ["5", "6"]}, "limit"),
    ("/usage/summary", {"limit": "5"}, "limit"),  # a summary is not paged
    ("/usage/summary", {"start_time": "2024-11-01T00:00:00+0100"}, "start_time"),
])
def test_bad_queries_are_400(server, path, params, param):
    response = get(server, path, **params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param


def test_unencoded_plus_in_an_offset_gets_a_hint(server):
    response = requests.get(server.url + "/usage?start_time=2024-11-01T00:00:00+01:00",
                            headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert response.status_code == 400 and "%2B" in response.json()["error"]["message"]
