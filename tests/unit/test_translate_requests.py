"""Request translation, OpenAI Chat Completions <-> Anthropic Messages, in both directions."""

import json

import pytest

from app.translate import Target, target_for, translate_request


def openai_request_to_anthropic(body):
    return translate_request(body, "openai", "anthropic", target_for("anthropic", body["model"]))[0]


def anthropic_request_to_openai(body):
    return translate_request(body, "anthropic", "openai", target_for("openai", body["model"]))[0]

PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
PDF_B64 = "JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFI+PgpzdHJlYW0K"
WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"location": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
    "required": ["location"],
}


def user(content):
    return {"role": "user", "content": content}


# --- OpenAI -> Anthropic: one field family per case ----------------------------------------

OPENAI_TO_ANTHROPIC_CASES = [
    (
        "minimal request gets the default max_tokens",
        {"model": "claude-sonnet-4-5", "messages": [user("Hi")]},
        {"model": "claude-sonnet-4-5", "messages": [user("Hi")], "max_tokens": 4096},
    ),
    (
        "one system message becomes a system string",
        {"model": "m", "messages": [{"role": "system", "content": "Be terse."}, user("Hi")]},
        {"model": "m", "system": "Be terse.", "messages": [user("Hi")], "max_tokens": 4096},
    ),
    (
        "leading system and developer messages become system blocks; a later one keeps its place",
        {
            "model": "m",
            "messages": [
                {"role": "system", "content": "Be terse."},
                {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
                user("Hi"),
                {"role": "system", "content": "Never mention the weather."},
            ],
        },
        {
            "model": "m",
            "system": [
                {"type": "text", "text": "Be terse."},
                {"type": "text", "text": "Answer in French."},
            ],
            "messages": [user("Hi"), {"role": "system", "content": "Never mention the weather."}],
            "max_tokens": 4096,
        },
    ),
    (
        "multi-part content: text, URL image, data-URL image, PDF file, audio placeholder",
        {
            "model": "m",
            "messages": [
                user(
                    [
                        {"type": "text", "text": "Compare these."},
                        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg", "detail": "high"}},
                        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}},
                        {"type": "file", "file": {"filename": "paper.pdf", "file_data": f"data:application/pdf;base64,{PDF_B64}"}},
                        {"type": "input_audio", "input_audio": {"data": "UklGR", "format": "wav"}},
                    ]
                )
            ],
        },
        {
            "model": "m",
            "messages": [
                user(
                    [
                        {"type": "text", "text": "Compare these."},
                        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64}},
                        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": PDF_B64},
                         "title": "paper.pdf"},
                        {"type": "text", "text": "[input_audio omitted: not supported by the upstream API]"},
                    ]
                )
            ],
            "max_tokens": 4096,
        },
    ),
    (
        "tools, tool_choice required, parallel_tool_calls false",
        {
            "model": "m",
            "messages": [user("Weather in Paris?")],
            "tools": [
                {"type": "function", "function": {"name": "get_weather", "description": "Current weather", "parameters": WEATHER_SCHEMA}},
                {"type": "function", "function": {"name": "get_time"}},
            ],
            "tool_choice": "required",
            "parallel_tool_calls": False,
        },
        {
            "model": "m",
            "messages": [user("Weather in Paris?")],
            "max_tokens": 4096,
            "tools": [
                {"name": "get_weather", "description": "Current weather", "input_schema": WEATHER_SCHEMA},
                {"name": "get_time", "input_schema": {"type": "object", "properties": {}}},
            ],
            "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
        },
    ),
    (
        "assistant text plus tool calls, tool results merged into one user turn with the next user message",
        {
            "model": "m",
            "messages": [
                user("Weather in Paris and Rome?"),
                {
                    "role": "assistant",
                    "content": "Checking both.",
                    "tool_calls": [
                        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"location":"Paris"}'}},
                        {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": ""}},
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "18C sunny"},
                {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "22C cloudy"}]},
                user("And in Fahrenheit?"),
            ],
        },
        {
            "model": "m",
            "messages": [
                user("Weather in Paris and Rome?"),
                {
                    "role": "assistant",
                    "content": [
                        {"type": "text", "text": "Checking both."},
                        {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"location": "Paris"}},
                        {"type": "tool_use", "id": "call_2", "name": "get_weather", "input": {}},
                    ],
                },
                user(
                    [
                        {"type": "tool_result", "tool_use_id": "call_1", "content": "18C sunny"},
                        {"type": "tool_result", "tool_use_id": "call_2", "content": [{"type": "text", "text": "22C cloudy"}]},
                        {"type": "text", "text": "And in Fahrenheit?"},
                    ]
                ),
            ],
            "max_tokens": 4096,
        },
    ),
    (
        "assistant tool call without text, invalid arguments become {}",
        {
            "model": "m",
            "messages": [
                user("Go"),
                {"role": "assistant", "content": None,
                 "tool_calls": [{"id": "call_9", "type": "function", "function": {"name": "run", "arguments": "{not json"}}]},
                {"role": "tool", "tool_call_id": "call_9", "content": "done"},
            ],
        },
        {
            "model": "m",
            "messages": [
                user("Go"),
                {"role": "assistant", "content": [{"type": "tool_use", "id": "call_9", "name": "run", "input": {}}]},
                user([{"type": "tool_result", "tool_use_id": "call_9", "content": "done"}]),
            ],
            "max_tokens": 4096,
        },
    ),
    (
        "consecutive user messages are merged, empty ones and legacy function messages dropped",
        {"model": "m", "messages": [user("One."), user(""), {"role": "function", "name": "f", "content": "x"}, user("Two.")]},
        {"model": "m", "messages": [user([{"type": "text", "text": "One."}, {"type": "text", "text": "Two."}])], "max_tokens": 4096},
    ),
    (
        "sampling parameters, stop string, user, stream; OpenAI-only parameters dropped; json_object as a tool",
        {
            "model": "m",
            "messages": [user("Hi")],
            "max_tokens": 300,
            "temperature": 0.7,
            "top_p": 0.9,
            "stop": "\n\nHuman:",
            "user": "user-42",
            "stream": True,
            "stream_options": {"include_usage": True},
            "n": 1,
            "logprobs": True,
            "top_logprobs": 2,
            "response_format": {"type": "json_object"},
            "seed": 7,
            "presence_penalty": 0.5,
            "frequency_penalty": 0.5,
            "logit_bias": {"50256": -100},
        },
        {
            "model": "m",
            "messages": [user("Hi")],
            "max_tokens": 300,
            "temperature": 0.7,
            "top_p": 0.9,
            "stop_sequences": ["\n\nHuman:"],
            "metadata": {"user_id": "user-42"},
            "stream": True,
            "tools": [{"name": "cortex_structured_output",
                       "description": "Answer by calling this tool: its input is the answer, in the required format.",
                       "input_schema": {"type": "object"}}],
            "tool_choice": {"type": "tool", "name": "cortex_structured_output"},
        },
    ),
    (
        "max_completion_tokens wins over max_tokens, stop list, temperature clamped to 1",
        {"model": "m", "messages": [user("Hi")], "max_tokens": 10, "max_completion_tokens": 20, "stop": ["END", "STOP"], "temperature": 1.6},
        {"model": "m", "messages": [user("Hi")], "max_tokens": 20, "stop_sequences": ["END", "STOP"], "temperature": 1.0},
    ),
    (
        "reasoning_content in assistant history is dropped, refusal kept as text",
        {
            "model": "m",
            "messages": [
                user("Q"),
                {"role": "assistant", "content": "A", "reasoning_content": "hmm"},
                user("Q2"),
                {"role": "assistant", "content": None, "refusal": "I can't help with that."},
            ],
        },
        {
            "model": "m",
            "messages": [
                user("Q"),
                {"role": "assistant", "content": "A"},
                user("Q2"),
                {"role": "assistant", "content": "I can't help with that."},
            ],
            "max_tokens": 4096,
        },
    ),
]


