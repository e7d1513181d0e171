"""OpenTelemetry GenAI spans exported over OTLP/HTTP, under real gunicorn, decoded by a loopback receiver.

One worker: provider health and the response cache are then the state every request meets.
"""
import json
import time

import pytest
import requests

from tests.cortex_server import ADMIN_KEY, base_config, free_port
from tests.mocks import Fail
from tests.otlp_receiver import OTLPReceiver

PRIVATE_KEY = "test-private-key-0004"
CLAUDE = "claude-3-5-sonnet-20241022"
EMBEDDING_MODEL = "text-embedding-3-small"
SPAN_KIND_CLIENT = 3
STATUS_ERROR = 2
COLLECTOR_AUTH = "Basic cGstbGYtdGVzdDpzay1sZi10ZXN0"


@pytest.fixture(scope="module")
def receiver():
    receiver = OTLPReceiver()
    yield receiver
    receiver.close()


def traced_config(endpoint: str, capture: bool = True):
    def make(mock_url, db_path):
        config = base_config(mock_url, db_path)
        config["api_keys"].append({"name": "private", "key": PRIVATE_KEY, "permissions": ["inference"],
                                   "capture_content": False})
        config["providers"][0]["models"].append({"id": EMBEDDING_MODEL, "kind": "embedding"})
        closed = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens: the connection is refused
        config["providers"].append({"name": "down", "type": "openai", "base_url": closed, "api_keys": ["sk-down"],
                                    "timeout_secs": 5, "connect_timeout_secs": 2, "models": [{"id": "gpt-4o"}]})
        config["virtual_models"] = [{"name": "resilient", "candidates": [
            {"provider": "down", "model": "gpt-4o"}, {"provider": "mockanthropic", "model": CLAUDE}]}]
        config["caching"] = {"response_cache_enabled": True}
        config["observability"] = {"otlp_endpoint": endpoint, "capture_content": capture, "service_name": "cortex-test",
                                   "schedule_delay_secs": 0.05, "otlp_headers": {"Authorization": COLLECTOR_AUTH}}
        return config
    return make


@pytest.fixture(scope="module")
def cortex(start_cortex, receiver):
    return start_cortex(traced_config(receiver.url), workers=1)


def request_id(response) -> str:
    return response.headers["x-request-id"]


def messages_of(span, name: str) -> list:
    return json.loads(span.attributes[name])


def test_openai_chat_span_has_the_genai_attributes(cortex, receiver):
    raw = cortex.openai().chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": "trace me, openai"}], max_tokens=50,
        temperature=0.3, top_p=0.9)
    span = receiver.span_of(request_id(raw))
    assert span.name == "chat gpt-4o"
    assert span.kind == SPAN_KIND_CLIENT
    assert span.scope == "cortex"
    assert span.resource["service.name"] == "cortex-test"
    attrs = span.attributes
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.request.model"] == attrs["gen_ai.response.model"] == "gpt-4o"
    assert attrs["gen_ai.request.max_tokens"] == 50
    assert attrs["gen_ai.request.temperature"] == pytest.approx(0.3)
    assert attrs["gen_ai.request.top_p"] == pytest.approx(0.9)
    reply = raw.parse()
    assert attrs["gen_ai.usage.input_tokens"] == reply.usage.prompt_tokens > 0
    assert attrs["gen_ai.usage.output_tokens"] == reply.usage.completion_tokens > 0
    assert attrs["gen_ai.response.finish_reasons"] == [reply.choices[0].finish_reason]
    assert attrs["server.address"] == "127.0.0.1"
    assert attrs["cortex.key.name"] == "admin"
    assert attrs["cortex.candidate"] == "mockai:gpt-4o"
    assert attrs["cortex.cache.hit"] is False
    assert "cortex.translation" not in attrs and "cortex.virtual_model" not in attrs
    assert span.status_code != STATUS_ERROR and span.parent_span_id == ""
    assert span.start_ns < span.end_ns
    # capture is on for this key: the messages are on the span in the semantic conventions' shape
    assert messages_of(span, "gen_ai.input.messages") == [
        {"role": "user", "parts": [{"type": "text", "content": "trace me, openai"}]}]
    output = messages_of(span, "gen_ai.output.messages")
    assert output[0]["parts"][0]["content"] == reply.choices[0].message.content
    assert receiver.requests[-1]["path"] == "/v1/traces"
    assert receiver.requests[-1]["headers"]["Authorization"] == COLLECTOR_AUTH


