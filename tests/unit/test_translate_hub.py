"""The hub's newer mappings, table-driven: current Messages API fields, reasoning, structured
output, shaping for what the target API rejects, and what is named as dropped."""
import orjson
import pytest

from app.translate import Target, stream_translation, target_for, translate_request, translate_response
from app.translate.anthropic.request import STRUCTURED_OUTPUT_TOOL

SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}


def user(content):
    return {"role": "user", "content": content}


def to_anthropic(body, model="claude-sonnet-4-5"):
    return translate_request(body, "openai", "anthropic", target_for("anthropic", model))


def to_openai(body, model="gpt-4o"):
    return translate_request(body, "anthropic", "openai", target_for("openai", model))


# --- capabilities ----------------------------------------------------------------------------

@pytest.mark.parametrize(("wire_format", "model", "reasoning", "native", "exclusive"), [
    ("openai", "gpt-4o", False, True, False),
    ("openai", "gpt-4.1-mini", False, True, False),
    ("openai", "o3", True, True, False),
    ("openai", "o4-mini", True, True, False),
    ("openai", "gpt-5", True, True, False),
    ("openai", "openai/gpt-oss-120b", True, True, False),
    ("openai", "deepseek-reasoner", True, True, False),
    ("anthropic", "claude-3-5-sonnet-20241022", True, False, False),
    ("anthropic", "claude-sonnet-4-20250514", True, False, False),
    ("anthropic", "claude-opus-4-20250514", True, False, False),
    ("anthropic", "claude-opus-4-1-20250805", True, True, True),
    ("anthropic", "claude-sonnet-4-5-20250929", True, True, True),
    ("anthropic", "claude-haiku-4-5", True, True, True),
    ("anthropic", "claude-opus-4-6", True, True, True),
    ("anthropic", "claude-sonnet-5", True, True, True),
    ("anthropic", "some-proxy-model", True, False, False),
])
def test_target_capabilities(wire_format, model, reasoning, native, exclusive):
    target = target_for(wire_format, model)
    assert (target.reasoning, target.native_structured_output, target.exclusive_sampling) == (reasoning, native, exclusive)


# --- OpenAI -> Anthropic -----------------------------------------------------------------------

EFFORT_CASES = [
    # (reasoning_effort, client max_tokens, expected max_tokens, expected thinking)
    ("none", None, 4096, {"type": "disabled"}),
    ("minimal", None, 4096 + 1024, {"type": "enabled", "budget_tokens": 1024}),
    ("low", None, 4096 + 1024, {"type": "enabled", "budget_tokens": 1024}),
    ("medium", None, 4096 + 8192, {"type": "enabled", "budget_tokens": 8192}),
    ("high", None, 4096 + 24576, {"type": "enabled", "budget_tokens": 24576}),
    ("xhigh", None, 4096 + 32768, {"type": "enabled", "budget_tokens": 32768}),
    ("max", None, 4096 + 64000, {"type": "enabled", "budget_tokens": 64000}),
    ("high", 10000, 10000, {"type": "enabled", "budget_tokens": 9999}),
    ("high", 1000, 1000, None),  # under Anthropic's 1024-token minimum once shrunk: thinking is left off
]


@pytest.mark.parametrize(("effort", "limit", "max_tokens", "thinking"), EFFORT_CASES)
def test_reasoning_effort_to_thinking(effort, limit, max_tokens, thinking):
    body = {"model": "m", "messages": [user("x")], "reasoning_effort": effort}
    if limit:
        body["max_completion_tokens"] = limit
    result, dropped = to_anthropic(body)
    assert result["max_tokens"] == max_tokens and result.get("thinking") == thinking
    assert dropped == ([] if thinking else ["thinking"])


