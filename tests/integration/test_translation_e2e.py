"""Both SDKs against both provider kinds, through real gunicorn: the heart of unified access.

anthropic SDK → OpenAI-type provider, openai SDK → Anthropic-type provider, and each SDK to
its own kind (pass-through). Assertions cover what the client got and what the mock received.
"""
import json

import anthropic
import openai
import pytest
import requests

from tests.cortex_server import ADMIN_KEY
from tests.mocks import Reply, ResetMidStream
from tests.mocks.anthropic_wire import message_events
from tests.mocks.openai_wire import chat_completion_chunks

CLAUDE = "claude-3-5-sonnet-20241022"
PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
ANTHROPIC_TOOL = {"name": "get_weather", "description": "Weather in a city",
                  "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}}}
OPENAI_TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
                                                "parameters": ANTHROPIC_TOOL["input_schema"]}}


# --- anthropic SDK → OpenAI-type provider -----------------------------------------------------

def test_anthropic_client_to_openai_provider(cortex, mock):
    message = cortex.anthropic().messages.create(
        model="gpt-4o", max_tokens=64, system="Be terse.", stop_sequences=["END"], extra_body={"temperature": 0.5},
        messages=[{"role": "user", "content": [
            {"type": "text", "text": "what is this"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL}}]}])
    assert message.model == "gpt-4o" and message.id.startswith("msg_")
    assert message.content[0].text == "echo: what is this"
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    sent = mock.requests_to("/v1/chat/completions")[-1].json
    assert sent["messages"][0] == {"role": "system", "content": "Be terse."}
    parts = sent["messages"][1]["content"]
    assert parts[1]["image_url"]["url"] == f"data:image/png;base64,{PIXEL}"
    assert sent["max_tokens"] == 64 and sent["stop"] == ["END"] and sent["temperature"] == 0.5


def test_anthropic_client_streams_tool_call_from_openai_provider(cortex, mock):
    with cortex.anthropic().messages.stream(
            model="gpt-4o", max_tokens=64, tools=[ANTHROPIC_TOOL], tool_choice={"type": "any"},
            messages=[{"role": "user", "content": "weather in Paris?"}]) as stream:
        event_types = [event.type for event in stream]
        final = stream.get_final_message()
    tool_use = final.content[0]
    assert tool_use.type == "tool_use" and tool_use.name == "get_weather"
    assert tool_use.input == {"location": "Paris"}
    assert final.stop_reason == "tool_use"
    assert final.usage.output_tokens > 0
    assert event_types[0] == "message_start" and event_types[-1] == "message_stop"
    sent = mock.requests_to("/v1/chat/completions")[-1].json
    assert sent["tools"] == [OPENAI_TOOL] and sent["tool_choice"] == "required"
    assert sent["stream_options"] == {"include_usage": True}


def test_anthropic_client_tool_result_turn_reaches_openai_provider(cortex, mock):
    client = cortex.anthropic()
    first = client.messages.create(model="gpt-4o", max_tokens=64, tools=[ANTHROPIC_TOOL],
                                   messages=[{"role": "user", "content": "weather?"}])
    tool_use = first.content[0]
    second = client.messages.create(model="gpt-4o", max_tokens=64, tools=[ANTHROPIC_TOOL], messages=[
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "sunny"}]}])
    assert second.content[0].text.startswith("echo:")
    sent = mock.requests_to("/v1/chat/completions")[-1].json["messages"]
    assert sent[1]["tool_calls"][0]["id"] == tool_use.id
    assert sent[2] == {"role": "tool", "tool_call_id": tool_use.id, "content": "sunny"}


