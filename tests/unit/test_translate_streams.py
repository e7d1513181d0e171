"""Stream translators fed recorded upstream sequences; the exact output sequence is asserted."""

import json

import pytest

from app.translate import Usage, stream_translation


def AnthropicStreamToOpenAI(*, model, include_usage):
    return stream_translation("anthropic", "openai", model=model, include_usage=include_usage)


class OpenAIStreamToAnthropic:
    """The OpenAI-provider -> Anthropic-client translation, giving (event name, data) pairs as framed."""

    def __init__(self, *, model):
        self._translation = stream_translation("openai", "anthropic", model=model, include_usage=True)

    @property
    def usage(self):
        return self._translation.usage

    def feed(self, chunk):
        return [(event["type"], event) for event in self._translation.feed(chunk)]

    def finish(self):
        return [(event["type"], event) for event in self._translation.finish()]

# --- recorded Anthropic streams (event data as sent after `data:`) ----------------------------

ANTHROPIC_TEXT_STREAM = [
    {"type": "message_start", "message": {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant", "content": [],
        "model": "claude-sonnet-4-5-20250929", "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 25, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 100, "output_tokens": 1}}},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "ping"},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "!"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": 15}},
    {"type": "message_stop"},
]

WEATHER_ARGS = [{"location": "San Francisco, CA", "unit": "fahrenheit"}, {"location": "Tokyo"}]

ANTHROPIC_THINKING_AND_TOOLS_STREAM = [
    {"type": "message_start", "message": {
        "id": "msg_014p7gG3wDgGV9EUtLvnow3U", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "stop_sequence": None, "stop_reason": None, "content": [],
        "usage": {"input_tokens": 472, "output_tokens": 2}}},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Two cities, "}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "two calls."}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3h"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Okay, let's check both."}},
    {"type": "content_block_stop", "index": 1},
    {"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "name": "get_weather", "input": {}}},
    {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": ""}},
    {"type": "ping"},
    {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "{\"location\":"}},
    {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": " \"San Francisco, CA\", "}},
    {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "\"unit\": \"fahrenheit\"}"}},
    {"type": "content_block_stop", "index": 2},
    {"type": "content_block_start", "index": 3, "content_block": {"type": "tool_use", "id": "toolu_02", "name": "get_weather", "input": {}}},
    {"type": "content_block_delta", "index": 3, "delta": {"type": "input_json_delta", "partial_json": "{\"locat"}},
    {"type": "content_block_delta", "index": 3, "delta": {"type": "input_json_delta", "partial_json": "ion\": \"Tokyo\"}"}},
    {"type": "content_block_stop", "index": 3},
    {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
     "usage": {"input_tokens": 472, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 89}},
    {"type": "message_stop"},
]


def summarize_openai(chunk: dict) -> tuple:
    """A compact description of one OpenAI chunk: what a client would act on."""
    if "error" in chunk:
        return ("error", chunk["error"]["type"], chunk["error"]["code"], chunk["error"]["message"])
    if not chunk["choices"]:
        return ("usage", chunk["usage"]["prompt_tokens"], chunk["usage"]["completion_tokens"])
    choice = chunk["choices"][0]
    delta = choice["delta"]
    if choice["finish_reason"]:
        assert delta == {}
        return ("finish", choice["finish_reason"])
    parts = []
    if "role" in delta:
        parts.append(("role", delta["role"]))
    if "content" in delta:
        parts.append(("content", delta["content"]))
    if "reasoning_content" in delta:
        parts.append(("reasoning", delta["reasoning_content"]))
    for detail in delta.get("reasoning_details", []):
        if detail.get("signature"):
            parts.append(("signature", detail["index"], detail["signature"]))
        elif detail["type"] == "reasoning.encrypted":
            parts.append(("redacted", detail["index"], detail["data"]))
        else:  # a piece of the thinking text, also sent as reasoning_content
            assert detail["text"] == delta["reasoning_content"]
    for call in delta.get("tool_calls", []):
        if "id" in call:
            assert call["type"] == "function" and call["function"]["arguments"] == ""
            parts.append(("tool_call", call["index"], call["id"], call["function"]["name"]))
        else:
            parts.append(("arguments", call["index"], call["function"]["arguments"]))
    return tuple(parts)


