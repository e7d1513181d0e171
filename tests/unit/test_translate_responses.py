"""Non-streaming responses and token usage, in both directions."""

import json
import time

import pytest

from app.translate import Usage, translate_response, usage_from_anthropic, usage_from_openai
from app.translate.mappings import ANTHROPIC_TO_OPENAI_FINISH, OPENAI_TO_ANTHROPIC_STOP
from app.translate.usage import usage_to_anthropic, usage_to_openai


def anthropic_response_to_openai(resp, *, model):
    return translate_response(resp, "anthropic", "openai", model)


def openai_response_to_anthropic(resp, *, model):
    return translate_response(resp, "openai", "anthropic", model)

# --- usage ---------------------------------------------------------------------------------

USAGE_FROM_CASES = [
    ("openai plain", usage_from_openai, {"prompt_tokens": 15, "completion_tokens": 8, "total_tokens": 23}, Usage(15, 8)),
    (
        "openai with cached tokens",
        usage_from_openai,
        {"prompt_tokens": 2006, "completion_tokens": 300, "total_tokens": 2306,
         "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
         "completion_tokens_details": {"reasoning_tokens": 0}},
        Usage(input_tokens=2006, output_tokens=300, cache_read_tokens=1920),
    ),
    ("openai none", usage_from_openai, None, Usage()),
    (
        "anthropic adds cache read and creation to input",
        usage_from_anthropic,
        {"input_tokens": 21, "cache_creation_input_tokens": 188086, "cache_read_input_tokens": 1000, "output_tokens": 393,
         "cache_creation": {"ephemeral_5m_input_tokens": 188086, "ephemeral_1h_input_tokens": 0}, "service_tier": "standard"},
        Usage(input_tokens=21 + 188086 + 1000, output_tokens=393, cache_read_tokens=1000, cache_creation_tokens=188086),
    ),
    ("anthropic with nulls", usage_from_anthropic, {"input_tokens": None, "output_tokens": 5, "cache_read_input_tokens": None}, Usage(0, 5)),
]


@pytest.mark.parametrize(("name", "convert", "raw", "expected"), USAGE_FROM_CASES, ids=[c[0] for c in USAGE_FROM_CASES])
def test_usage_from(name, convert, raw, expected):
    assert convert(raw) == expected


def test_usage_to_openai_counts_all_input():
    usage = Usage(input_tokens=1200, output_tokens=50, cache_read_tokens=1000, cache_creation_tokens=100)
    assert usage.total_tokens == 1250
    assert usage_to_openai(usage) == {
        "prompt_tokens": 1200, "completion_tokens": 50, "total_tokens": 1250, "prompt_tokens_details": {"cached_tokens": 1000},
    }


def test_usage_to_anthropic_excludes_cached_input():
    usage = Usage(input_tokens=1200, output_tokens=50, cache_read_tokens=1000, cache_creation_tokens=100)
    assert usage_to_anthropic(usage) == {
        "input_tokens": 100, "output_tokens": 50, "cache_read_input_tokens": 1000, "cache_creation_input_tokens": 100,
    }


@pytest.mark.parametrize("raw", [
    {"input_tokens": 7, "output_tokens": 3, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0},
    {"input_tokens": 21, "output_tokens": 393, "cache_read_input_tokens": 1000, "cache_creation_input_tokens": 188086},
])
def test_anthropic_usage_round_trip(raw):
    assert usage_to_anthropic(usage_from_anthropic(raw)) == raw


def test_openai_usage_round_trip():
    raw = {"prompt_tokens": 2006, "completion_tokens": 300, "total_tokens": 2306, "prompt_tokens_details": {"cached_tokens": 1920}}
    assert usage_to_openai(usage_from_openai(raw)) == raw


# --- stop reasons ----------------------------------------------------------------------

@pytest.mark.parametrize(("stop_reason", "finish_reason"), [
    ("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"), ("tool_use", "tool_calls"),
    ("refusal", "content_filter"), ("pause_turn", "stop"), ("model_context_window_exceeded", "length"),
])
def test_anthropic_to_openai_finish(stop_reason, finish_reason):
    assert ANTHROPIC_TO_OPENAI_FINISH[stop_reason] == finish_reason
    resp = {"id": "msg_1", "content": [{"type": "text", "text": "x"}], "stop_reason": stop_reason, "usage": {}}
    assert anthropic_response_to_openai(resp, model="m")["choices"][0]["finish_reason"] == finish_reason


