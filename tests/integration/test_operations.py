"""The operator's view across workers: in-flight requests, runtime config, response cache."""
import threading
import time

import pytest
import requests

from tests.cortex_server import ADMIN_KEY, INFERENCE_KEY
from tests.mocks import Fail, Stream
from tests.mocks.openai_wire import chat_completion_chunks

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def paced_stream(words: int, first_delay: float, delay: float) -> Stream:
    request = {"messages": [{"role": "user", "content": " ".join(["w"] * words)}]}
    return Stream(chat_completion_chunks(request, "gpt-4o"), first_delay=first_delay, delay=delay)


def open_stream(server, request_id: str, model: str = "gpt-4o"):
    """Start a streaming request in the background; returns the thread and its result holder."""
    result = {}

    def run():
        response = requests.post(server.url + "/v1/chat/completions", stream=True,
                                 headers={**ADMIN, "x-request-id": request_id, "Connection": "close"},
                                 json={"model": model, "stream": True, "messages": [{"role": "user", "content": "x"}]})
        result["body"] = response.content

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def inflight(server) -> dict:
    response = requests.get(server.url + "/api/admin/inflight", headers={**ADMIN, "Connection": "close"})
    assert response.status_code == 200
    return response.json()


def test_inflight_lists_streams_of_both_workers_with_growing_idle(cortex, mock):
    # One event, then a long pause: the stream is idle while the mock stalls.
    mock.script("/v1/chat/completions", paced_stream(3, first_delay=0.0, delay=2.5),
                paced_stream(3, first_delay=0.0, delay=2.5))
    first, first_result = open_stream(cortex, "flight-1")
    worker = cortex.worker_for("flight-1")
    with cortex.frozen(worker):
        second, second_result = open_stream(cortex, "flight-2")
        assert cortex.worker_for("flight-2") != worker
    time.sleep(1.2)
    view = inflight(cortex)
    listed = [r for r in view["requests"] if r["uri"] == "/v1/chat/completions"]
    assert len(listed) == 2 and view["count"] == len(view["requests"])
    assert listed[0]["id"] < listed[1]["id"]
    for entry in listed:
        assert entry == {**entry, "method": "POST", "model": "gpt-4o", "provider": "mockai", "api_key_name": "admin"}
        assert entry["idle_secs"] >= 1 and entry["elapsed_secs"] >= 1
    first.join(10)
    second.join(10)
    assert first_result["body"].endswith(b"[DONE]\n\n") and second_result["body"].endswith(b"[DONE]\n\n")
    assert inflight(cortex)["count"] == 0


def test_inflight_needs_admin(cortex):
    response = requests.get(cortex.url + "/api/admin/inflight", headers={"Authorization": f"Bearer {INFERENCE_KEY}"})
    assert response.status_code == 403 and response.json()["error"]["type"] == "permission_error"


def test_config_put_reaches_the_other_worker(cortex):
    put = requests.put(cortex.url + "/api/config/token-refresh", json={"check_interval_secs": 42},
                       headers={**ADMIN, "x-request-id": "cfg-put", "Connection": "close"})
    assert put.status_code == 200
    assert put.json() == {"enabled": True, "refresh_threshold_secs": 300, "check_interval_secs": 42}
    with cortex.frozen(cortex.worker_for("cfg-put")):
        time.sleep(1.0)
        seen = requests.get(cortex.url + "/api/config/token-refresh", headers={**ADMIN, "Connection": "close"})
    assert seen.json()["check_interval_secs"] == 42


@pytest.mark.parametrize("body, field", [
    ({"response_cache_enabled": "yes"}, "response_cache_enabled"),
    ({"response_cache_ttl_secs": 0}, "response_cache_ttl_secs"),
    ({"response_cache_ttl_secs": 1.5}, "response_cache_ttl_secs"),
    ({"colour": "blue"}, "colour"),
])
def test_config_put_validation(cortex, body, field):
    response = requests.put(cortex.url + "/api/config/caching", json=body, headers=ADMIN)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and field in error["message"]


def test_unknown_config_section_is_404(cortex):
    assert requests.get(cortex.url + "/api/config/nothing", headers=ADMIN).status_code == 404


@pytest.fixture
def response_cache(cortex):
    requests.put(cortex.url + "/api/config/caching", json={"response_cache_enabled": True}, headers=ADMIN)
    time.sleep(0.5)  # every worker re-reads settings within RECHECK_SECS
    yield
    requests.put(cortex.url + "/api/config/caching", json={"response_cache_enabled": False}, headers=ADMIN)
    time.sleep(0.5)


def test_cache_hit_skips_the_upstream(cortex, mock, response_cache):
    client = cortex.openai()
    messages = [{"role": "user", "content": f"cache me {time.time()}"}]
    first = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=messages)
    assert first.headers["x-cortex-cache"] == "miss"
    time.sleep(1.0)  # cache writes are queued off the request path
    second = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=messages)
    assert second.headers["x-cortex-cache"] == "hit"
    assert second.parse().choices[0].message.content == first.parse().choices[0].message.content
    assert mock.calls("/v1/chat/completions") == 1
    other = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=messages, temperature=0.1)
    assert other.headers["x-cortex-cache"] == "miss"


def test_cached_stream_replays_and_parses_with_sdk(cortex, mock, response_cache):
    client = cortex.openai()
    messages = [{"role": "user", "content": f"stream cache {time.time()}"}]
    first = "".join(c.choices[0].delta.content or "" for c in
                    client.chat.completions.create(model="gpt-4o", messages=messages, stream=True) if c.choices)
    time.sleep(1.0)
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=messages, stream=True)
    assert raw.headers["x-cortex-cache"] == "hit"
    replayed = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
    assert replayed == first and mock.calls("/v1/chat/completions") == 1


def test_errors_are_never_cached(cortex, mock, response_cache):
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": f"fail {time.time()}"}]}
    mock.script("/v1/chat/completions", Fail(500, "nope"))
    assert requests.post(cortex.url + "/v1/chat/completions", json=body, headers=ADMIN).status_code == 502
    time.sleep(1.0)
    again = requests.post(cortex.url + "/v1/chat/completions", json=body, headers=ADMIN)
    assert again.status_code == 200 and again.headers["x-cortex-cache"] == "miss"


def test_cache_hit_is_a_usage_record_marked_cached(cortex, response_cache):
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": f"usage cache {time.time()}"}]}
    for request_id in ("cached-1", "cached-2"):
        requests.post(cortex.url + "/v1/chat/completions", json=body, headers={**ADMIN, "x-request-id": request_id})
        time.sleep(1.0)
    rows = {r["request_id"]: r for r in cortex.usage_rows() if r["request_id"].startswith("cached-")}
    assert rows["cached-1"]["cached"] == 0 and rows["cached-2"]["cached"] == 1
    assert rows["cached-2"]["output_tokens"] == rows["cached-1"]["output_tokens"] > 0
