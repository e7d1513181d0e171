"""SSE relays fed recorded upstream events: framing, usage capture, completeness, errors."""
import json

import orjson
import pytest

from app.errors import UpstreamError
from app.relay import open_relay, parse_event


def data(chunk) -> bytes:
    return b"data: " + (chunk if isinstance(chunk, bytes) else orjson.dumps(chunk))


def named(name: str, payload: dict) -> bytes:
    return b"event: " + name.encode() + b"\n" + data(payload)


def openai_chunk(content=None, finish=None, usage=None, choices=True):
    chunk = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "gpt-4o-2024-08-06",
             "choices": [{"index": 0, "delta": {"content": content} if content else {}, "finish_reason": finish}]
             if choices else []}
    if usage:
        chunk["usage"] = usage
    return chunk


USAGE = {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
OPENAI_STREAM = [data(openai_chunk("Hi")), data(openai_chunk(finish="stop")),
                 data(openai_chunk(usage=USAGE, choices=False)), data(b"[DONE]")]


def run(relay, events) -> list[dict | str]:
    out = b"".join(relay.feed(event) for event in events) + relay.finish()
    return [parse_event(block)[1].decode() for block in out.split(b"\n\n") if block]


@pytest.mark.parametrize("include_usage, chunks_out", [(False, 3), (True, 4)])
def test_openai_passthrough_usage_chunk_only_when_asked(include_usage, chunks_out):
    relay = open_relay("openai", "openai", "gpt-4o", include_usage)
    out = run(relay, OPENAI_STREAM)
    assert len(out) == chunks_out and out[-1] == "[DONE]"
    assert all(orjson.loads(item)["model"] == "gpt-4o" for item in out[:-1]), "the client's model name"
    assert (relay.usage.input_tokens, relay.usage.output_tokens) == (5, 2)


def test_openai_passthrough_forwards_unread_chunks_as_sent_with_the_clients_model():
    relay = open_relay("openai", "openai", "my-alias", True)
    content = b'data: {"id":"c1","model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"content":"caf\\u00e9 \\"model\\""},' \
              b'"finish_reason":null}],"usage":null}'
    events = [data(openai_chunk("Hi")), content, data(openai_chunk(finish="stop")),
              data(openai_chunk(usage=USAGE, choices=False)), data(b"[DONE]")]
    out = b"".join(relay.feed(event) for event in events) + relay.finish()
    assert content.replace(b"gpt-4o-2024-08-06", b"my-alias") + b"\n\n" in out, "only the model name changed"
    chunks = [orjson.loads(block[6:]) for block in out.split(b"\n\n") if block and block != b"data: [DONE]"]
    assert [chunk["model"] for chunk in chunks] == ["my-alias"] * 4
    assert chunks[1]["choices"][0]["delta"]["content"] == 'caf\u00e9 "model"'
    assert (relay.usage.input_tokens, relay.usage.output_tokens) == (5, 2), "usage read after forwarded chunks"


def test_openai_passthrough_parses_an_upstream_that_writes_json_with_spaces():
    relay = open_relay("openai", "openai", "my-alias", False)
    spaced = [b"data: " + json.dumps(openai_chunk(text)).encode() for text in ("Hi", "there")]
    out = run(relay, spaced + [b"data: " + json.dumps(openai_chunk(finish="stop")).encode()])
    assert [orjson.loads(item)["model"] for item in out[:-1]] == ["my-alias"] * 3


@pytest.mark.parametrize("client, events", [
    ("openai", [data(openai_chunk("Hi")), data(openai_chunk(finish="stop"))]),  # no [DONE]: still complete
    ("anthropic", [data(openai_chunk("Hi")), data(openai_chunk(finish="stop"))]),
])
def test_finish_reason_without_done_is_complete(client, events):
    relay = open_relay(client, "openai", "m", False)
    assert run(relay, events)  # finish() raises on a stream cut short


@pytest.mark.parametrize("pair, events", [
    (("openai", "openai"), [data(openai_chunk("Hi"))]),
    (("anthropic", "openai"), [data(openai_chunk("Hi"))]),
    (("anthropic", "anthropic"), [named("message_start", {"type": "message_start", "message": {
        "id": "msg_1", "model": "x", "usage": {"input_tokens": 3, "output_tokens": 0}}})]),
    (("openai", "anthropic"), [named("message_start", {"type": "message_start", "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "content": [], "model": "x",
        "usage": {"input_tokens": 3, "output_tokens": 0}}})]),
])
def test_a_stream_cut_short_is_an_error_not_a_clean_close(pair, events):
    relay = open_relay(*pair, "m", True)
    for event in events:
        relay.feed(event)
    with pytest.raises(UpstreamError) as excinfo:
        relay.finish()
    assert excinfo.value.code == "upstream_stream_truncated"