@pytest.mark.parametrize(("name", "openai_body", "expected"), OPENAI_TO_ANTHROPIC_CASES, ids=[c[0] for c in OPENAI_TO_ANTHROPIC_CASES])
def test_openai_request_to_anthropic(name, openai_body, expected):
    assert openai_request_to_anthropic(openai_body) == expected


TOOL_CHOICE_CASES = [
    ("auto", "auto", None, {"type": "auto"}),
    ("none", "none", None, {"type": "none"}),
    ("required", "required", None, {"type": "any"}),
    ("named function", {"type": "function", "function": {"name": "get_weather"}}, None, {"type": "tool", "name": "get_weather"}),
    ("absent", None, None, None),
    ("absent, parallel off", None, False, {"type": "auto", "disable_parallel_tool_use": True}),
    ("named, parallel off", {"type": "function", "function": {"name": "x"}}, False,
     {"type": "tool", "name": "x", "disable_parallel_tool_use": True}),
    ("none ignores parallel flag", "none", False, {"type": "none"}),
    ("parallel on is the default", "auto", True, {"type": "auto"}),
]


@pytest.mark.parametrize(("name", "tool_choice", "parallel", "expected"), TOOL_CHOICE_CASES, ids=[c[0] for c in TOOL_CHOICE_CASES])
def test_tool_choice_to_anthropic(name, tool_choice, parallel, expected):
    body = {"model": "m", "messages": [user("x")],
            "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER_SCHEMA}}]}
    if tool_choice is not None:
        body["tool_choice"] = tool_choice
    if parallel is not None:
        body["parallel_tool_calls"] = parallel
    assert openai_request_to_anthropic(body).get("tool_choice") == expected


def test_tool_choice_is_left_out_without_tools():
    body = {"model": "m", "messages": [user("x")], "tool_choice": "required", "parallel_tool_calls": False,
            "tools": [{"type": "web_search_preview"}]}
    result, dropped = translate_request(body, "openai", "anthropic", target_for("anthropic", "m"))
    assert "tools" not in result and "tool_choice" not in result
    assert dropped == ["tools[].type=web_search_preview"]


REASONING_CASES = [
    # (name, extra request fields, expected max_tokens, expected thinking)
    ("no effort", {}, 4096, None),
    ("low, no limit: budget on top of the default", {"reasoning_effort": "low"}, 4096 + 1024, {"type": "enabled", "budget_tokens": 1024}),
    ("medium, no limit", {"reasoning_effort": "medium"}, 4096 + 8192, {"type": "enabled", "budget_tokens": 8192}),
    ("high, roomy limit", {"reasoning_effort": "high", "max_completion_tokens": 32000}, 32000, {"type": "enabled", "budget_tokens": 24576}),
    ("high, small limit: budget shrinks below it", {"reasoning_effort": "high", "max_tokens": 5000}, 5000, {"type": "enabled", "budget_tokens": 4999}),
    ("limit too small for the 1024 minimum: no thinking", {"reasoning_effort": "low", "max_tokens": 800}, 800, None),
    ("none disables thinking", {"reasoning_effort": "none"}, 4096, {"type": "disabled"}),
    ("minimal uses the floor", {"reasoning_effort": "minimal"}, 4096 + 1024, {"type": "enabled", "budget_tokens": 1024}),
]


@pytest.mark.parametrize(("name", "extra", "max_tokens", "thinking"), REASONING_CASES, ids=[c[0] for c in REASONING_CASES])
def test_reasoning_effort_to_thinking(name, extra, max_tokens, thinking):
    result = openai_request_to_anthropic({"model": "m", "messages": [user("x")], **extra})
    assert result["max_tokens"] == max_tokens
    assert result.get("thinking") == thinking


def test_default_max_tokens_is_configurable():
    body = {"model": "m", "messages": [user("x")]}
    assert translate_request(body, "openai", "anthropic", Target("m", default_max_tokens=1000))[0]["max_tokens"] == 1000


def test_openai_request_is_not_mutated():
    body = {"model": "m", "messages": [user("a"), user("b"), {"role": "tool", "tool_call_id": "c", "content": "r"}]}
    snapshot = json.loads(json.dumps(body))
    openai_request_to_anthropic(body)
    assert body == snapshot


# --- Anthropic -> OpenAI ---------------------------------------------------------------

ANTHROPIC_TO_OPENAI_CASES = [
    (
        "minimal",
        {"model": "claude-sonnet-4-5", "max_tokens": 1024, "messages": [user("Hello")]},
        {"model": "claude-sonnet-4-5", "messages": [user("Hello")], "max_tokens": 1024},
    ),
    (
        "system blocks with cache_control fold into one leading system message",
        {
            "model": "m",
            "max_tokens": 100,
            "system": [
                {"type": "text", "text": "You are Claude Code."},
                {"type": "text", "text": "Project rules...", "cache_control": {"type": "ephemeral"}},
            ],
            "messages": [user([{"type": "text", "text": "Hi", "cache_control": {"type": "ephemeral"}}])],
        },
        {
            "model": "m",
            "messages": [{"role": "system", "content": "You are Claude Code.\n\nProject rules..."}, user("Hi")],
            "max_tokens": 100,
        },
    ),
    (
        "images and documents; several blocks stay a parts list",
        {
            "model": "m",
            "max_tokens": 100,
            "messages": [
                user(
                    [
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64}},
                        {"type": "image", "source": {"type": "url", "url": "https://example.com/a.jpg"}},
                        {"type": "document", "title": "paper.pdf", "source": {"type": "base64", "media_type": "application/pdf", "data": PDF_B64}},
                        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "Plain notes."}},
                        {"type": "document", "source": {"type": "url", "url": "https://example.com/x.pdf"}},
                        {"type": "text", "text": "Summarise."},
                    ]
                )
            ],
        },
        {
            "model": "m",
            "messages": [
                user(
                    [
                        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}},
                        {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg"}},
                        {"type": "file", "file": {"filename": "paper.pdf", "file_data": f"data:application/pdf;base64,{PDF_B64}"}},
                        {"type": "text", "text": "Plain notes."},
                        {"type": "text", "text": "[document (url source) omitted: not supported by the upstream API]"},
                        {"type": "text", "text": "Summarise."},
                    ]
                )
            ],
            "max_tokens": 100,
        },
    ),
    (
        "tool_use history and a user turn of tool results plus text",
        {
            "model": "m",
            "max_tokens": 100,
            "tools": [
                {"name": "get_weather", "description": "Current weather", "input_schema": WEATHER_SCHEMA,
                 "cache_control": {"type": "ephemeral"}},
                {"type": "web_search_20250305", "name": "web_search", "max_uses": 3},
            ],
            "tool_choice": {"type": "auto", "disable_parallel_tool_use": True},
            "messages": [
                user("Weather in Paris and Rome?"),
                {
                    "role": "assistant",
                    "content": [
                        {"type": "thinking", "thinking": "Two cities.", "signature": "EqQBCgIYAhIM"},
                        {"type": "text", "text": "Checking."},
                        {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"location": "Paris"}},
                        {"type": "tool_use", "id": "toolu_02", "name": "get_weather", "input": {"location": "Rome"}},
                    ],
                },
                user(
                    [
                        {"type": "tool_result", "tool_use_id": "toolu_01", "content": "18C"},
                        {"type": "tool_result", "tool_use_id": "toolu_02", "is_error": True,
                         "content": [{"type": "text", "text": "timeout"}, {"type": "text", "text": "retry later"}]},
                        {"type": "text", "text": "Be quick."},
                    ]
                ),
            ],
        },
        {
            "model": "m",
            "messages": [
                user("Weather in Paris and Rome?"),
                {
                    "role": "assistant",
                    "content": "Checking.",
                    "tool_calls": [
                        {"id": "toolu_01", "type": "function", "function": {"name": "get_weather", "arguments": '{"location":"Paris"}'}},
                        {"id": "toolu_02", "type": "function", "function": {"name": "get_weather", "arguments": '{"location":"Rome"}'}},
                    ],
                },
                {"role": "tool", "tool_call_id": "toolu_01", "content": "18C"},
                {"role": "tool", "tool_call_id": "toolu_02", "content": "Error: timeout\nretry later"},
                user("Be quick."),
            ],
            "max_tokens": 100,
            "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Current weather", "parameters": WEATHER_SCHEMA}}],
            "tool_choice": "auto",
            "parallel_tool_calls": False,
        },
    ),
    (
        "tool-only assistant turn has null content; an image in a tool result moves to a user message",
        {
            "model": "m",
            "max_tokens": 100,
            "messages": [
                user("Screenshot please"),
                {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_07", "name": "screenshot", "input": {}}]},
                user([{"type": "tool_result", "tool_use_id": "toolu_07", "content": [
                    {"type": "text", "text": "Captured."},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64}},
                ]}]),
            ],
        },
        {
            "model": "m",
            "messages": [
                user("Screenshot please"),
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "toolu_07", "type": "function", "function": {"name": "screenshot", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "toolu_07", "content": "Captured."},
                user([{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}}]),
            ],
            "max_tokens": 100,
        },
    ),
    (
        "parameters: stop_sequences, metadata, stream, top_k dropped",
        {
            "model": "m",
            "max_tokens": 256,
            "messages": [user("Hi")],
            "temperature": 0.2,
            "top_p": 0.8,
            "top_k": 40,
            "stop_sequences": ["END"],
            "metadata": {"user_id": "user-42"},
            "stream": True,
            "service_tier": "auto",
        },
        {
            "model": "m",
            "messages": [user("Hi")],
            "max_tokens": 256,
            "temperature": 0.2,
            "top_p": 0.8,
            "stop": ["END"],
            "stream": True,
            "user": "user-42",
        },
    ),
    (
        "thinking becomes reasoning_effort and the limit max_completion_tokens",
        {"model": "o3", "max_tokens": 16000, "thinking": {"type": "enabled", "budget_tokens": 10000},
         "messages": [user("Hi")]},
        {"model": "o3", "messages": [user("Hi")], "reasoning_effort": "medium", "max_completion_tokens": 16000},
    ),
]


