"""Two Cortex instances (two gunicorn masters, two gevent workers each) on one real Redis and
one real PostgreSQL database: everything a user can observe is the same whichever instance
answers — rate limits, the in-flight view, runtime config, the response cache, OAuth logins
and their refresh — and both write their usage into PostgreSQL. Then the outage of each:
requests are still served and /ready says what is missing."""
import base64
import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from urllib.parse import urlsplit, urlunsplit

import openai
import psycopg2
import pytest
import requests

from tests.cortex_server import ADMIN_KEY, INFERENCE_KEY, LIMITED_KEY, CortexServer, base_config
from tests.integration import test_oauth
from tests.integration.test_oauth import (CLAUDE, CLIENT, HELLO, REFRESH_INTERVAL, SHORT_LIVED_CLIENT, call, code_flow,
                                          wait_for)
from tests.mocks import Stream
from tests.mocks.openai_wire import chat_completion_chunks
from tests.services import PostgresServer, RedisServer

ENCRYPTION_KEY = base64.b64encode(bytes(range(32))).decode()  # every instance must decrypt the others' tokens
auth = test_oauth.auth  # the mock authorization server, a module fixture here too


def oauth_provider(name: str, auth, client_id: str, **provider) -> dict:
    return {"name": name, "auth_method": "oauth", "oauth": code_flow(auth, client_id), **provider}


def scale_out_config(mock, auth, workdir, storage: dict) -> dict:
    config = base_config(mock.url, workdir / "unused.db", storage={"encryption_key": ENCRYPTION_KEY, **storage},
                         token_refresh={"enabled": True, "refresh_threshold_secs": 60,
                                        "check_interval_secs": REFRESH_INTERVAL})
    config["providers"] += [
        oauth_provider("claude", auth, CLIENT, type="anthropic", base_url=mock.url,
                       models=[{"id": "claude-3-5-sonnet-20241022"}]),
        oauth_provider("shortlived", auth, SHORT_LIVED_CLIENT, type="openai", base_url=f"{mock.url}/v1"),
    ]
    return config


@pytest.fixture(scope="module")
def database_url(postgres_server):
    return postgres_server.fresh_url()


@pytest.fixture(scope="module")
def instances(mock, auth, redis_server, database_url, tmp_path_factory):
    """Instances A and B, started together on a fresh database: four workers create the schema at once."""
    storage = {"database_url": database_url, "redis_url": redis_server.fresh_url()}
    servers = [CortexServer(scale_out_config(mock, auth, tmp_path_factory.mktemp(f"cortex-{name}"), storage),
                            tmp_path_factory.mktemp(f"cortex-{name}")) for name in "ab"]
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(CortexServer.start, servers))
        yield servers
        list(pool.map(CortexServer.stop, servers))


def login(start_on, finish_on, provider: str) -> requests.Response:
    """Start the code flow on one instance; the browser comes back to the other's callback."""
    start = call(start_on, "GET", f"/oauth/{provider}/authorize")
    assert start.status_code == 302, start.text
    approved = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    callback = urlsplit(approved.headers["Location"])
    assert callback.netloc == urlsplit(start_on.url).netloc
    other = urlunsplit(callback._replace(netloc=urlsplit(finish_on.url).netloc))
    return requests.get(other, headers={"Connection": "close"}, timeout=30)


def test_a_rate_limit_holds_across_instances(instances):
    a, b = instances
    outcomes = []
    for server in (a, b, a, b, a, b):  # a fresh client each time: any worker of either instance
        try:
            server.openai(LIMITED_KEY).chat.completions.create(model="gpt-4o", messages=HELLO)
            outcomes.append("served")
        except openai.RateLimitError as exc:
            assert int(exc.response.headers["Retry-After"]) > 0
            outcomes.append("limited")
    assert outcomes == ["served"] * 3 + ["limited"] * 3


def test_the_inflight_view_lists_streams_of_both_instances(instances, mock):
    a, b = instances
    chunks = chat_completion_chunks({"messages": HELLO}, "gpt-4o")
    stalling = Stream([chunks[0], chunks[-1]], delay=3.0)  # the first chunk at once, the last 3 s later
    mock.script("/v1/chat/completions", stalling, stalling)
    results = {}

    def stream(server, request_id):
        response = call(server, "POST", "/v1/chat/completions", headers={"x-request-id": request_id}, stream=True,
                        json={"model": "gpt-4o", "stream": True, "messages": HELLO})
        results[request_id] = response.content

    threads = [threading.Thread(target=stream, args=(server, f"flight-{server.port}")) for server in instances]
    for thread in threads:
        thread.start()

    def both_idle(server):  # listed, routed, and stalled long enough for the heartbeat to say so
        listed = [r for r in call(server, "GET", "/api/admin/inflight").json()["requests"]
                  if r["uri"] == "/v1/chat/completions"]
        return len(listed) == 2 and all(r["idle_secs"] >= 1 for r in listed) and listed

    for server in (a, b):
        listed = wait_for(lambda: both_idle(server), timeout=10)  # noqa: B023 - used at once
        assert listed[0]["id"] < listed[1]["id"]
        for entry in listed:
            assert entry == {**entry, "method": "POST", "model": "gpt-4o", "provider": "mockai",
                             "api_key_name": "admin"}
            assert entry["elapsed_secs"] >= 1
    for thread in threads:
        thread.join(10)
    assert all(body.endswith(b"data: [DONE]\n\n") for body in results.values()) and len(results) == 2
    wait_for(lambda: call(b, "GET", "/api/admin/inflight").json()["count"] == 0, timeout=5)