@pytest.mark.parametrize("pair, event", [
    (("openai", "openai"), data({"error": {"message": "overloaded"}})),
    (("openai", "openai"), data({**openai_chunk(), "error": {"message": "overloaded"}})),  # with a model field
    (("anthropic", "openai"), data({"error": {"message": "overloaded"}})),
    (("anthropic", "anthropic"), named("error", {"type": "error", "error": {"type": "overloaded_error",
                                                                              "message": "overloaded"}})),
    (("openai", "anthropic"), named("error", {"type": "error", "error": {"type": "overloaded_error",
                                                                           "message": "overloaded"}})),
])
def test_upstream_error_events_raise(pair, event):
    relay = open_relay(*pair, "m", True)
    if pair == ("openai", "openai"):
        relay.feed(data(openai_chunk("Hi")))  # after which the pass-through forwards most chunks unparsed
    with pytest.raises(UpstreamError) as excinfo:
        relay.feed(event)
    assert "overloaded" in excinfo.value.message


@pytest.mark.parametrize("pair, expected_prefix", [
    (("openai", "openai"), b"data: {\"error\""),
    (("anthropic", "openai"), b"event: error\ndata: {\"type\":\"error\""),
])
def test_error_event_in_the_clients_format(pair, expected_prefix):
    event = open_relay(*pair, "m", True).error_event(UpstreamError("boom", code="upstream_error"))
    assert event.startswith(expected_prefix) and event.endswith(b"\n\n")


def test_anthropic_passthrough_rewrites_model_and_sums_usage():
    relay = open_relay("anthropic", "anthropic", "claude-alias", False)
    events = [
        named("message_start", {"type": "message_start", "message": {
            "id": "msg_1", "model": "claude-3-5-sonnet-20241022",
            "usage": {"input_tokens": 10, "output_tokens": 1, "cache_read_input_tokens": 4}}}),
        b"event: ping\ndata: {\"type\": \"ping\"}",
        named("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                                "usage": {"output_tokens": 6}}),
        named("message_stop", {"type": "message_stop"}),
    ]
    out = run(relay, events)
    assert orjson.loads(out[0])["message"]["model"] == "claude-alias"
    assert out[1] == '{"type": "ping"}', "events Cortex does not read pass byte for byte"
    assert (relay.usage.input_tokens, relay.usage.cache_read_tokens, relay.usage.output_tokens) == (14, 4, 6)


# --- Gemini ---------------------------------------------------------------------------------------

def gemini_chunk(text: str, finish: str | None = None, usage: dict | None = None) -> dict:
    candidate = {"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return {"candidates": [candidate], **({"usageMetadata": usage} if usage else {})}


GEMINI_USAGE = {"promptTokenCount": 9, "cachedContentTokenCount": 4, "candidatesTokenCount": 2,
                "thoughtsTokenCount": 3}
GEMINI_STREAM = [data(gemini_chunk("Hel")), data(gemini_chunk("lo", "STOP", GEMINI_USAGE))]


def test_gemini_pass_through_forwards_events_and_reads_usage():
    relay = open_relay("gemini", "gemini", "gemini-x", include_usage=False)
    out = b"".join(relay.feed(raw) for raw in GEMINI_STREAM) + relay.finish()
    assert out == b"".join(raw + b"\n\n" for raw in GEMINI_STREAM)
    assert (relay.usage.input_tokens, relay.usage.output_tokens, relay.usage.cache_read_tokens) == (9, 5, 4)


@pytest.mark.parametrize("client", ["gemini", "openai", "anthropic"])
def test_a_gemini_stream_without_a_finish_reason_was_cut_short(client):
    relay = open_relay(client, "gemini", "m", include_usage=True)
    relay.feed(GEMINI_STREAM[0])
    with pytest.raises(UpstreamError) as raised:
        relay.finish()
    assert raised.value.code == "upstream_stream_truncated"


def test_a_gemini_error_chunk_raises_and_becomes_the_clients_error_event():
    relay = open_relay("openai", "gemini", "m", include_usage=True)
    with pytest.raises(UpstreamError) as raised:
        relay.feed(data({"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}))
    assert "overloaded" in raised.value.message
    gemini_client = open_relay("gemini", "openai", "m", include_usage=False)
    event = json.loads(gemini_client.error_event(raised.value)[6:])
    assert event == {"error": {"code": 502, "message": raised.value.message, "status": "UNAVAILABLE"}}