def assert_openai_envelopes(chunks: list[dict], *, include_usage: bool, completion_id: str):
    for chunk in chunks:
        if "error" in chunk:
            continue
        assert chunk["id"] == completion_id
        assert chunk["object"] == "chat.completion.chunk"
        assert chunk["model"] == "gpt-4o"
        assert isinstance(chunk["created"], int)
        if include_usage and chunk["choices"]:
            assert chunk["usage"] is None
        if not include_usage:
            assert "usage" not in chunk
    assert len({chunk.get("created") for chunk in chunks if "error" not in chunk}) <= 1


def run_anthropic(events, *, include_usage):
    translator = AnthropicStreamToOpenAI(model="gpt-4o", include_usage=include_usage)
    chunks = [chunk for event in events for chunk in translator.feed(event)]
    chunks += translator.finish()
    return translator, chunks


def test_anthropic_text_stream_with_usage():
    translator, chunks = run_anthropic(ANTHROPIC_TEXT_STREAM, include_usage=True)
    assert [summarize_openai(c) for c in chunks] == [
        (("role", "assistant"), ("content", "")),
        (("content", "Hello"),),
        (("content", "!"),),
        ("finish", "stop"),
        ("usage", 125, 15),
    ]
    assert_openai_envelopes(chunks, include_usage=True, completion_id="chatcmpl-01XFDUDYJgAACzvnptvVoYEL")
    assert chunks[-1]["usage"] == {"prompt_tokens": 125, "completion_tokens": 15, "total_tokens": 140,
                                   "prompt_tokens_details": {"cached_tokens": 100}}
    assert translator.usage == Usage(input_tokens=125, output_tokens=15, cache_read_tokens=100)


def test_anthropic_thinking_and_parallel_tool_calls():
    translator, chunks = run_anthropic(ANTHROPIC_THINKING_AND_TOOLS_STREAM, include_usage=False)
    assert [summarize_openai(c) for c in chunks] == [
        (("role", "assistant"), ("content", "")),
        (("reasoning", "Two cities, "),),
        (("reasoning", "two calls."),),
        (("signature", 0, "EqQBCgIYAhIM1gbcDa9GJwZA2b3h"),),
        (("content", "Okay, let's check both."),),
        (("tool_call", 0, "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather"),),
        (("arguments", 0, "{\"location\":"),),
        (("arguments", 0, " \"San Francisco, CA\", "),),
        (("arguments", 0, "\"unit\": \"fahrenheit\"}"),),
        (("tool_call", 1, "toolu_02", "get_weather"),),
        (("arguments", 1, "{\"locat"),),
        (("arguments", 1, "ion\": \"Tokyo\"}"),),
        ("finish", "tool_calls"),
    ]
    assert_openai_envelopes(chunks, include_usage=False, completion_id="chatcmpl-014p7gG3wDgGV9EUtLvnow3U")
    for index, expected in enumerate(WEATHER_ARGS):
        fragments = [call["function"]["arguments"] for c in chunks if c["choices"]
                     for call in c["choices"][0]["delta"].get("tool_calls", []) if call["index"] == index]
        assert json.loads("".join(fragments)) == expected
    assert translator.usage == Usage(input_tokens=472, output_tokens=89)


def test_anthropic_usage_chunk_is_sent_once_at_message_stop():
    translator = AnthropicStreamToOpenAI(model="gpt-4o", include_usage=True)
    chunks = [chunk for event in ANTHROPIC_TEXT_STREAM for chunk in translator.feed(event)]
    assert summarize_openai(chunks[-1]) == ("usage", 125, 15)
    assert translator.finish() == []


