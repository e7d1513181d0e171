"""The /gemini surface and the gemini provider type under real gunicorn: auth, Google's error envelope,
both stream forms, usage and costs, failover, embeddings."""
import base64
import json
import struct

import pytest
import requests

from tests.clients.gemini_setup import GEMINI_EMBEDDING_MODEL, GEMINI_MODEL, gemini_provider
from tests.cortex_server import ADMIN_KEY, INFERENCE_KEY, LIMITED_KEY, base_config
from tests.mocks import Fail, Reply, ResetMidStream, Stream
from tests.mocks.openai_wire import embedding_vector

GENERATE = f"/v1beta/models/{GEMINI_MODEL}:generateContent"
STREAM = f"/v1beta/models/{GEMINI_MODEL}:streamGenerateContent"
HELLO = {"contents": [{"role": "user", "parts": [{"text": "hello there"}]}]}


def gemini_config(mock_url: str, db_path) -> dict:
    config = base_config(mock_url, db_path)
    config["providers"].append(gemini_provider(mock_url))
    config["virtual_models"] = [{"name": "gemini-then-gpt", "strategy": "fallback", "candidates": [
        {"provider": "mockgemini", "model": GEMINI_MODEL}, {"provider": "mockai", "model": "gpt-4o"}]}]
    return config


@pytest.fixture(scope="module")
def cortex(start_cortex):
    return start_cortex(gemini_config)


def post(cortex, model: str, body: dict, method: str = "generateContent", version: str = "v1beta",
         headers: dict | None = None, params: dict | None = None, key: str = ADMIN_KEY) -> requests.Response:
    headers = {"x-goog-api-key": key, **(headers or {})} if key else headers or {}
    return requests.post(f"{cortex.url}/gemini/{version}/models/{model}:{method}", json=body, headers=headers,
                         params=params, timeout=30)


@pytest.mark.parametrize("version", ["v1beta", "v1"])
@pytest.mark.parametrize("how", ["x-goog-api-key", "bearer", "query"])
def test_the_key_is_taken_three_ways(cortex, how, version):
    headers = {"x-goog-api-key": {"x-goog-api-key": ADMIN_KEY}, "bearer": {"Authorization": f"Bearer {ADMIN_KEY}"},
               "query": {}}[how]
    params = {"key": ADMIN_KEY} if how == "query" else None
    reply = post(cortex, "gpt-4o", HELLO, version=version, headers={**headers, "x-request-id": f"key-{how}-{version}"},
                 params=params, key=None)
    assert reply.status_code == 200, reply.text
    assert reply.json()["candidates"][0]["content"]["parts"] == [{"text": "echo: hello there"}]
    assert cortex.access_entry(f"key-{how}-{version}")["key"] == "admin"


def test_a_query_string_key_is_in_no_log_line(cortex):
    reply = post(cortex, "gpt-4o", HELLO, params={"key": ADMIN_KEY, "alt": "sse"}, key=None,
                 method="streamGenerateContent", headers={"x-request-id": "query-key-log"})
    assert reply.status_code == 200
    assert cortex.access_entry("query-key-log")["path"] == "/gemini/v1beta/models/gpt-4o:streamGenerateContent"
    assert ADMIN_KEY not in cortex.log()


@pytest.mark.parametrize(("case", "status", "google_status"), [
    ("no key", 401, "UNAUTHENTICATED"),
    ("model not allowed", 403, "PERMISSION_DENIED"),
    ("unknown model", 404, "NOT_FOUND"),
    ("no contents", 400, "INVALID_ARGUMENT"),
    ("upstream rejects", 400, "INVALID_ARGUMENT"),
    ("upstream down", 502, "UNAVAILABLE"),
])
def test_errors_come_in_googles_envelope(cortex, mock, case, status, google_status):
    model, body, key = "gpt-4o", HELLO, ADMIN_KEY
    if case == "no key":
        key = None
    elif case == "model not allowed":
        model, key = GEMINI_MODEL, INFERENCE_KEY
    elif case == "unknown model":
        model = "gemini-9-ultra"
    elif case == "no contents":
        body = {"contents": []}
    elif case == "upstream rejects":
        model, body = GEMINI_MODEL, {"contents": [{"role": "user", "parts": [{}]}]}
    else:
        mock.script("/v1/chat/completions", Fail(503))
    reply = post(cortex, model, body, key=key)
    assert reply.status_code == status
    error = reply.json()["error"]
    assert set(error) == {"code", "message", "status"}
    assert (error["code"], error["status"]) == (status, google_status)