@pytest.mark.parametrize(("finish_reason", "stop_reason"), [
    ("stop", "end_turn"), ("length", "max_tokens"), ("tool_calls", "tool_use"), ("content_filter", "refusal"),
    ("function_call", "tool_use"),
])
def test_openai_to_anthropic_stop(finish_reason, stop_reason):
    assert OPENAI_TO_ANTHROPIC_STOP[finish_reason] == stop_reason
    resp = {"id": "chatcmpl-1", "choices": [{"index": 0, "message": {"role": "assistant", "content": "x"}, "finish_reason": finish_reason}]}
    assert openai_response_to_anthropic(resp, model="m")["stop_reason"] == stop_reason


# --- Anthropic message -> chat.completion ----------------------------------------------------

ANTHROPIC_RESPONSE_CASES = [
    (
        "text",
        {
            "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
            "content": [{"type": "text", "text": "The capital of France is Paris."}],
            "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": 15, "output_tokens": 8, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0},
        },
        {
            "id": "chatcmpl-01XFDUDYJgAACzvnptvVoYEL",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "The capital of France is Paris.",
                                                     "refusal": None},
                         "logprobs": None, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 15, "completion_tokens": 8, "total_tokens": 23, "prompt_tokens_details": {"cached_tokens": 0}},
        },
    ),
    (
        "thinking, text split by citations, two tool calls",
        {
            "id": "msg_02", "type": "message", "role": "assistant", "model": "claude",
            "content": [
                {"type": "thinking", "thinking": "User wants two cities.", "signature": "EqQBCgIYAhIM"},
                {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"},
                {"type": "text", "text": "Checking "},
                {"type": "text", "text": "both.", "citations": [{"type": "char_location", "cited_text": "x"}]},
                {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"location": "Paris"}},
                {"type": "tool_use", "id": "toolu_02", "name": "get_weather", "input": {"location": "Rome", "unit": "c"}},
            ],
            "stop_reason": "tool_use", "stop_sequence": None,
            "usage": {"input_tokens": 100, "output_tokens": 80, "cache_read_input_tokens": 400, "cache_creation_input_tokens": 50},
        },
        {
            "id": "chatcmpl-02",
            "choices": [{
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Checking both.",
                    "refusal": None,
                    "reasoning_content": "User wants two cities.",
                    "reasoning_details": [  # signed, for the next turn (OpenRouter's form)
                        {"type": "reasoning.text", "text": "User wants two cities.", "signature": "EqQBCgIYAhIM",
                         "format": "anthropic-claude-v1", "index": 0},
                        {"type": "reasoning.encrypted", "data": "EmwKAhgBEgy3va3pzix", "format": "anthropic-claude-v1",
                         "index": 1},
                    ],
                    "tool_calls": [
                        {"id": "toolu_01", "type": "function", "function": {"name": "get_weather", "arguments": '{"location":"Paris"}'}},
                        {"id": "toolu_02", "type": "function", "function": {"name": "get_weather", "arguments": '{"location":"Rome","unit":"c"}'}},
                    ],
                },
                "logprobs": None,
                "finish_reason": "tool_calls",
            }],
            "usage": {"prompt_tokens": 550, "completion_tokens": 80, "total_tokens": 630, "prompt_tokens_details": {"cached_tokens": 400}},
        },
    ),
    (
        "tool call only: content is null",
        {
            "id": "msg_03", "type": "message", "role": "assistant", "model": "claude",
            "content": [{"type": "tool_use", "id": "toolu_9", "name": "list_files", "input": {}}],
            "stop_reason": "tool_use", "usage": {"input_tokens": 10, "output_tokens": 5},
        },
        {
            "id": "chatcmpl-03",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": None, "refusal": None, "tool_calls": [
                {"id": "toolu_9", "type": "function", "function": {"name": "list_files", "arguments": "{}"}}]},
                "logprobs": None, "finish_reason": "tool_calls"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15, "prompt_tokens_details": {"cached_tokens": 0}},
        },
    ),
]


@pytest.mark.parametrize(("name", "resp", "expected"), ANTHROPIC_RESPONSE_CASES, ids=[c[0] for c in ANTHROPIC_RESPONSE_CASES])
def test_anthropic_response_to_openai(name, resp, expected):
    before = int(time.time())
    result = anthropic_response_to_openai(resp, model="claude-via-cortex")
    created = result.pop("created")
    assert before <= created <= int(time.time()) + 1
    assert result == {"object": "chat.completion", "model": "claude-via-cortex", **expected}