def test_anthropic_finish_without_message_stop_does_not_raise():
    translator = AnthropicStreamToOpenAI(model="gpt-4o", include_usage=True)
    chunks = [chunk for event in ANTHROPIC_TEXT_STREAM[:4] for chunk in translator.feed(event)]
    tail = translator.finish()
    assert [summarize_openai(c) for c in tail] == [("usage", 125, 1)]
    assert summarize_openai(chunks[-1]) == (("content", "Hello"),)


def test_anthropic_finish_on_empty_stream():
    assert AnthropicStreamToOpenAI(model="gpt-4o", include_usage=False).finish() == []
    [usage_chunk] = AnthropicStreamToOpenAI(model="gpt-4o", include_usage=True).finish()
    assert usage_chunk["choices"] == [] and usage_chunk["usage"]["total_tokens"] == 0


def test_anthropic_error_event_becomes_openai_error_object():
    translator = AnthropicStreamToOpenAI(model="gpt-4o", include_usage=False)
    events = ANTHROPIC_TEXT_STREAM[:4] + [{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}]
    chunks = [chunk for event in events for chunk in translator.feed(event)]
    assert chunks[-1] == {"error": {"message": "Overloaded", "type": "provider_error", "code": "upstream_529",
                                   "param": None}}


def test_anthropic_unknown_events_and_server_tool_blocks_produce_nothing():
    translator = AnthropicStreamToOpenAI(model="gpt-4o", include_usage=False)
    translator.feed(ANTHROPIC_TEXT_STREAM[0])
    assert translator.feed({"type": "content_block_start", "index": 0,
                            "content_block": {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}}) == []
    assert translator.feed({"type": "content_block_delta", "index": 0,
                            "delta": {"type": "input_json_delta", "partial_json": "{\"query\": \"x\"}"}}) == []
    assert translator.feed({"type": "some_future_event"}) == []


# --- recorded OpenAI streams (parsed `data:` lines, [DONE] excluded) --------------------------

def openai_chunk(delta=None, finish_reason=None, *, usage=None, choices=True):
    chunk = {"id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT", "object": "chat.completion.chunk", "created": 1741569952,
             "model": "gpt-4o-2024-08-06", "system_fingerprint": "fp_44709d6fcb", "usage": usage,
             "choices": [{"index": 0, "delta": delta or {}, "logprobs": None, "finish_reason": finish_reason}] if choices else []}
    return chunk


