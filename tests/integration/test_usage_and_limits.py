"""Usage records, instance-wide rate limits and shutdown, under real gunicorn with 2 workers."""
import re
import signal
import threading
import time

import pytest
import requests

from tests.cortex_server import ADMIN_KEY, LIMITED_KEY, CortexServer, base_config
from tests.mocks import Fail, Stream
from tests.mocks.openai_wire import chat_completion_chunks

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "one two three four"}]}


def post_chat(server, key=ADMIN_KEY, request_id=None, **extra):
    headers = {"Authorization": f"Bearer {key}", "Connection": "close"}
    if request_id:
        headers["x-request-id"] = request_id
    return requests.post(server.url + "/v1/chat/completions", json={**CHAT, **extra}, headers=headers)


def rows_tagged(server, tag: str, count: int, timeout: float = 10.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        rows = [r for r in server.usage_rows() if r["request_id"].startswith(tag)]
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def slow_stream(words: int, delay: float) -> Stream:
    request = {**CHAT, "messages": [{"role": "user", "content": " ".join(["w"] * words)}],
               "stream_options": {"include_usage": True}}
    return Stream(chat_completion_chunks(request, "gpt-4o"), delay=delay)


def test_rate_limit_is_instance_wide(cortex):
    assert post_chat(cortex, LIMITED_KEY, request_id="limit-0").status_code == 200
    first_worker = cortex.worker_for("limit-0")
    # Freeze the worker that served: the next requests must be accepted by the other one,
    # which has to know about the first request to enforce 3/minute.
    with cortex.frozen(first_worker):
        responses = [post_chat(cortex, LIMITED_KEY, request_id=f"limit-{i}") for i in range(1, 5)]
    assert [r.status_code for r in responses] == [200, 200, 429, 429]
    assert {cortex.worker_for(f"limit-{i}") for i in range(1, 5)} == cortex.worker_pids() - {first_worker}
    limited = responses[-1]
    body = limited.json()["error"]
    assert body["type"] == "rate_limit_error" and body["code"] == "rate_limit_exceeded"
    assert re.fullmatch(r"\d+", limited.headers["Retry-After"]) and 0 < int(limited.headers["Retry-After"]) <= 60
    assert limited.headers["X-RateLimit-Limit"] == "3" and limited.headers["X-RateLimit-Remaining"] == "0"


def test_rate_limit_uses_anthropic_envelope_there(cortex):
    for _ in range(4):
        response = requests.post(cortex.url + "/anthropic/v1/messages", headers={"x-api-key": LIMITED_KEY},
                                 json={"model": "claude-3-5-sonnet-20241022", "max_tokens": 10,
                                       "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 429
    assert response.json()["type"] == "error" and response.json()["error"]["type"] == "rate_limit_error"


def test_usage_records_for_a_mix_of_calls(cortex, mock):
    assert post_chat(cortex, request_id="mix-1").status_code == 200
    mock.script("/v1/chat/completions", Fail(500, "boom"))
    assert post_chat(cortex, request_id="mix-2").status_code == 502
    assert post_chat(cortex, request_id="mix-3", model="nope").status_code == 404
    streamed = post_chat(cortex, request_id="mix-4", stream=True)
    assert streamed.text.endswith("data: [DONE]\n\n")
    rows = rows_tagged(cortex, "mix-", 4)
    by_status = sorted((r["status"], r["error_code"] or "", r["stream"]) for r in rows)
    assert by_status == [("error", "model_not_found", 0), ("error", "upstream_500", 0),
                         ("success", "", 0), ("success", "", 1)]
    ok = next(r for r in rows if r["status"] == "success" and not r["stream"])
    assert ok["api_key_name"] == "admin" and ok["provider"] == "mockai" and ok["model"] == "gpt-4o"
    assert ok["endpoint"] == "/v1/chat/completions"
    assert ok["input_tokens"] > 0 and ok["output_tokens"] > 0
    assert ok["total_tokens"] == ok["input_tokens"] + ok["output_tokens"]
    assert ok["cost_usd"] == pytest.approx((ok["input_tokens"] * 2.5 + ok["output_tokens"] * 10) / 1e6)
    streamed_row = next(r for r in rows if r["stream"])
    assert streamed_row["output_tokens"] > 0, "usage from the stream's usage chunk"
    assert streamed_row["ttft_ms"] is not None


def test_client_disconnect_mid_stream_is_recorded_and_closes_upstream(cortex, mock):
    mock.script("/v1/chat/completions", slow_stream(words=40, delay=0.1))
    response = requests.post(cortex.url + "/v1/chat/completions", json={**CHAT, "stream": True}, stream=True,
                             headers={"Authorization": f"Bearer {ADMIN_KEY}", "x-request-id": "gone-1"})
    lines = response.iter_lines()
    assert next(line for line in lines if line.startswith(b"data:"))
    response.raw._fp.fp.raw._sock.close()  # vanish without reading the rest
    response.close()
    [row] = rows_tagged(cortex, "gone-", 1)
    assert row["error_code"] == "client_disconnected" and row["status"] == "error"
    deadline = time.monotonic() + 2
    while mock.active_connections and time.monotonic() < deadline:
        time.sleep(0.05)
    assert mock.active_connections == 0


def test_sigterm_flushes_pending_usage_and_finishes_streams(mock, tmp_path):
    # A long flush interval guarantees the records are still queued when SIGTERM arrives.
    server = CortexServer(base_config(mock.url, tmp_path / "cortex.db"), tmp_path,
                          env={"CORTEX_USAGE_FLUSH_SECS": "60", "CORTEX_GRACEFUL_TIMEOUT": "10"}).start()
    try:
        for _ in range(5):
            assert post_chat(server).status_code == 200
        mock.script("/v1/chat/completions", slow_stream(words=10, delay=0.2))
        received = {}

        def stream_through_shutdown():
            response = requests.post(server.url + "/v1/chat/completions", json={**CHAT, "stream": True},
                                     headers={"Authorization": f"Bearer {ADMIN_KEY}"}, stream=True)
            received["body"] = response.content

        reader = threading.Thread(target=stream_through_shutdown)
        reader.start()
        time.sleep(0.5)
        assert server.usage_rows() == [], "nothing written yet: the flush interval is 60 s"
        server.process.send_signal(signal.SIGTERM)
        reader.join(15)
        assert received["body"].endswith(b"data: [DONE]\n\n"), "the in-flight stream completed"
        assert server.process.wait(20) == 0
    finally:
        server.stop()
    rows = server.usage_rows()
    assert len(rows) == 6
    assert sum(r["stream"] for r in rows) == 1 and all(r["status"] == "success" for r in rows)