@pytest.mark.parametrize(("name", "anthropic_body", "expected"), ANTHROPIC_TO_OPENAI_CASES, ids=[c[0] for c in ANTHROPIC_TO_OPENAI_CASES])
def test_anthropic_request_to_openai(name, anthropic_body, expected):
    assert anthropic_request_to_openai(anthropic_body) == expected


@pytest.mark.parametrize(
    ("anthropic_choice", "openai_choice"),
    [
        ({"type": "auto"}, "auto"),
        ({"type": "none"}, "none"),
        ({"type": "any"}, "required"),
        ({"type": "tool", "name": "get_weather"}, {"type": "function", "function": {"name": "get_weather"}}),
    ],
)
def test_tool_choice_to_openai(anthropic_choice, openai_choice):
    body = {"model": "m", "max_tokens": 1, "messages": [user("x")], "tool_choice": anthropic_choice,
            "tools": [{"name": "get_weather", "input_schema": WEATHER_SCHEMA}]}
    result = anthropic_request_to_openai(body)
    assert result["tool_choice"] == openai_choice
    assert "parallel_tool_calls" not in result


@pytest.mark.parametrize(("budget", "effort"), [(1024, "low"), (4095, "low"), (4096, "medium"), (8192, "medium"),
                                              (16384, "high"), (24576, "high"), (32768, "xhigh"), (64000, "max")])