def effective_caching(server, request_id: str) -> dict:
    response = call(server, "GET", "/api/config/caching", headers={"x-request-id": request_id})
    assert response.status_code == 200
    return response.json()


def test_a_config_change_reaches_every_worker_of_the_other_instance(instances):
    a, b = instances
    put = call(a, "PUT", "/api/config/caching", json={"response_cache_ttl_secs": 123})
    assert put.status_code == 200 and put.json()["response_cache_ttl_secs"] == 123
    time.sleep(1.0)  # the contract: every worker within a second
    assert effective_caching(b, "config-b-1")["response_cache_ttl_secs"] == 123
    with b.frozen(b.worker_for("config-b-1")):
        assert effective_caching(b, "config-b-2")["response_cache_ttl_secs"] == 123
    assert b.worker_for("config-b-2") != b.worker_for("config-b-1")


@pytest.fixture
def response_cache(instances):
    a, _ = instances
    assert call(a, "PUT", "/api/config/caching", json={"response_cache_enabled": True}).status_code == 200
    time.sleep(1.0)  # every worker of both instances re-reads within a second
    yield
    call(a, "PUT", "/api/config/caching", json={"response_cache_enabled": False})
    time.sleep(1.0)


def test_a_response_cached_by_one_instance_is_a_hit_on_the_other(instances, mock, response_cache):
    a, b = instances
    messages = [{"role": "user", "content": f"shared cache {time.time()}"}]
    first = a.openai().chat.completions.with_raw_response.create(model="gpt-4o", messages=messages)
    assert first.headers["x-cortex-cache"] == "miss"
    second = b.openai().chat.completions.with_raw_response.create(model="gpt-4o", messages=messages)
    assert second.headers["x-cortex-cache"] == "hit"
    assert second.parse().choices[0].message.content == first.parse().choices[0].message.content

    stream_messages = [{"role": "user", "content": f"shared stream {time.time()}"}]
    original = "".join(c.choices[0].delta.content or "" for c in b.openai().chat.completions.create(
        model="gpt-4o", messages=stream_messages, stream=True) if c.choices)
    replay = a.openai().chat.completions.with_raw_response.create(model="gpt-4o", messages=stream_messages,
                                                                  stream=True)
    assert replay.headers["x-cortex-cache"] == "hit"
    assert "".join(c.choices[0].delta.content or "" for c in replay.parse() if c.choices) == original
    assert mock.calls("/v1/chat/completions") == 2  # one per distinct request, whichever instance


def upstream_bearer(mock) -> str:
    return mock.requests_to("/v1/messages")[-1].headers["authorization"]


def test_an_oauth_login_started_on_one_instance_finishes_on_the_other(instances, auth, mock):
    a, b = instances
    done = login(a, b, "claude")
    assert done.status_code == 200, done.text
    assert done.json()["success"] is True
    replay = requests.get(done.url, timeout=30)  # the state was consumed, for every instance
    assert replay.status_code == 400 and "already used OAuth state" in replay.json()["error"]["message"]

    a_client = a.anthropic()  # one keep-alive connection: the same worker of A each time
    a_client.messages.create(model=CLAUDE, max_tokens=20, messages=HELLO)
    assert upstream_bearer(mock) == f"Bearer {auth.tokens_for(CLIENT)[-1].access_token}"
    # A refresh on B: the worker of A that holds the old token must use the new one at once.
    assert call(b, "POST", "/oauth/claude/refresh").status_code == 200
    a_client.messages.create(model=CLAUDE, max_tokens=20, messages=HELLO)
    assert upstream_bearer(mock) == f"Bearer {auth.tokens_for(CLIENT)[-1].access_token}"
    for server in (a, b):
        assert call(server, "GET", "/oauth/claude/status").json()["authenticated"] is True


def test_background_refresh_happens_once_per_cycle_across_instances(instances, auth):
    a, b = instances
    assert login(b, a, "shortlived").status_code == 200
    try:
        refreshes = wait_for(lambda: (g := auth.grants_of("refresh_token", SHORT_LIVED_CLIENT)) and len(g) >= 4 and g)
    finally:
        assert call(a, "DELETE", "/oauth/shortlived/token").status_code == 200
    assert [grant.error for grant in refreshes] == [""] * len(refreshes)  # no refresh token was used twice
    issued = [tokens.refresh_token for tokens in auth.tokens_for(SHORT_LIVED_CLIENT)]
    assert [grant.refresh_token for grant in refreshes] == issued[:len(refreshes)]  # each used the rotated one
    gaps = [later.received_at - earlier.received_at for earlier, later in itertools.pairwise(refreshes)]
    assert min(gaps) > 0.8 * REFRESH_INTERVAL  # one refresh per cycle, not one per worker (of four) per cycle


