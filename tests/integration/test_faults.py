"""Faults Cortex survives, under real gunicorn (2 gevent workers) against the loopback mock.

Each test shows the same three things: the client gets a clean answer in its own format (an
error envelope, or an error event as the stream's last event), nothing is lost (one usage
record per request, the in-flight view back to empty, the upstream connection released), and
the server keeps serving. Covered elsewhere: the status each upstream error maps to
(test_openai_surface.py; here with streams and the nothing-lost checks added), fallback
(test_failover.py), client disconnect on the OpenAI surface and SIGTERM during streams
(test_usage_and_limits.py), the queue's bound (tests/unit/test_usage_queue.py).
"""
import os
import signal
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import anthropic
import openai
import pytest
import requests

from tests.cortex_server import ADMIN_KEY, base_config, free_port
from tests.mocks import Fail, Malformed, Reply, ResetConnection, ResetMidStream, Stall, Stream
from tests.mocks.openai_wire import chat_completion_chunks

CHAT_PATH = "/v1/chat/completions"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}", "Connection": "close"}
HELLO = [{"role": "user", "content": "one two three four five six"}]
READ_TIMEOUT_SECS = 1
# Loopback requests take milliseconds; one that met a hub stalled by a writer waiting on the
# store's lock would take SQLite's 5 s busy timeout, several times over (15-24 s measured).
# The bound is generous because CI machines are shared and slow at times.
UNBLOCKED_ANSWER_SECS = 4.5
LOAD_REQUESTS = 200


def fault_config(mock_url: str, db_path: Path) -> dict:
    """The usual providers with a short read timeout, plus one whose port refuses connections."""
    config = base_config(mock_url, db_path)
    for provider in config["providers"]:
        provider["timeout_secs"] = READ_TIMEOUT_SECS
    config["providers"].append({
        "name": "refusing", "type": "openai", "base_url": f"http://127.0.0.1:{free_port()}/v1",
        "api_keys": ["sk-refusing-secret-4"], "models": [{"id": "refused-model"}]})
    return config


@pytest.fixture(scope="module")
def cortex(start_cortex):
    return start_cortex(fault_config)


def chunks(words: int = 6) -> list[dict]:
    return chat_completion_chunks({"messages": [{"role": "user", "content": " ".join(["w"] * words)}]}, "gpt-4o")


def post_chat(server, request_id: str, model: str = "gpt-4o", **extra) -> requests.Response:
    return requests.post(server.url + CHAT_PATH, headers={**ADMIN, "x-request-id": request_id},
                         json={"model": model, "messages": HELLO, **extra}, timeout=30)


