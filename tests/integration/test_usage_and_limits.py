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


# USD per million tokens: input, output, cache read, cache write.
CACHE_PRICES = {"claude-3-5-sonnet-20241022": (3, 15, 0.3, 3.75), "gpt-4o": (2.5, 10, 1.25, None)}
CACHED_PREFIX = " ".join(["context"] * 50)


def cache_priced_config(mock_url, db_path) -> dict:
    config = base_config(mock_url, db_path)
    for provider in config["providers"]:
        for model in provider["models"]:
            if model["id"] in CACHE_PRICES:
                prices = dict(zip(("input_cost_per_mtok", "output_cost_per_mtok", "cache_read_cost_per_mtok",
                                   "cache_write_cost_per_mtok"), CACHE_PRICES[model["id"]]))
                model.update({name: price for name, price in prices.items() if price is not None})
    return config


def test_cached_input_is_priced_as_configured(start_cortex):
    """Cache reads and writes at their own prices (writes at the input price when unset), the
    rest of the input at the input price; both wire formats report the split their own way."""
    server = start_cortex(cache_priced_config, workers=1)
    turns = [[{"role": "user", "content": CACHED_PREFIX}],
             [{"role": "user", "content": CACHED_PREFIX}, {"role": "assistant", "content": "noted"},
              {"role": "user", "content": "and now?"}]]
    for index, messages in enumerate(turns):
        server.anthropic().messages.create(
            model="claude-3-5-sonnet-20241022", max_tokens=16, messages=messages, extra_headers={
                "x-request-id": f"cache-price-anthropic-{index}"},
            system=[{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}])
        server.openai().chat.completions.create(model="gpt-4o", messages=messages, prompt_cache_key="conversation-1",
                                                extra_headers={"x-request-id": f"cache-price-openai-{index}"})
    rows = [server.usage_row(f"cache-price-{flavour}-{index}") for flavour in ("anthropic", "openai")
            for index in range(2)]
    assert rows[0]["cache_creation_tokens"] > 0 and rows[1]["cache_read_tokens"] > 0
    assert rows[3]["cache_read_tokens"] > 0
    for row in rows:
        input_price, output_price, read_price, write_price = CACHE_PRICES[row["model"]]
        cached = row["cache_read_tokens"] + row["cache_creation_tokens"]
        expected = ((row["input_tokens"] - cached) * input_price + row["cache_read_tokens"] * read_price
                    + row["cache_creation_tokens"] * (write_price or input_price)
                    + row["output_tokens"] * output_price) / 1e6
        assert row["cost_usd"] == pytest.approx(expected), row


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