SHAPING_CASES = [
    # (name, model, extra OpenAI fields, expected subset, dropped)
    ("thinking takes no temperature other than 1", "claude-3-7-sonnet-20250219",
     {"reasoning_effort": "low", "temperature": 0.3, "top_p": 0.9}, {"thinking": {"type": "enabled", "budget_tokens": 1024}},
     ["temperature", "top_p"]),
    ("temperature 1 stays with thinking", "claude-3-7-sonnet-20250219",
     {"reasoning_effort": "low", "temperature": 1}, {"temperature": 1}, []),
    ("current models take temperature or top_p, not both", "claude-sonnet-4-5",
     {"temperature": 0.5, "top_p": 0.9}, {"temperature": 0.5}, ["top_p"]),
    ("older models take both", "claude-3-5-sonnet-20241022",
     {"temperature": 0.5, "top_p": 0.9}, {"temperature": 0.5, "top_p": 0.9}, []),
    ("temperature is clamped to Anthropic's range", "claude-3-5-sonnet-20241022", {"temperature": 1.7},
     {"temperature": 1.0}, []),
    ("sampling fields of other APIs are named", "claude-3-5-sonnet-20241022",
     {"seed": 3, "presence_penalty": 0.1, "frequency_penalty": 0.2, "logit_bias": {"1": 2}, "n": 1},
     {}, ["logit_bias", "seed", "presence_penalty", "frequency_penalty", "n"]),
]


@pytest.mark.parametrize(("name", "model", "extra", "subset", "dropped"), SHAPING_CASES, ids=[c[0] for c in SHAPING_CASES])
def test_requests_are_shaped_so_anthropic_accepts_them(name, model, extra, subset, dropped):
    result, named = to_anthropic({"model": model, "messages": [user("x")], **extra}, model)
    assert {key: result.get(key) for key in subset} == subset
    for key in dropped:
        assert key not in result
    assert sorted(named) == sorted(dropped)


def test_thinking_with_a_forced_tool_drops_thinking():
    body = {"model": "m", "messages": [user("x")], "reasoning_effort": "high",
            "response_format": {"type": "json_schema", "json_schema": {"name": "person", "schema": SCHEMA}}}
    result, dropped = to_anthropic(body, "claude-3-5-sonnet-20241022")
    assert "thinking" not in result and dropped == ["thinking"]
    assert result["tool_choice"] == {"type": "tool", "name": STRUCTURED_OUTPUT_TOOL}


STRUCTURED_CASES = [
    ("native json_schema on a current model", "claude-sonnet-4-5",
     {"type": "json_schema", "json_schema": {"name": "person", "schema": SCHEMA, "strict": True}}, [],
     {"output_config": {"format": {"type": "json_schema", "schema": SCHEMA}}}),
    ("forced tool on an older model", "claude-3-5-sonnet-20241022",
     {"type": "json_schema", "json_schema": {"name": "person", "schema": SCHEMA}}, [],
     {"tools": [{"name": STRUCTURED_OUTPUT_TOOL, "input_schema": SCHEMA}],
      "tool_choice": {"type": "tool", "name": STRUCTURED_OUTPUT_TOOL}}),
    ("json_object is a forced tool taking any object", "claude-sonnet-4-5", {"type": "json_object"}, [],
     {"tools": [{"name": STRUCTURED_OUTPUT_TOOL, "input_schema": {"type": "object"}}],
      "tool_choice": {"type": "tool", "name": STRUCTURED_OUTPUT_TOOL}}),
    ("with the client's tools the model must call one of them or the answer tool", "claude-3-5-sonnet-20241022",
     {"type": "json_schema", "json_schema": {"name": "person", "schema": SCHEMA}},
     [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}],
     {"tools": [{"name": "lookup", "input_schema": {"type": "object"}},
                {"name": STRUCTURED_OUTPUT_TOOL, "input_schema": SCHEMA}],
      "tool_choice": {"type": "any"}}),
    ("text is the default", "claude-sonnet-4-5", {"type": "text"}, [], {}),
]


def _without_descriptions(tools):
    return [{key: value for key, value in tool.items() if key != "description"} for tool in tools]


@pytest.mark.parametrize(("name", "model", "response_format", "tools", "expected"), STRUCTURED_CASES,
                         ids=[c[0] for c in STRUCTURED_CASES])
def test_response_format_to_output_config(name, model, response_format, tools, expected):
    body = {"model": model, "messages": [user("x")], "response_format": response_format}
    if tools:
        body["tools"] = tools
    result, dropped = to_anthropic(body, model)
    got = {key: result[key] for key in ("output_config", "tools", "tool_choice") if key in result}
    if "tools" in got:
        got["tools"] = _without_descriptions(got["tools"])
    assert got == expected and dropped == []


def test_structured_output_tool_answer_becomes_text():
    reply = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-3-5-sonnet-20241022",
             "content": [{"type": "tool_use", "id": "toolu_1", "name": STRUCTURED_OUTPUT_TOOL, "input": {"name": "Ada"}}],
             "stop_reason": "tool_use", "usage": {"input_tokens": 5, "output_tokens": 3}}
    result = translate_response(reply, "anthropic", "openai", "my-model")
    message = result["choices"][0]["message"]
    assert orjson.loads(message["content"]) == {"name": "Ada"} and "tool_calls" not in message
    assert result["choices"][0]["finish_reason"] == "stop"