def test_anthropic_client_text_stream_from_openai_provider(cortex):
    with cortex.anthropic().messages.stream(model="gpt-4o", max_tokens=64,
                                            messages=[{"role": "user", "content": "one two three"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "echo: one two three"
    assert final.stop_reason == "end_turn" and final.usage.output_tokens == 4


def test_anthropic_count_tokens_estimated_for_openai_provider(cortex):
    count = cortex.anthropic().messages.count_tokens(
        model="gpt-4o", messages=[{"role": "user", "content": "a fairly short question about the weather"}])
    assert 5 <= count.input_tokens <= 40


def test_anthropic_models_list(cortex):
    page = cortex.anthropic().models.list()
    ids = [model.id for model in page.data]
    assert CLAUDE in ids and "gpt-4o" in ids
    claude = next(m for m in page.data if m.id == CLAUDE)
    assert claude.display_name == "Claude 3.5 Sonnet" and claude.type == "model"


# --- openai SDK → Anthropic-type provider -----------------------------------------------------

def test_openai_client_to_anthropic_provider(cortex, mock):
    completion = cortex.openai().chat.completions.create(
        model=CLAUDE, messages=[{"role": "system", "content": "Be terse."},
                                {"role": "user", "content": [
                                    {"type": "text", "text": "describe"},
                                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}],
        max_tokens=50)
    assert completion.model == CLAUDE and completion.id.startswith("chatcmpl-")
    assert completion.choices[0].message.content == "echo: describe"
    assert completion.choices[0].finish_reason == "stop"
    sent = mock.requests_to("/v1/messages")[-1]
    assert sent.json["system"] in ("Be terse.", [{"type": "text", "text": "Be terse.",
                                                  "cache_control": {"type": "ephemeral"}}])
    assert sent.json["messages"][0]["content"][1]["source"] == {"type": "url", "url": "https://example.com/cat.png"}
    assert sent.json["max_tokens"] == 50
    assert sent.headers["x-api-key"] == "sk-ant-mock-secret-2"
    assert sent.headers["anthropic-version"]


def test_openai_client_default_max_tokens_for_anthropic(cortex, mock):
    cortex.openai().chat.completions.create(model=CLAUDE, messages=[{"role": "user", "content": "hi"}])
    assert mock.requests_to("/v1/messages")[-1].json["max_tokens"] > 0


def test_openai_client_streams_tool_call_from_anthropic_provider(cortex, mock):
    with cortex.openai().chat.completions.stream(
            model=CLAUDE, messages=[{"role": "user", "content": "weather?"}], tools=[OPENAI_TOOL],
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
            stream_options={"include_usage": True}) as stream:
        final = stream.get_final_completion()
    call = final.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"location": "Paris"}
    assert final.choices[0].finish_reason == "tool_calls"
    assert final.usage.completion_tokens > 0
    sent = mock.requests_to("/v1/messages")[-1].json
    assert sent["tools"][0]["name"] == "get_weather"
    assert sent["tools"][0]["input_schema"] == ANTHROPIC_TOOL["input_schema"]
    assert sent["tool_choice"] == {"type": "tool", "name": "get_weather"}


def test_openai_client_text_stream_from_anthropic_provider(cortex):
    chunks = list(cortex.openai().chat.completions.create(
        model=CLAUDE, messages=[{"role": "user", "content": "alpha beta"}], stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: alpha beta"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.choices for c in chunks), "no usage chunk unless asked for"


# --- pass-through on the Anthropic surface ----------------------------------------------------

def test_anthropic_passthrough_stream_and_headers(cortex, mock):
    with cortex.anthropic().messages.stream(
            model=CLAUDE, max_tokens=32, messages=[{"role": "user", "content": "hello pass"}],
            extra_headers={"anthropic-beta": "prompt-caching-2024-07-31"}) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "echo: hello pass" and final.model == CLAUDE
    sent = mock.requests_to("/v1/messages")[-1]
    assert sent.headers["anthropic-beta"] == "prompt-caching-2024-07-31"


def test_anthropic_passthrough_keeps_fields_cortex_does_not_read(cortex, mock):
    edits = {"edits": [{"type": "clear_tool_uses_20250919"}]}
    cortex.anthropic().messages.create(model=CLAUDE, max_tokens=16, messages=[{"role": "user", "content": "x"}],
                                       extra_body={"context_management": edits, "inference_geo": "us", "top_k": 5},
                                       extra_headers={"anthropic-beta": "context-management-2025-06-27"})
    sent = mock.requests_to("/v1/messages")[-1].json
    assert sent["context_management"] == edits and sent["inference_geo"] == "us" and sent["top_k"] == 5


def test_count_tokens_passed_through_to_anthropic(cortex, mock):
    count = cortex.anthropic().messages.count_tokens(model=CLAUDE, messages=[{"role": "user", "content": "a b c"}])
    assert count.input_tokens == 3
    assert mock.requests_to("/v1/messages/count_tokens")[-1].json["model"] == CLAUDE


# --- prompt caching ----------------------------------------------------------------------------

def test_cache_control_breakpoints_injected_for_anthropic_upstream(cortex, mock):
    cortex.anthropic().messages.create(model=CLAUDE, max_tokens=16, system="You are helpful.", tools=[ANTHROPIC_TOOL],
                                       tool_choice={"type": "none"},
                                       messages=[{"role": "user", "content": "hello"}])
    sent = mock.requests_to("/v1/messages")[-1].json
    assert sent["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert sent["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert sent["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}


# --- errors, in each client's own format -------------------------------------------------------

def test_anthropic_surface_errors_use_anthropic_envelope(cortex):
    client = cortex.anthropic()
    with pytest.raises(anthropic.NotFoundError) as missing:
        client.messages.create(model="nope", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert missing.value.body["type"] == "error" and missing.value.body["error"]["type"] == "not_found_error"
    with pytest.raises(anthropic.AuthenticationError):
        cortex.anthropic("bad-key").messages.create(model=CLAUDE, max_tokens=5,
                                                    messages=[{"role": "user", "content": "x"}])
    response = requests.post(cortex.url + "/anthropic/v1/messages", headers={"x-api-key": ADMIN_KEY},
                             json={"model": CLAUDE, "messages": [{"role": "user", "content": "x"}]})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error" and "max_tokens" in response.json()["error"]["message"]


def _failing_openai_stream():
    chunks = chat_completion_chunks({"messages": [{"role": "user", "content": "a b c d e f"}]}, "gpt-4o")
    return ResetMidStream(chunks, after=3)


def test_mid_stream_failure_reaches_anthropic_client_as_error_event(cortex, mock):
    mock.script("/v1/chat/completions", _failing_openai_stream())
    with pytest.raises(anthropic.APIStatusError) as excinfo:
        with cortex.anthropic().messages.stream(model="gpt-4o", max_tokens=64,
                                                messages=[{"role": "user", "content": "x"}]) as stream:
            for _ in stream:
                pass
    assert "upstream" in str(excinfo.value).lower() or "provider" in str(excinfo.value).lower()


def test_mid_stream_failure_reaches_openai_client_as_error_event(cortex, mock):
    events = message_events({"messages": [{"role": "user", "content": "a b c d e f"}]}, CLAUDE)
    mock.script("/v1/messages", ResetMidStream(events, after=4))
    with pytest.raises(openai.APIError) as excinfo:
        for _ in cortex.openai().chat.completions.create(model=CLAUDE, stream=True,
                                                         messages=[{"role": "user", "content": "x"}]):
            pass
    assert "provider" in str(excinfo.value).lower()


def test_mid_stream_failure_on_passthrough_is_never_a_clean_close(cortex, mock):
    mock.script("/v1/chat/completions", _failing_openai_stream())
    body = requests.post(cortex.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                         json={"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "x"}]}).text
    assert "[DONE]" not in body
    last = [line for line in body.splitlines() if line.startswith("data:")][-1]
    assert json.loads(last[5:])["error"]["type"] == "provider_error"


# --- thinking / reasoning ----------------------------------------------------------------------

def test_anthropic_thinking_maps_to_reasoning_effort_on_a_reasoning_model(cortex, mock):
    cortex.anthropic().messages.create(model="mockai:o4-mini", max_tokens=20000,
                                       thinking={"type": "enabled", "budget_tokens": 8192},
                                       messages=[{"role": "user", "content": "think"}])
    sent = mock.requests_to("/v1/chat/completions")[-1].json
    assert sent["reasoning_effort"] == "medium" and sent["max_completion_tokens"] == 20000


def test_thinking_is_dropped_and_named_for_a_model_that_does_not_reason(cortex, mock):
    raw = cortex.anthropic().messages.with_raw_response.create(
        model="gpt-4o", max_tokens=2000, thinking={"type": "adaptive"}, output_config={"effort": "high"},
        messages=[{"role": "user", "content": "think"}])
    sent = mock.requests_to("/v1/chat/completions")[-1].json
    assert "reasoning_effort" not in sent and sent["max_tokens"] == 2000
    assert raw.headers["x-cortex-dropped"] == "thinking"


def test_reasoning_content_from_openai_provider_becomes_thinking_block(cortex, mock):
    mock.script("/v1/chat/completions", Reply({
        "id": "chatcmpl-r1", "object": "chat.completion", "created": 1, "model": "gpt-4o",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {
            "role": "assistant", "content": "42", "reasoning_content": "six times seven"}}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}}))
    message = cortex.anthropic().messages.create(model="gpt-4o", max_tokens=64,
                                                 messages=[{"role": "user", "content": "answer"}])
    assert [block.type for block in message.content] == ["thinking", "text"]
    assert message.content[0].thinking == "six times seven" and message.content[1].text == "42"


# --- what translation cannot carry is named ----------------------------------------------------

def test_dropped_fields_are_named_in_a_header_and_the_log_line(cortex, mock):
    raw = cortex.openai().chat.completions.with_raw_response.create(
        model=CLAUDE, messages=[{"role": "user", "content": "hi"}], logit_bias={"50256": -100}, seed=7,
        extra_headers={"x-request-id": "req-dropped-1"})
    assert raw.headers["x-cortex-dropped"] == "logit_bias,seed"
    sent = mock.requests_to("/v1/messages")[-1].json
    assert "logit_bias" not in sent and "seed" not in sent
    assert cortex.access_entry("req-dropped-1")["dropped"] == ["logit_bias", "seed"]


def test_nothing_is_named_when_nothing_is_dropped(cortex, mock):
    raw = cortex.openai().chat.completions.with_raw_response.create(
        model=CLAUDE, messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}])
    assert "x-cortex-dropped" not in raw.headers
    assert raw.parse().choices[0].message.refusal is None