OPENAI_USAGE = {"prompt_tokens": 1200, "completion_tokens": 35, "total_tokens": 1235,
                "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0}}

OPENAI_TEXT_STREAM = [
    openai_chunk({"role": "assistant", "content": "", "refusal": None}),
    openai_chunk({"content": "Hello"}),
    openai_chunk({"content": "!"}),
    openai_chunk({}, "stop"),
    openai_chunk(choices=False, usage=OPENAI_USAGE),
]

OPENAI_PARALLEL_TOOLS_STREAM = [
    openai_chunk({"role": "assistant", "content": None, "tool_calls": [
        {"index": 0, "id": "call_DdmO9pD3xa9XTPNJ32zg2hcA", "type": "function", "function": {"name": "get_weather", "arguments": ""}}],
        "refusal": None}),
    openai_chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{\"lo"}}]}),
    openai_chunk({"tool_calls": [{"index": 0, "function": {"arguments": "cation\": \"San Francisco, CA\", "}}]}),
    openai_chunk({"tool_calls": [{"index": 0, "function": {"arguments": "\"unit\": \"fahrenheit\"}"}}]}),
    openai_chunk({"tool_calls": [
        {"index": 1, "id": "call_ABC", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}),
    openai_chunk({"tool_calls": [{"index": 1, "function": {"arguments": "{\"location\": \"Tokyo\"}"}}]}),
    openai_chunk({}, "tool_calls"),
    openai_chunk(choices=False, usage=OPENAI_USAGE),
]


def summarize_anthropic(name: str, data: dict) -> tuple:
    assert data["type"] == name
    if name == "content_block_start":
        block = data["content_block"]
        detail = (block["id"], block["name"]) if block["type"] == "tool_use" else ()
        return (name, data["index"], block["type"], *detail)
    if name == "content_block_delta":
        delta = data["delta"]
        value = delta.get("text", delta.get("thinking", delta.get("partial_json")))
        return (name, data["index"], delta["type"], value)
    if name == "content_block_stop":
        return (name, data["index"])
    if name == "message_delta":
        return (name, data["delta"]["stop_reason"])
    return (name,)


def run_openai(chunks):
    translator = OpenAIStreamToAnthropic(model="claude-sonnet-4-5")
    events = [event for chunk in chunks for event in translator.feed(chunk)]
    events += translator.finish()
    return translator, events


def assert_block_grammar(events):
    """Each block starts once, stops exactly once, and only deltas for started blocks appear."""
    started, stopped = [], []
    for name, data in events:
        if name == "content_block_start":
            started.append(data["index"])
        elif name == "content_block_stop":
            stopped.append(data["index"])
        elif name == "content_block_delta":
            assert data["index"] in started
    assert started == stopped == list(range(len(started)))


def test_openai_text_stream():
    translator, events = run_openai(OPENAI_TEXT_STREAM)
    assert [summarize_anthropic(*e) for e in events] == [
        ("message_start",),
        ("content_block_start", 0, "text"),
        ("content_block_delta", 0, "text_delta", "Hello"),
        ("content_block_delta", 0, "text_delta", "!"),
        ("content_block_stop", 0),
        ("message_delta", "end_turn"),
        ("message_stop",),
    ]
    assert events[0][1]["message"] == {
        "id": "msg_B9MBs8CjcvOU2jLn4n570S5qMJKcT", "type": "message", "role": "assistant", "content": [],
        "model": "claude-sonnet-4-5", "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 0, "output_tokens": 0},
    }
    assert events[1][1]["content_block"] == {"type": "text", "text": ""}
    assert events[-2][1] == {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"input_tokens": 176, "output_tokens": 35, "cache_read_input_tokens": 1024, "cache_creation_input_tokens": 0},
    }
    assert translator.usage == Usage(input_tokens=1200, output_tokens=35, cache_read_tokens=1024)
    assert_block_grammar(events)


def test_openai_finish_reason_waits_for_the_usage_chunk():
    translator = OpenAIStreamToAnthropic(model="m")
    fed = [event for chunk in OPENAI_TEXT_STREAM for event in translator.feed(chunk)]
    assert "message_delta" not in [name for name, _ in fed]
    assert [name for name, _ in translator.finish()] == ["content_block_stop", "message_delta", "message_stop"]


def test_openai_parallel_tool_calls():
    translator, events = run_openai(OPENAI_PARALLEL_TOOLS_STREAM)
    assert [summarize_anthropic(*e) for e in events] == [
        ("message_start",),
        ("content_block_start", 0, "tool_use", "call_DdmO9pD3xa9XTPNJ32zg2hcA", "get_weather"),
        ("content_block_delta", 0, "input_json_delta", "{\"lo"),
        ("content_block_delta", 0, "input_json_delta", "cation\": \"San Francisco, CA\", "),
        ("content_block_delta", 0, "input_json_delta", "\"unit\": \"fahrenheit\"}"),
        ("content_block_stop", 0),
        ("content_block_start", 1, "tool_use", "call_ABC", "get_weather"),
        ("content_block_delta", 1, "input_json_delta", "{\"location\": \"Tokyo\"}"),
        ("content_block_stop", 1),
        ("message_delta", "tool_use"),
        ("message_stop",),
    ]
    assert events[1][1]["content_block"]["input"] == {}
    for index, expected in enumerate(WEATHER_ARGS):
        partial = "".join(d["delta"]["partial_json"] for n, d in events if n == "content_block_delta" and d["index"] == index)
        assert json.loads(partial) == expected
    assert_block_grammar(events)