def test_rate_limited_is_resource_exhausted(cortex):
    replies = [post(cortex, "gpt-4o", HELLO, key=LIMITED_KEY) for _ in range(5)]
    limited = [reply for reply in replies if reply.status_code == 429]
    assert limited and limited[0].json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert limited[0].headers["Retry-After"].isdigit()


@pytest.mark.parametrize("model", ["gpt-4o", "claude-3-5-sonnet-20241022", GEMINI_MODEL])
def test_the_stream_without_alt_is_one_json_array(cortex, model):
    reply = post(cortex, model, HELLO, method="streamGenerateContent")
    assert reply.status_code == 200 and reply.headers["Content-Type"].startswith("application/json")
    chunks = json.loads(reply.text)
    assert "".join(part["text"] for chunk in chunks for part in chunk["candidates"][0]["content"]["parts"]) \
        == "echo: hello there"
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    assert chunks[-1]["usageMetadata"]["promptTokenCount"] == 2


def test_sse_stream_frames_data_lines(cortex):
    reply = post(cortex, "claude-3-5-sonnet-20241022", HELLO, method="streamGenerateContent", params={"alt": "sse"})
    assert reply.headers["Content-Type"].startswith("text/event-stream")
    events = [json.loads(line[6:]) for line in reply.text.split("\n\n") if line.startswith("data: ")]
    assert events[-1]["candidates"][0]["finishReason"] == "STOP"


def test_usage_counts_cached_and_thinking_tokens(cortex, mock):
    usage = {"promptTokenCount": 1000, "cachedContentTokenCount": 600, "candidatesTokenCount": 20,
             "thoughtsTokenCount": 80, "totalTokenCount": 1100}
    answer = {"candidates": [{"content": {"role": "model", "parts": [{"text": "hi"}]}, "finishReason": "STOP"}],
              "usageMetadata": usage, "modelVersion": GEMINI_MODEL, "responseId": "r1"}
    mock.script(GENERATE, Reply(answer))
    reply = requests.post(f"{cortex.url}/v1/chat/completions", headers={"Authorization": f"Bearer {ADMIN_KEY}",
                                                                        "x-request-id": "gemini-usage"},
                          json={"model": GEMINI_MODEL, "messages": [{"role": "user", "content": "hi"}]}, timeout=30)
    assert reply.json()["usage"] == {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100,
                                     "prompt_tokens_details": {"cached_tokens": 600}}
    row = cortex.usage_row("gemini-usage")
    assert (row["input_tokens"], row["output_tokens"], row["cache_read_tokens"]) == (1000, 100, 600)
    assert row["provider"] == "mockgemini"
    assert row["cost_usd"] == pytest.approx((1000 * 2 + 100 * 12) / 1e6, rel=0.5)
    assert mock.requests_to(GENERATE)[-1].headers["x-goog-api-key"] == "gemini-mock-secret-4"


def test_what_the_provider_cannot_carry_is_named(cortex):
    body = {**HELLO, "safetySettings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_NONE"}],
            "tools": [{"googleSearch": {}}]}
    reply = post(cortex, "gpt-4o", body)
    assert reply.status_code == 200
    assert set(reply.headers["x-cortex-dropped"].split(",")) == {"safetySettings", "tools[].googleSearch"}


def test_a_failing_gemini_candidate_fails_over(cortex, mock):
    mock.script(GENERATE, Fail(503))
    reply = post(cortex, "gemini-then-gpt", HELLO)
    assert reply.status_code == 200 and reply.headers["x-cortex-provider"] == "mockai"


def test_count_tokens_and_models(cortex):
    counted = post(cortex, "claude-3-5-sonnet-20241022", {"contents": HELLO["contents"]}, method="countTokens")
    assert counted.status_code == 200 and counted.json()["totalTokens"] > 0
    listed = requests.get(f"{cortex.url}/gemini/v1beta/models", headers={"x-goog-api-key": ADMIN_KEY}, timeout=10)
    assert {"name": "models/gpt-4o", "version": "cortex", "displayName": "gpt-4o",
            "supportedGenerationMethods": ["generateContent", "streamGenerateContent", "countTokens"]} \
        in listed.json()["models"]
    found = requests.get(f"{cortex.url}/gemini/v1beta/models/gpt-4o", headers={"x-goog-api-key": ADMIN_KEY},
                         timeout=10)
    assert found.status_code == 200 and found.json()["name"] == "models/gpt-4o"
    missing = requests.get(f"{cortex.url}/gemini/v1/models/nope", headers={"x-goog-api-key": ADMIN_KEY}, timeout=10)
    assert missing.status_code == 404 and missing.json()["error"]["status"] == "NOT_FOUND"