def test_anthropic_stream_span_records_time_to_first_token(cortex, receiver):
    with cortex.anthropic().messages.with_streaming_response.create(
            model=CLAUDE, max_tokens=64, stream=True,
            messages=[{"role": "user", "content": "trace me, anthropic stream"}]) as response:
        rid = response.headers["x-request-id"]
        events = list(response.iter_lines())
    assert any("message_stop" in line for line in events)
    span = receiver.span_of(rid)
    attrs = span.attributes
    assert span.name == f"chat {CLAUDE}"
    assert attrs["gen_ai.provider.name"] == "anthropic"
    assert attrs["cortex.stream"] is True
    assert attrs["gen_ai.usage.output_tokens"] > 0
    assert attrs["gen_ai.response.finish_reasons"] == ["end_turn"]
    first_token = span.event("gen_ai.first_token")
    assert first_token is not None and first_token[1]["gen_ai.response.time_to_first_token"] > 0
    assert span.start_ns <= first_token[2] <= span.end_ns


def test_translated_request_names_the_translation(cortex, receiver):
    raw = cortex.anthropic().messages.with_raw_response.create(
        model="gpt-4o", max_tokens=32, messages=[{"role": "user", "content": "trace me, translated"}])
    span = receiver.span_of(request_id(raw))
    assert span.attributes["cortex.translation"] == "anthropic->openai"
    assert span.attributes["gen_ai.provider.name"] == "openai"
    assert span.attributes["gen_ai.response.finish_reasons"] == [raw.parse().stop_reason]


def test_streamed_translated_failed_over_request_is_one_span(cortex, receiver, mock):
    """The issue's "done when": a translated, streamed, failed-over request with the GenAI attributes."""
    raw = cortex.openai().chat.completions.with_raw_response.create(
        model="resilient", stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "trace me, the hard way"}])
    chunks = list(raw.parse())
    assert chunks[-1].usage is not None
    span = receiver.span_of(request_id(raw))
    attrs = span.attributes
    assert span.name == "chat resilient"
    assert attrs["gen_ai.request.model"] == "resilient"
    assert attrs["gen_ai.response.model"] == CLAUDE
    assert attrs["cortex.virtual_model"] == "resilient"
    assert attrs["cortex.candidate"] == f"mockanthropic:{CLAUDE}"
    assert attrs["cortex.translation"] == "openai->anthropic"
    assert attrs["cortex.stream"] is True
    assert attrs["gen_ai.provider.name"] == "anthropic"
    assert attrs["gen_ai.usage.output_tokens"] == chunks[-1].usage.completion_tokens
    assert attrs["gen_ai.response.finish_reasons"] == [next(c.choices[0].finish_reason for c in chunks
                                                            if c.choices and c.choices[0].finish_reason)]
    failover = span.event("cortex.failover")
    assert failover is not None and failover[1]["cortex.candidate"] == "down:gpt-4o"
    assert span.event("gen_ai.first_token") is not None
    assert span.status_code != STATUS_ERROR


def test_cache_hit_is_marked(cortex, receiver):
    ask = dict(model="gpt-4o", messages=[{"role": "user", "content": "trace me twice"}])
    first = cortex.openai().chat.completions.with_raw_response.create(**ask)
    for _ in range(50):  # cache writes are queued off the request path
        time.sleep(0.1)
        second = cortex.openai().chat.completions.with_raw_response.create(**ask)
        if second.headers["x-cortex-cache"] == "hit":
            break
    assert second.headers["x-cortex-cache"] == "hit"
    assert receiver.span_of(request_id(first)).attributes["cortex.cache.hit"] is False
    assert receiver.span_of(request_id(second)).attributes["cortex.cache.hit"] is True


def test_client_traceparent_makes_the_span_its_child_and_goes_upstream(cortex, receiver, mock):
    trace_id, parent_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    raw = cortex.openai(default_headers={"traceparent": f"00-{trace_id}-{parent_id}-01",
                                         "tracestate": "vendor=x"}).chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": "trace me, as a child"}])
    span = receiver.span_of(request_id(raw))
    assert (span.trace_id, span.parent_span_id, span.trace_state) == (trace_id, parent_id, "vendor=x")
    upstream = mock.requests_to("/v1/chat/completions")[-1].headers["traceparent"]
    assert upstream == f"00-{trace_id}-{span.span_id}-01"


def test_invalid_traceparent_starts_a_new_trace(cortex, receiver, mock):
    raw = cortex.openai(default_headers={"traceparent": "00-" + "0" * 32 + "-00f067aa0ba902b7-01"}) \
        .chat.completions.with_raw_response.create(model="gpt-4o", messages=[{"role": "user", "content": "new trace"}])
    span = receiver.span_of(request_id(raw))
    assert span.parent_span_id == "" and span.trace_id != "0" * 32
    assert mock.requests_to("/v1/chat/completions")[-1].headers["traceparent"].split("-")[1] == span.trace_id


def test_embeddings_span_and_upstream_trace_context(cortex, receiver, mock):
    raw = cortex.openai().embeddings.with_raw_response.create(model=EMBEDDING_MODEL, input=["trace me, vectors"])
    span = receiver.span_of(request_id(raw))
    assert span.name == f"embeddings {EMBEDDING_MODEL}"
    assert span.attributes["gen_ai.operation.name"] == "embeddings"
    assert span.attributes["gen_ai.usage.input_tokens"] == raw.parse().usage.prompt_tokens > 0
    assert mock.requests_to("/v1/embeddings")[-1].headers["traceparent"] == f"00-{span.trace_id}-{span.span_id}-01"