def test_structured_output_tool_streams_as_text():
    events = [
        {"type": "message_start", "message": {"id": "msg_1", "usage": {"input_tokens": 5, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0,
         "content_block": {"type": "tool_use", "id": "t", "name": STRUCTURED_OUTPUT_TOOL, "input": {}}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": '{"name":'}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": ' "Ada"}'}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}},
        {"type": "message_stop"},
    ]
    translation = stream_translation("anthropic", "openai", model="m", include_usage=False)
    chunks = [chunk for event in events for chunk in translation.feed(event)] + translation.finish()
    deltas = [chunk["choices"][0]["delta"] for chunk in chunks]
    assert "".join(delta.get("content", "") for delta in deltas) == '{"name": "Ada"}'
    assert not any("tool_calls" in delta for delta in deltas)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_system_only_or_empty_conversations_still_have_a_turn():
    result, _ = to_anthropic({"model": "m", "messages": [{"role": "developer", "content": "Say hi."}]})
    assert result["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Say hi."}]}]
    assert "system" not in result
    result, _ = to_anthropic({"model": "m", "messages": [{"role": "system", "content": "Be kind."}, user("")]})
    assert result["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Be kind."}]}]


def test_custom_tools_and_their_calls_keep_a_name_and_input():
    body = {"model": "m", "tools": [{"type": "custom", "custom": {"name": "apply_patch", "description": "Patch files"}}],
            "messages": [user("fix it"),
                         {"role": "assistant", "content": None, "tool_calls": [
                             {"id": "call_1", "type": "custom", "custom": {"name": "apply_patch", "input": "*** Begin"}}]},
                         {"role": "tool", "tool_call_id": "call_1", "content": "done"}]}
    result, dropped = to_anthropic(body)
    assert result["tools"][0]["name"] == "apply_patch"
    assert result["tools"][0]["input_schema"]["required"] == ["input"]
    assert result["messages"][1]["content"] == [
        {"type": "tool_use", "id": "call_1", "name": "apply_patch", "input": {"input": "*** Begin"}}]
    assert dropped == []


THINKING = {"type": "thinking", "thinking": "Let me see.", "signature": "sig-abc"}
REDACTED = {"type": "redacted_thinking", "data": "opaque=="}
TOOL_USE = {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "x"}}


@pytest.mark.parametrize("assistant", [
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "toolu_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q":"x"}'}}],
     "reasoning_details": [
         {"type": "reasoning.text", "text": "Let me ", "format": "anthropic-claude-v1", "index": 0},
         {"type": "reasoning.text", "text": "see.", "format": "anthropic-claude-v1", "index": 0},
         {"type": "reasoning.text", "text": "", "signature": "sig-abc", "format": "anthropic-claude-v1", "index": 0},
         {"type": "reasoning.encrypted", "data": "opaque==", "format": "anthropic-claude-v1", "index": 1}]},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "toolu_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q":"x"}'}}],
     "reasoning_content": "Let me see.", "thinking_blocks": [THINKING, REDACTED]},
], ids=["reasoning_details (OpenRouter), as streamed pieces", "thinking_blocks (LiteLLM)"])
def test_signed_thinking_comes_back_first_in_the_turn_byte_for_byte(assistant):
    body = {"model": "m", "messages": [user("q"), assistant, {"role": "tool", "tool_call_id": "toolu_1", "content": "r"}]}
    result, dropped = to_anthropic(body)
    assert result["messages"][1]["content"] == [THINKING, REDACTED, TOOL_USE]
    assert dropped == []


def test_unsigned_reasoning_content_is_dropped_and_named():
    body = {"model": "m", "messages": [user("q"), {"role": "assistant", "content": "a", "reasoning_content": "hmm"},
                                       user("more")]}
    result, dropped = to_anthropic(body)
    assert result["messages"][1]["content"] == "a" and dropped == ["messages[].reasoning_content"]


# --- Anthropic -> OpenAI -----------------------------------------------------------------------

