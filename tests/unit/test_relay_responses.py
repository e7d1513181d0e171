"""Relays of Responses streams: the pass-through (Responses client, Responses provider) and the
Responses side of translating relays."""
import orjson
import pytest

from app.errors import UpstreamError
from app.relay import open_relay, parse_event


def named(kind: str, **fields) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps({"type": kind, **fields})


COMPLETED = named("response.completed", sequence_number=3, response={
    "id": "resp_1", "model": "upstream-model", "status": "completed",
    "usage": {"input_tokens": 5, "output_tokens": 2, "input_tokens_details": {"cached_tokens": 1}}})


def test_passthrough_forwards_deltas_as_they_are_and_renames_the_model():
    relay = open_relay("responses", "responses", "client-model", False)
    created = relay.feed(named("response.created", sequence_number=0, response={"id": "resp_1",
                                                                                  "model": "upstream-model"}))
    assert orjson.loads(parse_event(created.strip())[1])["response"]["model"] == "client-model"
    delta = named("response.output_text.delta", sequence_number=1, item_id="m", output_index=0, content_index=0,
                  delta="Hi")
    assert relay.feed(delta) == delta + b"\n\n"
    done = relay.feed(COMPLETED)
    assert orjson.loads(parse_event(done.strip())[1])["response"]["model"] == "client-model"
    assert relay.finish() == b""
    assert (relay.usage.input_tokens, relay.usage.output_tokens, relay.usage.cache_read_tokens) == (5, 2, 1)


def test_passthrough_stream_cut_before_completion_is_an_error():
    relay = open_relay("responses", "responses", "m", False)
    relay.feed(named("response.created", sequence_number=0, response={"id": "r", "model": "x"}))
    with pytest.raises(UpstreamError) as raised:
        relay.finish()
    assert raised.value.code == "upstream_stream_truncated"


@pytest.mark.parametrize("event", [
    named("error", sequence_number=2, code="server_error", message="boom", param=None),
    named("response.failed", sequence_number=2, response={"id": "r", "model": "x",
                                                          "error": {"code": "server_error", "message": "boom"}})])
def test_upstream_failures_raise_with_the_provider_message(event):
    relay = open_relay("responses", "responses", "m", False)
    with pytest.raises(UpstreamError) as raised:
        relay.feed(event)
    assert "boom" in raised.value.message


def test_translating_relay_numbers_its_own_error_event_after_the_events_sent():
    relay = open_relay("responses", "anthropic", "claude", False, {"model": "claude"})
    sent = relay.feed(b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","model":"c",'
                      b'"usage":{"input_tokens":1,"output_tokens":0}}}')
    assert sent.count(b"sequence_number") == 2  # response.created, response.in_progress
    error = orjson.loads(parse_event(relay.error_event(UpstreamError("cut", code="upstream_x")).strip())[1])
    assert error == {"type": "error", "code": "upstream_x", "message": "cut", "param": None, "sequence_number": 2}