def test_thinking_budget_to_effort(budget, effort):
    body = {"model": "o3", "max_tokens": 99000, "thinking": {"type": "enabled", "budget_tokens": budget},
            "messages": [user("x")]}
    assert anthropic_request_to_openai(body)["reasoning_effort"] == effort


def test_disabled_thinking_adds_nothing():
    body = {"model": "m", "max_tokens": 10, "thinking": {"type": "disabled"}, "messages": [user("x")]}
    assert anthropic_request_to_openai(body) == {"model": "m", "messages": [user("x")], "max_tokens": 10}


# --- round trips -----------------------------------------------------------------------

AGENT_CONVERSATION = {
    "model": "gpt-4o",
    "messages": [
        {"role": "system", "content": "You are a weather bot."},
        user("Weather in Paris and Rome?"),
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"location": "Paris", "unit": "c"}'}},
                {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": '{"location": "Rome"}'}},
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "18C sunny"},
        {"role": "tool", "tool_call_id": "call_2", "content": "22C cloudy"},
        {"role": "assistant", "content": "Paris 18C, Rome 22C."},
        user([{"type": "text", "text": "And this city?"},
              {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}}]),
    ],
    "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Current weather", "parameters": WEATHER_SCHEMA}}],
    "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    "parallel_tool_calls": False,
    "max_tokens": 500,
    "temperature": 0.3,
    "top_p": 0.9,
    "stop": ["END"],
    "user": "u-1",
    "stream": False,
}