def test_openai_text_then_tool_call_in_one_chunk_and_empty_deltas():
    chunks = [
        openai_chunk({"role": "assistant", "content": ""}),
        openai_chunk({"content": "Let me check.", "tool_calls": [
            {"index": 0, "id": "call_1", "type": "function", "function": {"name": "ls", "arguments": "{}"}}]}),
        openai_chunk({"tool_calls": []}),
        openai_chunk({}),
        openai_chunk({"content": None}),
        openai_chunk({}, "tool_calls"),
    ]
    _, events = run_openai(chunks)
    assert [summarize_anthropic(*e) for e in events] == [
        ("message_start",),
        ("content_block_start", 0, "text"),
        ("content_block_delta", 0, "text_delta", "Let me check."),
        ("content_block_stop", 0),
        ("content_block_start", 1, "tool_use", "call_1", "ls"),
        ("content_block_delta", 1, "input_json_delta", "{}"),
        ("content_block_stop", 1),
        ("message_delta", "tool_use"),
        ("message_stop",),
    ]
    assert_block_grammar(events)


def test_openai_reasoning_becomes_a_thinking_block_before_text():
    chunks = [
        openai_chunk({"role": "assistant", "content": None, "reasoning_content": ""}),
        openai_chunk({"reasoning_content": "The user greets. "}),
        openai_chunk({"reasoning_content": "Greet back."}),
        openai_chunk({"content": "Hi there!"}),
        openai_chunk({}, "length"),
    ]
    _, events = run_openai(chunks)
    assert [summarize_anthropic(*e) for e in events] == [
        ("message_start",),
        ("content_block_start", 0, "thinking"),
        ("content_block_delta", 0, "thinking_delta", "The user greets. "),
        ("content_block_delta", 0, "thinking_delta", "Greet back."),
        ("content_block_stop", 0),
        ("content_block_start", 1, "text"),
        ("content_block_delta", 1, "text_delta", "Hi there!"),
        ("content_block_stop", 1),
        ("message_delta", "max_tokens"),
        ("message_stop",),
    ]
    assert events[1][1]["content_block"] == {"type": "thinking", "thinking": "", "signature": ""}


def test_openai_tool_calls_with_finish_reason_stop_end_as_tool_use():
    chunks = [openai_chunk({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                            "function": {"name": "ls", "arguments": "{}"}}]}),
              openai_chunk({}, "stop")]
    _, events = run_openai(chunks)
    assert summarize_anthropic(*events[-2]) == ("message_delta", "tool_use")


def test_openai_error_chunk_becomes_error_event():
    translator = OpenAIStreamToAnthropic(model="m")
    translator.feed(OPENAI_TEXT_STREAM[0])
    assert translator.feed({"error": {"message": "The server had an error", "type": "server_error", "code": None}}) == [
        ("error", {"type": "error", "error": {"type": "api_error", "message": "The server had an error"}})
    ]


def test_openai_finish_on_empty_stream_is_still_a_valid_message():
    events = OpenAIStreamToAnthropic(model="m").finish()
    assert [summarize_anthropic(*e) for e in events] == [("message_start",), ("message_delta", "end_turn"), ("message_stop",)]


@pytest.mark.parametrize("include_usage", [True, False])
def test_stream_round_trip_rebuilds_the_tool_arguments(include_usage):
    """Anthropic events -> OpenAI chunks -> Anthropic events keeps text, tool ids and inputs."""
    to_openai = AnthropicStreamToOpenAI(model="gpt-4o", include_usage=include_usage)
    chunks = [c for e in ANTHROPIC_THINKING_AND_TOOLS_STREAM for c in to_openai.feed(e)] + to_openai.finish()
    _, events = run_openai(chunks)
    starts = [d["content_block"] for n, d in events if n == "content_block_start"]
    assert [b["type"] for b in starts] == ["thinking", "text", "tool_use", "tool_use"]
    assert [b.get("id") for b in starts[2:]] == ["toolu_01T1x1fJ34qAmk2tNTrN7Up6", "toolu_02"]
    for block_index, expected in zip((2, 3), WEATHER_ARGS):
        partial = "".join(d["delta"]["partial_json"] for n, d in events if n == "content_block_delta" and d["index"] == block_index)
        assert json.loads(partial) == expected
    assert summarize_anthropic(*events[-2]) == ("message_delta", "tool_use")
    assert_block_grammar(events)