@pytest.mark.parametrize("encoding", ["float", "base64"])
def test_embeddings_through_batch_embed_contents(cortex, mock, encoding):
    client = cortex.openai()
    result = client.embeddings.create(model=GEMINI_EMBEDDING_MODEL, input=["one", "two"], dimensions=8,
                                      encoding_format=encoding)
    vectors = [item.embedding if encoding == "float" else list(struct.unpack("<8f", base64.b64decode(item.embedding)))
               for item in result.data]
    assert vectors == [embedding_vector("one", 8), embedding_vector("two", 8)]
    sent = mock.requests_to(f"/v1beta/models/{GEMINI_EMBEDDING_MODEL}:batchEmbedContents")[-1].json
    assert sent["requests"][0] == {"model": f"models/{GEMINI_EMBEDDING_MODEL}", "outputDimensionality": 8,
                                   "content": {"parts": [{"text": "one"}]}}


def test_token_array_embeddings_are_refused(cortex):
    reply = requests.post(f"{cortex.url}/v1/embeddings", headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                          json={"model": GEMINI_EMBEDDING_MODEL, "input": [[1, 2, 3]]}, timeout=10)
    assert reply.status_code == 400 and reply.json()["error"]["param"] == "input"


@pytest.mark.parametrize("surface", ["gemini", "anthropic"])
def test_a_gemini_provider_counts_tokens_itself(cortex, mock, surface):
    if surface == "gemini":
        counted = post(cortex, GEMINI_MODEL, {"contents": HELLO["contents"]}, method="countTokens").json()["totalTokens"]
    else:
        counted = cortex.anthropic().messages.count_tokens(
            model=GEMINI_MODEL, messages=[{"role": "user", "content": "hello there"}]).input_tokens
    assert counted == 2
    sent = mock.requests_to(f"/v1beta/models/{GEMINI_MODEL}:countTokens")[-1].json
    assert sent["generateContentRequest"]["contents"] == [{"role": "user", "parts": [{"text": "hello there"}]}]


@pytest.mark.parametrize("model", ["gpt-4o", GEMINI_MODEL])
def test_a_stream_cut_short_ends_with_googles_error_chunk(cortex, mock, model):
    events = [{"choices": [{"index": 0, "delta": {"content": "Hel"}}]}] if model == "gpt-4o" else \
        ['data: {"candidates":[{"content":{"role":"model","parts":[{"text":"Hel"}]}}]}\r\n\r\n']
    mock.script("/v1/chat/completions" if model == "gpt-4o" else STREAM, ResetMidStream(events, after=1))
    reply = post(cortex, model, HELLO, method="streamGenerateContent", params={"alt": "sse"})
    chunks = [json.loads(line[6:]) for line in reply.text.split("\n\n") if line.startswith("data: ")]
    assert chunks[0]["candidates"][0]["content"]["parts"] == [{"text": "Hel"}]
    assert chunks[-1]["error"]["status"] == "UNAVAILABLE" and chunks[-1]["error"]["code"] == 502


def test_a_stream_is_listed_in_flight_and_a_vanished_client_is_recorded(cortex, mock):
    piece = 'data: {"candidates":[{"content":{"role":"model","parts":[{"text":"word "}]}}]}\r\n\r\n'
    mock.script(STREAM, Stream([piece] * 60, delay=0.1))
    response = requests.post(f"{cortex.url}/gemini/v1beta/models/{GEMINI_MODEL}:streamGenerateContent",
                             params={"alt": "sse"}, json=HELLO, stream=True,
                             headers={"x-goog-api-key": ADMIN_KEY, "x-request-id": "vanished-gemini"})
    lines = response.iter_lines()  # kept: a collected generator would close the response
    assert next(line for line in lines if line.startswith(b"data: "))
    inflight = requests.get(f"{cortex.url}/api/admin/inflight", headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                            timeout=10).json()
    assert [entry["uri"] for entry in inflight["requests"]] == [
        f"/gemini/v1beta/models/{GEMINI_MODEL}:streamGenerateContent"]
    response.raw._fp.fp.raw._sock.close()  # vanish without reading the rest
    response.close()
    row = cortex.usage_row("vanished-gemini")
    assert (row["status"], row["error_code"], row["provider"]) == ("error", "client_disconnected", "mockgemini")