def _arguments_parsed(body: dict) -> dict:
    """The body with every tool call's arguments string parsed, so JSON spacing does not matter."""
    copy = json.loads(json.dumps(body))
    for message in copy["messages"]:
        for call in message.get("tool_calls") or []:
            call["function"]["arguments"] = json.loads(call["function"]["arguments"])
    return copy


def test_openai_round_trip_keeps_semantics():
    back = anthropic_request_to_openai(openai_request_to_anthropic(AGENT_CONVERSATION))
    assert _arguments_parsed(back) == _arguments_parsed(AGENT_CONVERSATION)


def test_anthropic_round_trip_keeps_semantics():
    anthropic_body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 2048,
        "system": "Be helpful.",
        "messages": [
            user("Weather in Paris?"),
            {"role": "assistant", "content": [
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"location": "Paris"}},
            ]},
            user([
                {"type": "tool_result", "tool_use_id": "toolu_01", "content": "18C"},
                {"type": "text", "text": "Thanks"},
            ]),
        ],
        "tools": [{"name": "get_weather", "description": "Current weather", "input_schema": WEATHER_SCHEMA}],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
        "stop_sequences": ["END"],
        "temperature": 0.5,
        "metadata": {"user_id": "u-1"},
    }
    assert openai_request_to_anthropic(anthropic_request_to_openai(anthropic_body)) == anthropic_body


@pytest.mark.parametrize(("tool_id", "fits"), [("toolu_01ABCdef", True), ("x" * 40, True), ("x" * 41, False),
                                               ("call_9__thought__" + "A" * 300, False)])
def test_tool_ids_fit_openai_and_stay_paired(tool_id, fits):
    """A Gemini call id carrying its thought signature is hundreds of characters; OpenAI takes 40."""
    body = {"model": "m", "max_tokens": 10, "messages": [
        user("weather?"),
        {"role": "assistant", "content": [{"type": "tool_use", "id": tool_id, "name": "w", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_id, "content": "18C"}]}]}
    call, answer = anthropic_request_to_openai(body)["messages"][1:]
    sent = call["tool_calls"][0]["id"]
    assert sent == answer["tool_call_id"] and len(sent) <= 40
    assert (sent == tool_id) is fits