ANTHROPIC_REASONING_CASES = [
    # (thinking, output_config, model, expected reasoning_effort or None, dropped)
    ({"type": "adaptive"}, {"effort": "high"}, "gpt-5", "high", []),
    ({"type": "adaptive", "display": "omitted"}, None, "gpt-5", None, []),
    (None, {"effort": "low"}, "o3", "low", []),
    ({"type": "disabled"}, None, "o3", None, []),
    ({"type": "enabled", "budget_tokens": 64000}, None, "gpt-5", "max", []),
    ({"type": "adaptive"}, {"effort": "max"}, "gpt-4o", None, ["thinking"]),
]


@pytest.mark.parametrize(("thinking", "output_config", "model", "effort", "dropped"), ANTHROPIC_REASONING_CASES)
def test_thinking_and_effort_to_reasoning_effort(thinking, output_config, model, effort, dropped):
    body = {"model": model, "max_tokens": 100000, "messages": [user("x")]}
    if thinking:
        body["thinking"] = thinking
    if output_config:
        body["output_config"] = output_config
    result, named = to_openai(body, model)
    assert result.get("reasoning_effort") == effort and named == dropped


def test_system_messages_keep_their_place_towards_openai():
    body = {"model": "gpt-4o", "max_tokens": 10, "system": "Be terse.",
            "messages": [user("hi"), {"role": "assistant", "content": "hello"},
                         {"role": "system", "content": [{"type": "text", "text": "Now answer in French."}]}, user("ok")]}
    result, _ = to_openai(body)
    assert [(m["role"], m["content"]) for m in result["messages"]] == [
        ("system", "Be terse."), ("user", "hi"), ("assistant", "hello"), ("system", "Now answer in French."),
        ("user", "ok")]


def test_output_config_format_to_response_format():
    body = {"model": "gpt-4o", "max_tokens": 10, "messages": [user("x")],
            "output_config": {"format": {"type": "json_schema", "schema": SCHEMA}}}
    result, dropped = to_openai(body)
    assert result["response_format"] == {"type": "json_schema",
                                         "json_schema": {"name": "output", "schema": SCHEMA, "strict": True}}
    assert dropped == []


def test_fields_without_a_chat_counterpart_are_named():
    body = {"model": "gpt-4o", "max_tokens": 10, "messages": [user("x"), {"role": "critic", "content": "?"}],
            "top_k": 5, "context_management": {"edits": []}, "service_tier": "auto", "container": "c1",
            "tools": [{"type": "web_search_20250305", "name": "web_search"}],
            "metadata": {"user_id": "u1"}}
    result, dropped = to_openai(body)
    assert sorted(dropped) == sorted(["top_k", "context_management", "service_tier", "container",
                                      "messages[].role=critic", "tools[].type=web_search_20250305"])
    assert result["user"] == "u1" and "tools" not in result


def test_a_user_id_longer_than_openai_takes_is_dropped_and_named():
    long_id = "user_" + "a" * 64 + "_account__session_1234"
    body = {"model": "gpt-4o", "max_tokens": 10, "messages": [user("x")], "metadata": {"user_id": long_id}}
    result, dropped = to_openai(body)
    assert "user" not in result and dropped == ["metadata.user_id"]


def test_cache_breakpoints_are_named_once_towards_openai():
    marked = {"type": "text", "text": "long", "cache_control": {"type": "ephemeral"}}
    body = {"model": "gpt-4o", "max_tokens": 10, "system": [marked], "messages": [user([marked])]}
    result, dropped = to_openai(body)
    assert dropped == ["cache_control"] and result["messages"][0] == {"role": "system", "content": "long"}


def test_thinking_blocks_never_reach_an_openai_upstream_as_content():
    body = {"model": "gpt-4o", "max_tokens": 10,
            "messages": [user("q"), {"role": "assistant", "content": [THINKING, {"type": "text", "text": "a"}]},
                         user("more")]}
    result, dropped = to_openai(body)
    assert result["messages"][1] == {"role": "assistant", "content": "a"}
    assert dropped == ["messages[].thinking"]


def test_refusal_is_present_and_null_in_translated_replies():
    reply = {"id": "msg_1", "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn",
             "usage": {"input_tokens": 1, "output_tokens": 1}}
    assert translate_response(reply, "anthropic", "openai", "m")["choices"][0]["message"]["refusal"] is None


def test_default_limit_for_a_target():
    body = {"model": "m", "messages": [user("x")]}
    assert translate_request(body, "openai", "anthropic", Target("m", default_max_tokens=123))[0]["max_tokens"] == 123