# --- chat.completion -> Anthropic message ------------------------------------------------------

OPENAI_RESPONSE_CASES = [
    (
        "text",
        {
            "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT", "object": "chat.completion", "created": 1741569952, "model": "gpt-4o-2024-08-06",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello! How can I help?", "refusal": None, "annotations": []},
                         "logprobs": None, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29,
                      "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0}},
            "system_fingerprint": "fp_44709d6fcb",
        },
        {
            "id": "msg_B9MBs8CjcvOU2jLn4n570S5qMJKcT",
            "content": [{"type": "text", "text": "Hello! How can I help?"}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 19, "output_tokens": 10, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0},
        },
    ),
    (
        "reasoning first, text, parallel tool calls, cached prompt",
        {
            "id": "chatcmpl-abc", "object": "chat.completion", "created": 1, "model": "deepseek-reasoner",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": "Let me look.", "reasoning_content": "Need the weather tool.",
                "tool_calls": [
                    {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": '{"location": "Paris"}'}},
                    {"id": "call_b", "type": "function", "function": {"name": "get_weather", "arguments": ""}},
                ]}}],
            "usage": {"prompt_tokens": 1200, "completion_tokens": 40, "total_tokens": 1240, "prompt_tokens_details": {"cached_tokens": 1024}},
        },
        {
            "id": "msg_abc",
            "content": [
                {"type": "thinking", "thinking": "Need the weather tool.", "signature": ""},
                {"type": "text", "text": "Let me look."},
                {"type": "tool_use", "id": "call_a", "name": "get_weather", "input": {"location": "Paris"}},
                {"type": "tool_use", "id": "call_b", "name": "get_weather", "input": {}},
            ],
            "stop_reason": "tool_use",
            "usage": {"input_tokens": 176, "output_tokens": 40, "cache_read_input_tokens": 1024, "cache_creation_input_tokens": 0},
        },
    ),
    (
        "tool calls reported with finish_reason stop still read as tool_use",
        {
            "id": "chatcmpl-q", "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": None,
                "tool_calls": [{"id": "call_x", "type": "function", "function": {"name": "ls", "arguments": "{}"}}]}}],
        },
        {
            "id": "msg_q",
            "content": [{"type": "tool_use", "id": "call_x", "name": "ls", "input": {}}],
            "stop_reason": "tool_use",
            "usage": {"input_tokens": 0, "output_tokens": 0, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0},
        },
    ),
    (
        "refusal becomes text",
        {
            "id": "chatcmpl-r", "choices": [{"index": 0, "finish_reason": "content_filter",
                                             "message": {"role": "assistant", "content": None, "refusal": "I can't help with that."}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11},
        },
        {
            "id": "msg_r",
            "content": [{"type": "text", "text": "I can't help with that."}],
            "stop_reason": "refusal",
            "usage": {"input_tokens": 5, "output_tokens": 6, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0},
        },
    ),
]


@pytest.mark.parametrize(("name", "resp", "expected"), OPENAI_RESPONSE_CASES, ids=[c[0] for c in OPENAI_RESPONSE_CASES])
def test_openai_response_to_anthropic(name, resp, expected):
    result = openai_response_to_anthropic(resp, model="gpt-via-cortex")
    assert result == {"type": "message", "role": "assistant", "model": "gpt-via-cortex", "stop_sequence": None, **expected}


def test_missing_ids_are_generated_with_the_right_prefix():
    assert anthropic_response_to_openai({"content": []}, model="m")["id"].startswith("chatcmpl-")
    assert openai_response_to_anthropic({"choices": []}, model="m")["id"].startswith("msg_")


def test_response_round_trip_keeps_content():
    original = OPENAI_RESPONSE_CASES[1][1]
    back = anthropic_response_to_openai(openai_response_to_anthropic(original, model="m"), model="m")
    message = back["choices"][0]["message"]
    source = original["choices"][0]["message"]
    assert back["id"] == original["id"]
    assert message["content"] == source["content"]
    assert message["reasoning_content"] == source["reasoning_content"]
    assert [json.loads(c["function"]["arguments"]) for c in message["tool_calls"]] == [{"location": "Paris"}, {}]
    assert back["usage"] == original["usage"]
    assert back["choices"][0]["finish_reason"] == "tool_calls"