def test_model_listing_makes_no_span(cortex, receiver):
    listed = requests.get(cortex.url + "/v1/models", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    traced = cortex.openai().chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": "after the listing"}])
    receiver.span_of(request_id(traced))  # exported after the listing would have been
    assert not [s for s in receiver.spans if s.attributes.get("cortex.request_id") == listed.headers["x-request-id"]]


def test_key_that_opts_out_never_has_its_messages_recorded(cortex, receiver):
    raw = cortex.anthropic(key=PRIVATE_KEY).messages.with_raw_response.create(
        model=CLAUDE, max_tokens=32, system="secret system prompt",
        messages=[{"role": "user", "content": "my private words"}])
    span = receiver.span_of(request_id(raw))
    assert span.attributes["cortex.key.name"] == "private"
    assert not any(name in span.attributes for name in
                   ("gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions"))
    assert "my private words" not in repr(span)


def test_upstream_failure_sets_error_status(cortex, receiver, mock):
    mock.script("/v1/chat/completions", Fail(500, "the provider broke"))
    response = requests.post(cortex.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                             json={"model": "gpt-4o", "messages": [{"role": "user", "content": "fail me"}]})
    assert response.status_code == 502
    span = receiver.span_of(request_id(response))
    assert span.status_code == STATUS_ERROR
    assert span.attributes["error.type"] == response.json()["error"]["code"]
    assert span.attributes["http.response.status_code"] == 502


def test_genai_metrics_next_to_prometheus(cortex):
    cortex.openai().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "metrics"}])
    text = requests.get(cortex.url + "/metrics", headers={"Authorization": f"Bearer {ADMIN_KEY}"}).text
    assert 'gen_ai_client_token_usage_bucket{gen_ai_operation_name="chat",gen_ai_provider_name="openai",' \
           'gen_ai_request_model="gpt-4o",gen_ai_token_type="input"' in text
    assert 'gen_ai_client_operation_duration_seconds_count{error_type="",gen_ai_operation_name="chat"' in text \
        or 'gen_ai_client_operation_duration_seconds_count{gen_ai_operation_name="chat"' in text
    assert 'cortex_otel_spans_total{outcome="exported"}' in text


def test_collector_down_changes_nothing_for_the_client(start_cortex, mock):
    """Spans to a collector that refuses connections are dropped and counted; the answer is the same."""
    down = start_cortex(traced_config(f"http://127.0.0.1:{free_port()}"), workers=1)
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "is anyone collecting?"}]}
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    for _ in range(3):
        response = requests.post(down.url + "/v1/chat/completions", headers=headers, json=body)
        assert response.status_code == 200
        assert response.json()["choices"][0]["message"]["content"]
    assert mock.requests_to("/v1/chat/completions")[-1].headers["traceparent"].startswith("00-")
    dropped = 0.0
    for _ in range(100):  # the exporter sends in the background: wait for its first failure
        metrics = requests.get(down.url + "/metrics", headers=headers).text
        lines = [line for line in metrics.splitlines()
                 if line.startswith('cortex_otel_spans_total{outcome="export_failed"}')]
        dropped = float(lines[0].split()[-1]) if lines else 0.0
        if dropped:
            break
        requests.get(down.url + "/health")
        time.sleep(0.1)
    assert dropped >= 1


def test_gemini_and_responses_surfaces_have_their_spans(cortex, receiver):
    generated = requests.post(f"{cortex.url}/gemini/v1beta/models/{CLAUDE}:generateContent",
                              headers={"x-goog-api-key": ADMIN_KEY}, timeout=30,
                              json={"contents": [{"role": "user", "parts": [{"text": "trace me, gemini"}]}],
                                    "generationConfig": {"temperature": 0.2}})
    assert generated.status_code == 200, generated.text
    attrs = receiver.span_of(request_id(generated)).attributes
    assert attrs["gen_ai.operation.name"] == "generate_content"
    assert attrs["gen_ai.request.model"] == CLAUDE and attrs["gen_ai.provider.name"] == "anthropic"
    assert attrs["cortex.translation"] == "gemini->anthropic"
    assert attrs["gen_ai.usage.output_tokens"] == generated.json()["usageMetadata"]["candidatesTokenCount"]

    responded = cortex.openai().responses.with_raw_response.create(model="gpt-4o", input="trace me, responses",
                                                                   max_output_tokens=40)
    span = receiver.span_of(request_id(responded))
    assert span.name == "chat gpt-4o"
    assert span.attributes["gen_ai.request.max_tokens"] == 40
    assert span.attributes["gen_ai.usage.output_tokens"] == responded.parse().usage.output_tokens > 0