def settles(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def inflight_count(server) -> int:
    response = requests.get(server.url + "/api/admin/inflight", headers=ADMIN, timeout=10)
    assert response.status_code == 200
    return response.json()["count"]


def assert_nothing_lost(server, mock, request_id: str, error_code: str) -> None:
    """The request has its usage record, holds no in-flight slot or upstream connection, and
    the server answers the next request normally."""
    row = server.usage_row(request_id)
    assert (row["status"], row["error_code"]) == ("error", error_code)
    assert settles(lambda: inflight_count(server) == 0), "the in-flight slot was released"
    assert settles(lambda: mock.active_connections == 0), "the upstream connection was closed"
    healthy = post_chat(server, f"{request_id}-after")
    assert healthy.status_code == 200 and healthy.json()["choices"][0]["message"]["content"]


# --- upstream faults before the first byte: an error envelope -----------------------------------

@pytest.mark.parametrize("model, behaviour, status, code", [
    ("refused-model", None, 502, "upstream_unreachable"),
    ("gpt-4o", Stall(), 504, "upstream_timeout"),
    ("gpt-4o", Fail(503, "overloaded"), 502, "upstream_503"),
    ("gpt-4o", Malformed(), 502, "upstream_bad_response"),
    ("gpt-4o", ResetConnection(), 502, "upstream_connection_error"),
], ids=["connect-refused", "read-timeout", "5xx", "malformed-json", "reset"])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_upstream_fault_before_the_reply(cortex, mock, model, behaviour, status, code, stream):
    if behaviour is not None:
        mock.script(CHAT_PATH, behaviour)
    request_id = f"fault-{code}-{stream}"
    response = post_chat(cortex, request_id, model=model, stream=stream)
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json", "an envelope, not a stream"
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["type"] == "provider_error"
    assert_nothing_lost(cortex, mock, request_id, code)


def test_a_reply_of_the_wrong_shape_is_502_in_the_clients_envelope(cortex, mock):
    """Valid JSON that is not a chat completion, translated for an Anthropic client."""
    mock.script(CHAT_PATH, Reply({"id": "x", "choices": 5, "usage": "lots"}))
    response = requests.post(cortex.url + "/anthropic/v1/messages", timeout=30,
                             headers={**ADMIN, "x-request-id": "fault-wrong-shape"},
                             json={"model": "gpt-4o", "max_tokens": 16, "messages": HELLO})
    assert response.status_code == 502
    assert response.json()["error"] == {"type": "api_error",
                                        "message": "The provider sent a reply of an unexpected shape"}
    assert_nothing_lost(cortex, mock, "fault-wrong-shape", "upstream_bad_response")


# --- the provider rejects the request: the client's error, not a gateway failure ----------------

CLAUDE = "claude-3-5-sonnet-20241022"
SURFACE_PATHS = {"openai": CHAT_PATH, "anthropic": "/anthropic/v1/messages"}
UPSTREAM_PATHS = {"gpt-4o": CHAT_PATH, CLAUDE: "/v1/messages"}
ANTHROPIC_TYPES = {400: "invalid_request_error", 404: "not_found_error", 413: "request_too_large",
                   422: "invalid_request_error"}


@pytest.mark.parametrize("status", [400, 404, 413, 422])
@pytest.mark.parametrize("surface, model", [("openai", "gpt-4o"), ("openai", CLAUDE), ("anthropic", CLAUDE),
                                            ("anthropic", "gpt-4o")],
                         ids=["openai-same", "openai-translated", "anthropic-same", "anthropic-translated"])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_a_request_the_provider_rejects_keeps_its_status(cortex, mock, status, surface, model, stream):
    """Same status, `invalid_request_error` in the client's envelope, the provider's words kept,
    and sent upstream once: a 502 would make the official SDKs send a doomed request again."""
    mock.script(UPSTREAM_PATHS[model], Fail(status, f"the provider says no ({status})"))
    request_id = f"rejected-{surface}-{model}-{status}-{stream}"
    response = requests.post(cortex.url + SURFACE_PATHS[surface], timeout=30,
                             headers={**ADMIN, "x-request-id": request_id},
                             json={"model": model, "max_tokens": 16, "messages": HELLO, "stream": stream})
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json", "an envelope, not a stream"
    error = response.json()["error"]
    assert f"the provider says no ({status})" in error["message"]
    if surface == "openai":
        assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", f"upstream_{status}", None)
    else:
        assert response.json()["type"] == "error" and error["type"] == ANTHROPIC_TYPES[status]
    assert mock.calls(UPSTREAM_PATHS[model]) == 1
    assert_nothing_lost(cortex, mock, request_id, f"upstream_{status}")


# --- upstream faults mid-stream: an error event in the client's format --------------------------

@pytest.mark.parametrize("behaviour, code", [
    (ResetMidStream(chunks(), after=2), "upstream_connection_error"),
    (Stream(chunks(), delay=3600), "upstream_timeout"),  # one chunk, then silence
], ids=["reset", "stalls-forever"])
def test_openai_stream_fault_ends_with_an_error_event(cortex, mock, behaviour, code):
    mock.script(CHAT_PATH, behaviour)
    stream = cortex.openai(default_headers={"Connection": "close"}).chat.completions.create(
        model="gpt-4o", messages=HELLO, stream=True, extra_headers={"x-request-id": f"midstream-{code}"})
    received = []
    with pytest.raises(openai.APIError) as excinfo:
        for chunk in stream:
            received.append(chunk)  # noqa: PERF402 - what arrived before the error
    assert received, "the chunks sent before the fault reached the client"
    assert excinfo.value.body["code"] == code and excinfo.value.body["type"] == "provider_error"
    assert_nothing_lost(cortex, mock, f"midstream-{code}", code)


def test_a_stalled_stream_ends_with_an_anthropic_error_event(cortex, mock):
    """Anthropic client, OpenAI-type provider: the translated stream ends the Anthropic way."""
    mock.script(CHAT_PATH, Stream(chunks(), delay=3600))
    events = []
    with pytest.raises(anthropic.APIStatusError) as excinfo:
        with cortex.anthropic(default_headers={"Connection": "close"}).messages.stream(
                model="gpt-4o", max_tokens=64, messages=HELLO,
                extra_headers={"x-request-id": "midstream-anthropic"}) as stream:
            events.extend(event.type for event in stream)
    assert events[0] == "message_start" and "message_stop" not in events
    assert excinfo.value.body["error"]["type"] == "api_error"
    assert "timed out" in excinfo.value.body["error"]["message"]
    assert_nothing_lost(cortex, mock, "midstream-anthropic", "upstream_timeout")


def test_client_disconnect_on_the_anthropic_surface(cortex, mock):
    """The client vanishes mid-stream: the upstream is closed at once and the call recorded."""
    mock.script(CHAT_PATH, Stream(chunks(words=60), delay=0.1))
    response = requests.post(cortex.url + "/anthropic/v1/messages", stream=True,
                             headers={**ADMIN, "x-request-id": "vanished-anthropic"},
                             json={"model": "gpt-4o", "max_tokens": 64, "stream": True, "messages": HELLO})
    lines = response.iter_lines()
    assert next(line for line in lines if line.startswith(b"event: content_block_delta"))
    assert mock.active_connections == 1 and inflight_count(cortex) == 1
    response.raw._fp.fp.raw._sock.close()  # vanish without reading the rest
    response.close()
    assert settles(lambda: mock.active_connections == 0, timeout=1.0), "upstream closed within a second"
    row = cortex.usage_row("vanished-anthropic")
    assert (row["status"], row["error_code"], row["endpoint"]) == ("error", "client_disconnected",
                                                                    "/anthropic/v1/messages")
    assert settles(lambda: inflight_count(cortex) == 0)


# --- the store unavailable or locked -------------------------------------------------------------

def store_config(mock_url: str, db_path: Path) -> dict:
    """The database in a folder of its own (so the test can take it away), the response cache
    on (a store read per request) and an auth_method auto provider (an OAuth token lookup)."""
    config = base_config(mock_url, db_path.parent / "store" / db_path.name,
                         caching={"response_cache_enabled": True, "response_cache_ttl_secs": 300})
    closed = f"http://127.0.0.1:{free_port()}"
    config["providers"].append({
        "name": "autoauth", "type": "openai", "base_url": f"{mock_url}/v1", "auth_method": "auto",
        "api_keys": ["sk-autoauth-secret-5"], "models": [{"id": "auto-model"}],
        "oauth": {"client_id": "cortex-test", "authorize_url": f"{closed}/authorize", "token_url": f"{closed}/token"}})
    return config


@pytest.fixture(scope="module")
def stored(start_cortex):
    server = start_cortex(store_config)
    # Both workers must have opened the store before it goes away: a worker still loading the
    # app would create a new, empty database (and key file) where the old one was.
    assert post_chat(server, "warm-up-1").status_code == 200
    with server.frozen(server.worker_for("warm-up-1")):
        assert post_chat(server, "warm-up-2").status_code == 200
    return server


def database_path(server) -> Path:
    return Path(server.config["storage"]["database_url"][len("sqlite:///"):])


@contextmanager
def store_away(server):
    """The database folder renamed: new connections fail ("unable to open database file")."""
    folder = database_path(server).parent
    folder.rename(folder.with_name("store-away"))
    try:
        yield
    finally:
        folder.with_name("store-away").rename(folder)


@contextmanager
def store_locked(server):
    """Another process holds the database's write lock (an exclusive transaction)."""
    connection = sqlite3.connect(database_path(server), isolation_level=None)
    connection.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        connection.execute("ROLLBACK")
        connection.close()


def serve_a_mix(server, tag: str, timeout: float = 10) -> list[str]:
    """Requests that touch every store-backed path: cache lookups, an OAuth token lookup, streams,
    both surfaces. Returns their request ids; each must have succeeded."""
    ids = []
    for index, (path, body) in enumerate([
        (CHAT_PATH, {"model": "gpt-4o", "messages": [{"role": "user", "content": f"{tag} json"}]}),
        (CHAT_PATH, {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": f"{tag} sse"}]}),
        (CHAT_PATH, {"model": "auto-model", "messages": [{"role": "user", "content": f"{tag} auto"}]}),
        ("/anthropic/v1/messages", {"model": "claude-3-5-sonnet-20241022", "max_tokens": 32, "stream": True,
                                    "messages": [{"role": "user", "content": f"{tag} claude"}]}),
    ]):
        request_id = f"{tag}-{index}"
        response = requests.post(server.url + path, json=body, timeout=timeout,
                                 headers={**ADMIN, "x-request-id": request_id})
        assert response.status_code == 200, (request_id, response.text)
        assert b"error" not in response.content.lower(), (request_id, response.text)
        ids.append(request_id)
    return ids


def usage_ids(server) -> set[str]:
    return {row["request_id"] for row in server.usage_rows()}


def test_store_unavailable(stored):
    with store_away(stored):
        ready = requests.get(stored.url + "/ready", timeout=10)
        assert ready.status_code == 503 and ready.json()["error"]["code"] == "service_unavailable"
        served = serve_a_mix(stored, "away")
        # A key check never needs the store; what does answers 503, not 500 and never 401.
        assert requests.get(stored.url + "/v1/models", headers=ADMIN, timeout=10).status_code == 200
        usage = requests.get(stored.url + "/usage", headers=ADMIN, timeout=10)
        assert usage.status_code == 503 and usage.json()["error"]["code"] == "store_unavailable"
        assert settles(lambda: "store unavailable for usage" in stored.log()), "the records wait in memory"
    assert requests.get(stored.url + "/ready", timeout=10).status_code == 200
    assert settles(lambda: set(served) <= usage_ids(stored), timeout=15), "queued usage written once it returned"
    assert '"status":401' not in stored.log()


def test_store_locked(stored):
    """While another process holds the write lock, the writers wait for it (up to SQLite's 5 s
    busy timeout) in a thread of their own, and every request is answered meanwhile. A writer
    waiting on the hub would stall its worker, and the requests it had, until it gave up."""
    log_before = len(stored.log())
    served, rounds = [], 0
    with store_locked(stored):
        assert requests.get(stored.url + "/ready", timeout=10).status_code == 200, "readers are not blocked (WAL)"
        while "store unavailable for usage" not in stored.log()[log_before:]:  # until a writer gives up
            served += serve_a_mix(stored, f"locked-{rounds}", timeout=UNBLOCKED_ANSWER_SECS)
            rounds += 1
        assert not usage_ids(stored) & set(served)
    assert rounds > 1
    assert settles(lambda: set(served) <= usage_ids(stored), timeout=15)


# --- a worker killed ------------------------------------------------------------------------------

def stream_in_background(server, request_id: str) -> tuple[threading.Thread, dict]:
    outcome = {}

    def read():
        try:
            response = requests.post(server.url + CHAT_PATH, stream=True, timeout=30,
                                     headers={**ADMIN, "x-request-id": request_id},
                                     json={"model": "gpt-4o", "stream": True, "messages": HELLO})
            outcome["body"] = response.content
        except requests.RequestException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread, outcome


def test_a_worker_killed_with_sigkill_is_replaced_and_the_other_keeps_serving(start_cortex, mock):
    server = start_cortex(fault_config)
    mock.script(CHAT_PATH, Stream(chunks(40), delay=0.1), Stream(chunks(20), delay=0.1))
    doomed_stream, doomed = stream_in_background(server, "kill-doomed")
    victim = server.worker_for("kill-doomed")
    with server.frozen(victim):
        survivor_stream, survived = stream_in_background(server, "kill-survivor")
        survivor = server.worker_for("kill-survivor")
    assert survivor != victim

    os.kill(victim, signal.SIGKILL)
    # Load while gunicorn notices and boots a replacement: every request is answered.
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda i: post_chat(server, f"kill-load-{i}").status_code, range(LOAD_REQUESTS)))
    assert statuses == [200] * LOAD_REQUESTS

    survivor_stream.join(30)
    doomed_stream.join(30)
    assert survived["body"].endswith(b"data: [DONE]\n\n"), "the other worker's stream was untouched"
    assert "error" in doomed or not doomed["body"].endswith(b"data: [DONE]\n\n"), "a killed stream never looks complete"
    assert settles(lambda: len(server.worker_pids() - {victim, survivor}) == 1, timeout=15), "a replacement booted"
    [replacement] = server.worker_pids() - {victim, survivor}
    assert settles(lambda: inflight_count(server) == 0), "the dead worker's slot is not listed"
    with server.frozen(survivor):
        assert post_chat(server, "kill-replacement").status_code == 200
    assert server.worker_for("kill-replacement") == replacement
    # Only the killed worker's own stream goes unrecorded (SIGKILL leaves it no chance).
    expected = {f"kill-load-{i}" for i in range(LOAD_REQUESTS)} | {"kill-survivor", "kill-replacement"}
    assert settles(lambda: expected <= usage_ids(server)), expected - usage_ids(server)