def test_usage_of_both_instances_lands_in_postgresql(instances, database_url):
    a, b = instances
    sent = [server.openai(INFERENCE_KEY).chat.completions.with_raw_response.create(
        model="gpt-4o", messages=HELLO).headers["x-request-id"] for server in (a, b, a, b)]
    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        def stored():
            cursor.execute("SELECT request_id, api_key_name, status FROM usage_records WHERE request_id = ANY(%s)",
                           (sent,))
            return cursor.fetchall() if cursor.rowcount == len(sent) else None
        rows = wait_for(stored, timeout=10)
    assert {row[0] for row in rows} == set(sent) and {row[1:] for row in rows} == {("inference-only", "success")}
    for server in (a, b):  # either instance reports every record
        summary = call(server, "GET", "/usage/summary", params={"api_key": "inference-only"}).json()
        assert summary["total_requests"] == 4 and summary["by_provider"] == {"mockai": 4}
        records = call(server, "GET", "/usage", params={"api_key": "inference-only"}).json()
        assert {record["request_id"] for record in records} == set(sent)


def test_a_key_created_on_one_instance_works_on_the_other_and_its_revocation_too(instances):
    a, b = instances
    created = call(a, "POST", "/api/keys", json={"name": "across", "permissions": ["inference"]})
    assert created.status_code == 201
    key, key_id = created.json()["key"], created.json()["id"]
    for _ in range(4):  # at once, on any worker of the other instance
        assert call(b, "POST", "/v1/chat/completions", key=key, json={"model": "gpt-4o", "messages": HELLO}).ok
    assert call(a, "DELETE", f"/api/keys/{key_id}").status_code == 200
    time.sleep(1.0)  # the contract: every worker of every instance within a second
    for _ in range(4):
        refused = call(b, "POST", "/v1/chat/completions", key=key, json={"model": "gpt-4o", "messages": HELLO})
        assert refused.status_code == 401
    assert call(b, "GET", f"/api/keys/{key_id}").status_code == 404


def test_a_budget_is_spent_exactly_across_instances_and_holds_on_both(instances, mock):
    a, b = instances
    created = call(a, "POST", "/api/keys", json={"name": "shared-budget", "max_budget_usd": 100,
                                                 "budget_duration": "month"}).json()

    def one(server):
        response = call(server, "POST", "/v1/chat/completions", key=created["key"],
                        json={"model": "gpt-4o", "messages": HELLO})
        assert response.status_code == 200, response.text
        reply = response.json()["usage"]
        return (reply["prompt_tokens"] * 2.5 + reply["completion_tokens"] * 10) / 1e6  # gpt-4o's test prices

    with ThreadPoolExecutor(8) as pool:
        costs = list(pool.map(one, [a, b] * 8))
    shown = [call(server, "GET", f"/api/keys/{created['id']}").json()["budget"] for server in (a, b)]
    assert shown[0] == shown[1] and shown[0]["spend_usd"] == pytest.approx(sum(costs), abs=1e-9)
    patched = call(a, "PATCH", f"/api/keys/{created['id']}", json={"max_budget_usd": shown[0]["spend_usd"]})
    assert patched.status_code == 200
    time.sleep(1.0)
    calls = mock.calls("/v1/chat/completions")
    for server in (a, b, a, b):
        refused = call(server, "POST", "/v1/chat/completions", key=created["key"],
                       json={"model": "gpt-4o", "messages": HELLO})
        assert refused.status_code == 429 and refused.json()["error"]["type"] == "insufficient_quota"
    assert mock.calls("/v1/chat/completions") == calls


def test_both_instances_are_ready(instances):
    for server in instances:
        assert call(server, "GET", "/ready").json()["status"] == "ready"


def test_outages_of_redis_then_postgresql_are_survived_and_reported(mock, auth, tmp_path):
    with ExitStack() as services:  # servers of its own, to stop
        redis_server, postgres_server = RedisServer(), PostgresServer()
        services.callback(redis_server.stop)
        services.callback(postgres_server.stop)
        storage = {"database_url": postgres_server.fresh_url(), "redis_url": redis_server.fresh_url()}
        server = CortexServer(scale_out_config(mock, auth, tmp_path, storage), tmp_path).start()
        services.callback(server.stop)
        assert call(server, "GET", "/ready").status_code == 200
        redis_server.stop()
        not_ready = call(server, "GET", "/ready")
        assert not_ready.status_code == 503 and "Redis" in not_ready.json()["error"]["message"]
        for key in (LIMITED_KEY, ADMIN_KEY):  # rate-limited or not, listed in flight or not: served
            assert server.openai(key).chat.completions.create(model="gpt-4o", messages=HELLO).choices
        postgres_server.stop()
        not_ready = call(server, "GET", "/ready")
        assert not_ready.status_code == 503 and "store" in not_ready.json()["error"]["message"]
        assert server.openai().chat.completions.create(model="gpt-4o", messages=HELLO).choices
        assert call(server, "GET", "/health").status_code == 200
    assert "Traceback" not in server.log()
