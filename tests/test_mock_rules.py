"""The mock upstream accepts what the current APIs accept and answers 400 to what they reject.

Bodies are sent raw (requests), so that shapes the SDKs would refuse to build reach the mock too;
round trips that need the mock's own output (thinking signatures) go through the official SDKs.
The mock is the session's (tests/conftest.py), reset before each test.
"""

from __future__ import annotations

import json

import anthropic
import openai
import pytest
import requests

from tests.mocks import Agent
from tests.mocks.anthropic_wire import REDACTED_THINKING_TRIGGER

CURRENT_CLAUDE = "claude-sonnet-4-6"
OLD_CLAUDE = "claude-3-5-sonnet-20241022"
ANTHROPIC_HEADERS = {"x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01"}
CONTEXT_BETA = {"anthropic-beta": "context-management-2025-06-27"}
WEATHER_TOOL = {
    "name": "get_weather",
    "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}},
}
FORECAST_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "array", "items": {"type": "integer"}}},
    "required": ["city", "days"],
    "additionalProperties": False,
}


def user(text: str = "hello") -> dict:
    return {"role": "user", "content": text}


def tool_use(tool_id: str = "toolu_1", **overrides) -> dict:
    return {"type": "tool_use", "id": tool_id, "name": "get_weather", "input": {"location": "Paris"}, **overrides}


def tool_result(tool_id: str = "toolu_1") -> dict:
    return {"type": "tool_result", "tool_use_id": tool_id, "content": "sunny"}


def turn(role: str, *blocks: dict) -> dict:
    return {"role": role, "content": list(blocks)}


def tool_exchange(call: dict, result_id: str = "toolu_1") -> list[dict]:
    """A question, an assistant turn with ``call``, and a user turn with the result for ``result_id``."""
    return [user(), turn("assistant", call), turn("user", tool_result(result_id))]


STRUCTURED = {"format": {"type": "json_schema", "schema": FORECAST_SCHEMA}}


def message_body(messages: list[dict], **fields) -> dict:
    return {"model": CURRENT_CLAUDE, "max_tokens": 2048, "messages": messages, **fields}


def post_message(mock, body: dict, headers: dict | None = None, query: str = "") -> requests.Response:
    return requests.post(f"{mock.url}/v1/messages{query}", json=body, headers={**ANTHROPIC_HEADERS, **(headers or {})},
                         timeout=5)


TOOL_LOOP = [user("weather?"), {"role": "assistant", "content": [tool_use()]},
             {"role": "user", "content": [tool_result(), {"type": "text", "text": "and tomorrow?"}]}]

# --- Anthropic: accepted --------------------------------------------------------------------

ACCEPTED_MESSAGES = {
    "system messages inside messages (Claude Code)": message_body(
        [user("hi"), turn("system", {"type": "text", "text": "# Env", "cache_control": {"type": "ephemeral"}})]),
    "budgeted thinking": message_body(
        [user()], thinking={"type": "enabled", "budget_tokens": 1024, "display": "omitted"}),
    "adaptive thinking with effort": message_body(
        [user()], thinking={"type": "adaptive", "display": "summarized"}, output_config={"effort": "xhigh"}),
    "thinking disabled, any temperature": message_body([user()], thinking={"type": "disabled"}, temperature=0.2),
    "structured output": message_body([user()], output_config=STRUCTURED),
    "metadata.user_id": message_body([user()], metadata={"user_id": json.dumps({"session_id": "s1"})}),
    "tool loop with cache_control": message_body(
        TOOL_LOOP, tools=[{**WEATHER_TOOL, "cache_control": {"type": "ephemeral"}}]),
    "consecutive user turns (combined by the API)": message_body([user("a"), user("b")]),
    "prefill": message_body([user(), {"role": "assistant", "content": "The answer is"}]),
    "empty prefill": message_body([user(), {"role": "assistant", "content": ""}]),
    "temperature and top_p on an older model": message_body([user()], temperature=0.5, top_p=0.9, model=OLD_CLAUDE),
    "thinking with temperature 1": message_body([user()], thinking={"type": "adaptive"}, temperature=1),
    "thinking with top_p 0.95": message_body([user()], thinking={"type": "adaptive"}, top_p=0.95),
}


@pytest.mark.parametrize("body", ACCEPTED_MESSAGES.values(), ids=ACCEPTED_MESSAGES.keys())
def test_messages_accepts_the_current_api(mock, body):
    response = post_message(mock, body)
    assert response.status_code == 200, response.text
    assert response.json()["type"] == "message"


def test_beta_fields_with_the_beta_header_and_query(mock):
    body = message_body([user()], context_management={"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]})
    assert post_message(mock, body, CONTEXT_BETA, query="?beta=true").status_code == 200
    rejected = post_message(mock, body)
    assert rejected.status_code == 400
    assert rejected.json()["error"]["message"] == "context_management: Extra inputs are not permitted"


# --- Anthropic: rejected, with the API's message --------------------------------------------

REJECTED_MESSAGES = {
    "no messages": (message_body([]), "messages: at least one message is required"),
    "unknown role": (message_body([{"role": "tool", "content": "x"}]), "messages.0.role: Input should be"),
    "empty text block": (message_body([{"role": "user", "content": [{"type": "text", "text": ""}]}]),
                         "messages.0.content.0.text: text content blocks must be non-empty"),
    "empty user content": (message_body([{"role": "user", "content": ""}]), "must have non-empty content"),
    "unknown block type": (message_body([{"role": "user", "content": [{"type": "input_text", "text": "x"}]}]),
                           "Input tag 'input_text' found"),
    "image in a system message": (
        message_body([user(), {"role": "system", "content": [{"type": "image", "source": {}}]}]),
        "system messages may only contain text blocks"),
    "tool_use without a name": (
        message_body(tool_exchange(tool_use(name=""))),
        "messages.1.content.0.tool_use.name: Field required"),
    "tool_use input not an object": (
        message_body(tool_exchange(tool_use(input=[]))),
        "tool_use.input: Input should be a valid dictionary"),
    "tool_result for an unknown tool_use": (
        message_body(tool_exchange(tool_use(), "toolu_x")),
        "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_1"),
    "tool_result without any tool_use": (
        message_body(tool_exchange({"type": "text", "text": "ok"}, "toolu_x")),
        "unexpected `tool_use_id` found in `tool_result` blocks: toolu_x"),
    "text before the tool_result": (
        message_body([user(), {"role": "assistant", "content": [tool_use()]},
                      {"role": "user", "content": [{"type": "text", "text": "x"}, tool_result()]}]),
        "`tool_result` blocks must come first"),
    "thinking budget below 1024": (message_body([user()], thinking={"type": "enabled", "budget_tokens": 512}),
                                   "budget_tokens: Input should be greater than or equal to 1024"),
    "thinking budget not below max_tokens": (
        message_body([user()], thinking={"type": "enabled", "budget_tokens": 2048}),
        "`max_tokens` must be greater than `thinking.budget_tokens`"),
    "unknown thinking type": (message_body([user()], thinking={"type": "auto"}), "thinking.type: Input should be"),
    "thinking with temperature below 1": (
        message_body([user()], thinking={"type": "enabled", "budget_tokens": 1024}, temperature=0.5),
        "`temperature` may only be set to 1 when thinking is enabled"),
    "adaptive thinking with top_k": (message_body([user()], thinking={"type": "adaptive"}, top_k=5),
                                     "`top_k` must be unset when thinking is enabled"),
    "thinking with a forced tool": (
        message_body([user()], thinking={"type": "adaptive"}, tools=[WEATHER_TOOL], tool_choice={"type": "any"}),
        "Thinking may not be enabled when tool_choice forces tool use"),
    "temperature and top_p on a current model": (message_body([user()], temperature=0.5, top_p=0.9),
                                                 "`temperature` and `top_p` cannot both be specified for this model"),
    "unknown effort": (message_body([user()], output_config={"effort": "extreme"}),
                       "output_config.effort: Input should be"),
    "structured output on an older model": (
        message_body([user()], output_config=STRUCTURED, model=OLD_CLAUDE),
        "output_config.format: structured outputs are not supported by model"),
    "unknown field": (message_body([user()], reasoning_effort="high"),
                      "reasoning_effort: Extra inputs are not permitted"),
    "forced tool that is not offered": (
        message_body([user()], tools=[WEATHER_TOOL], tool_choice={"type": "tool", "name": "nope"}),
        "tool_choice.tool.name: Tool 'nope' not found"),
    "a thinking block the mock never issued": (
        message_body([user(), turn("assistant", {"type": "thinking", "thinking": "hm", "signature": "x"}), user()]),
        "messages.1.content.0: Invalid `signature` in `thinking` block"),
    "thinking on, tool loop turn without its thinking": (
        message_body(TOOL_LOOP, tools=[WEATHER_TOOL], thinking={"type": "enabled", "budget_tokens": 1024}),
        "a final `assistant` message must start with a thinking block"),
    "no max_tokens": ({"model": CURRENT_CLAUDE, "messages": [user()]}, "max_tokens: Field required"),
}


@pytest.mark.parametrize("body, message", REJECTED_MESSAGES.values(), ids=REJECTED_MESSAGES.keys())
def test_messages_rejects_what_the_api_rejects(mock, body, message):
    response = post_message(mock, body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
    assert message in error["error"]["message"]


# --- Anthropic: what the mock answers ---------------------------------------------------------


@pytest.fixture
def claude(mock):
    return anthropic.Anthropic(base_url=mock.url, api_key="sk-ant-test", max_retries=0, timeout=5)


THINKING = {"type": "enabled", "budget_tokens": 1024}


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
def test_thinking_round_trip_and_tampering(claude, streamed):
    """A thinking block replayed as issued is accepted; one with altered text gets the API's 400."""
    question = [{"role": "user", "content": "weather in Paris?"}]
    ask = dict(model=CURRENT_CLAUDE, max_tokens=2048, thinking=THINKING, tools=[WEATHER_TOOL])
    if streamed:
        with claude.messages.stream(messages=question, **ask) as stream:
            first = stream.get_final_message()
    else:
        first = claude.messages.create(messages=question, **ask)
    thinking, call = first.content
    assert thinking.type == "thinking" and thinking.thinking == "The user wrote 3 words; answer them."
    assert call.type == "tool_use" and call.input == {"location": "Paris"}
    replay = [block.model_dump(exclude_none=True) for block in first.content]
    result = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}]}

    answer = claude.messages.create(messages=[*question, {"role": "assistant", "content": replay}, result], **ask)
    assert answer.content[-1].text == "echo: sunny"

    replay[0]["thinking"] += " (edited)"
    with pytest.raises(anthropic.BadRequestError, match="Invalid `signature` in `thinking` block"):
        claude.messages.create(messages=[*question, {"role": "assistant", "content": replay}, result], **ask)


def test_omitted_thinking_and_redacted_thinking_round_trip(claude):
    ask = dict(model=CURRENT_CLAUDE, max_tokens=2048, tools=[WEATHER_TOOL])
    omitted = claude.messages.create(messages=[{"role": "user", "content": "hi"}],
                                     thinking={"type": "adaptive", "display": "omitted"}, **ask)
    assert omitted.content[0].type == "thinking" and omitted.content[0].thinking == "" and omitted.content[0].signature

    question = [{"role": "user", "content": f"weather? {REDACTED_THINKING_TRIGGER}"}]
    first = claude.messages.create(messages=question, thinking=THINKING, **ask)
    redacted, call = first.content
    assert redacted.type == "redacted_thinking" and redacted.data
    replay = [block.model_dump(exclude_none=True) for block in first.content]
    result = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "rain"}]}
    assert claude.messages.create(messages=[*question, {"role": "assistant", "content": replay}, result],
                                  thinking=THINKING, **ask).content[-1].text == "echo: rain"
    replay[0]["data"] = replay[0]["data"][:-4] + "AAA="
    with pytest.raises(anthropic.BadRequestError, match="Invalid `data` in `redacted_thinking` block"):
        claude.messages.create(messages=[*question, {"role": "assistant", "content": replay}, result],
                               thinking=THINKING, **ask)


def test_structured_output_answers_json_of_the_schema(claude):
    answer = claude.messages.create(model=CURRENT_CLAUDE, max_tokens=256, messages=[user("forecast")],
                                    output_config=STRUCTURED)
    assert json.loads(answer.content[0].text) == {"city": "mock", "days": [1]}


def test_forced_tool_gets_arguments_matching_its_schema(claude):
    tool = {"name": "record_forecast", "input_schema": FORECAST_SCHEMA}
    answer = claude.messages.create(model=OLD_CLAUDE, max_tokens=256, messages=[user("forecast")],
                                    tools=[WEATHER_TOOL, tool], tool_choice={"type": "tool", "name": "record_forecast"})
    assert (answer.content[0].name, answer.content[0].input) == ("record_forecast", {"city": "mock", "days": [1]})


def test_prompt_cache_written_then_read(claude):
    system = [{"type": "text", "text": "You are a terse weather bot.", "cache_control": {"type": "ephemeral"}}]
    ask = dict(model=CURRENT_CLAUDE, max_tokens=64, system=system)
    first = claude.messages.create(messages=[{"role": "user", "content": "hi there"}], **ask)
    assert (first.usage.cache_creation_input_tokens, first.usage.cache_read_input_tokens) == (6, 0)
    assert first.usage.input_tokens == 2
    later = claude.messages.create(messages=[{"role": "user", "content": "hi there"},
                                             {"role": "assistant", "content": "echo: hi there"},
                                             {"role": "user", "content": "again"}], **ask)
    assert (later.usage.cache_creation_input_tokens, later.usage.cache_read_input_tokens) == (0, 6)
    assert later.usage.input_tokens == 2 + 3 + 1


# --- OpenAI ------------------------------------------------------------------------------------


def post_chat(mock, body: dict) -> requests.Response:
    return requests.post(mock.openai_url + "/chat/completions", json=body, headers={"Authorization": "Bearer sk-test"},
                         timeout=5)


def chat_body(messages: list[dict], model: str = "gpt-4o", **fields) -> dict:
    return {"model": model, "messages": messages, **fields}


CALL = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
CUSTOM_CALL = {"id": "call_2", "type": "custom", "custom": {"name": "run_sql", "input": "select 1"}}

ACCEPTED_CHATS = {
    "developer and system messages": chat_body(
        [{"role": "developer", "content": "terse"}, user(), {"role": "system", "content": "x"}]),
    "tool loop": chat_body([user(), {"role": "assistant", "content": None, "tool_calls": [CALL, CUSTOM_CALL]},
                            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
                            {"role": "tool", "tool_call_id": "call_2", "content": "1"}]),
    "custom tool": chat_body([user()], tools=[{"type": "custom", "custom": {"name": "run_sql"}}]),
    "json_schema": chat_body([user()], response_format={
        "type": "json_schema", "json_schema": {"name": "forecast", "schema": FORECAST_SCHEMA}}),
    "json_object mentioning JSON": chat_body([user("answer in JSON")], response_format={"type": "json_object"}),
    "reasoning model": chat_body([user()], model="o4-mini", reasoning_effort="high", max_completion_tokens=100),
    "vendor fields (OpenAI-compatible servers)": chat_body([user()], top_k=5),
}


@pytest.mark.parametrize("body", ACCEPTED_CHATS.values(), ids=ACCEPTED_CHATS.keys())
def test_chat_accepts_the_current_api(mock, body):
    response = post_chat(mock, body)
    assert response.status_code == 200, response.text


REJECTED_CHATS = {
    "no messages": (chat_body([]), "messages", "empty array"),
    "unknown role": (chat_body([{"role": "bot", "content": "x"}]), "messages[0].role", "Invalid value: 'bot'"),
    "tool message without tool_calls": (
        chat_body([user(), {"role": "tool", "tool_call_id": "call_1", "content": "x"}]),
        "messages.[1].role", "must be a response to a preceeding message with 'tool_calls'"),
    "tool call left unanswered": (
        chat_body([user(), {"role": "assistant", "content": None, "tool_calls": [CALL]}, user()]),
        "messages.[2].role", "did not have response messages: call_1"),
    "tool call id over 40 characters": (
        chat_body([user(), {"role": "assistant", "content": None, "tool_calls": [{**CALL, "id": "c" * 41}]},
                   {"role": "tool", "tool_call_id": "c" * 41, "content": "x"}]),
        "messages[1].tool_calls[0].id", "maximum length 40"),
    "assistant without content or calls": (chat_body([user(), {"role": "assistant", "content": None}, user()]),
                                           "messages[1].content", "expected a string, got null"),
    "Anthropic block in OpenAI content": (chat_body([turn("user", tool_result())]),
                                          "messages[0].content[0].type", "Invalid value: 'tool_result'"),
    "json_schema without a name": (
        chat_body([user()], response_format={"type": "json_schema", "json_schema": {"schema": {}}}),
        "response_format.json_schema.name", "Missing required parameter"),
    "json_object without the word": (chat_body([user()], response_format={"type": "json_object"}), "messages",
                                     "must contain the word 'json'"),
    "unknown reasoning_effort": (chat_body([user()], model="o4-mini", reasoning_effort="extreme"), "reasoning_effort",
                                 "Invalid value: 'extreme'"),
    "reasoning_effort on gpt-4o": (chat_body([user()], reasoning_effort="high"), "reasoning_effort",
                                   "'reasoning_effort' is not supported with this model"),
    "max_tokens on a reasoning model": (chat_body([user()], model="o4-mini", max_tokens=100), "max_tokens",
                                        "Use 'max_completion_tokens' instead"),
    "temperature on a reasoning model": (chat_body([user()], model="o4-mini", temperature=0.2), "temperature",
                                         "Only the default (1) value is supported"),
    "tool name with a space": (chat_body([user()], tools=[{"type": "function", "function": {"name": "get weather"}}]),
                               "tools[0].function.name", "does not match pattern"),
}


@pytest.mark.parametrize("body, param, message", REJECTED_CHATS.values(), ids=REJECTED_CHATS.keys())
def test_chat_rejects_what_the_api_rejects(mock, body, param, message):
    response = post_chat(mock, body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["type"], error["param"]) == ("invalid_request_error", param)
    assert message in error["message"]


@pytest.fixture
def oai(mock):
    return openai.OpenAI(base_url=mock.openai_url, api_key="sk-test", max_retries=0, timeout=5)


def test_chat_answers(oai):
    structured = oai.chat.completions.create(
        model="gpt-4o", messages=[user("forecast")],
        response_format={"type": "json_schema", "json_schema": {"name": "forecast", "schema": FORECAST_SCHEMA}})
    assert json.loads(structured.choices[0].message.content) == {"city": "mock", "days": [1]}

    reasoned = oai.chat.completions.create(model="o4-mini", messages=[user("two words")], reasoning_effort="low")
    assert reasoned.choices[0].message.model_extra["reasoning_content"] == "The user wrote 2 words; answer them."
    assert reasoned.usage.completion_tokens_details.reasoning_tokens == 7

    long_prompt = "word " * 1024  # OpenAI caches prompts of 1024 tokens and more
    history = [user(long_prompt), {"role": "assistant", "content": "echo: hi"}, user("again")]
    cached = oai.chat.completions.create(model="gpt-4o", messages=history)
    assert cached.usage.prompt_tokens_details.cached_tokens == 1024 + 2
    short = [user("hi there"), {"role": "assistant", "content": "echo: hi there"}, user("again")]
    assert oai.chat.completions.create(model="gpt-4o", messages=short).usage.prompt_tokens_details.cached_tokens == 0
    keyed = oai.chat.completions.create(model="gpt-4o", messages=short, prompt_cache_key="conversation-1")
    assert keyed.usage.prompt_tokens_details.cached_tokens == 5


def test_custom_tool_gets_a_custom_call(oai):
    tools = [{"type": "custom", "custom": {"name": "run_sql", "description": "Run SQL"}}]
    answer = oai.chat.completions.create(model="gpt-4o", messages=[user("count rows")], tools=tools)
    call = answer.choices[0].message.tool_calls[0]
    assert (call.type, call.custom.name) == ("custom", "run_sql")


def test_streamed_reasoning_comes_before_the_answer(oai):
    stream = oai.chat.completions.create(model="o4-mini", messages=[user("hi")], stream=True)
    deltas = [chunk.choices[0].delta for chunk in stream if chunk.choices]
    reasoning = "".join(delta.model_extra.get("reasoning_content") or "" for delta in deltas)
    assert reasoning == "The user wrote 1 words; answer them."
    assert "".join(delta.content or "" for delta in deltas) == "echo: hi"


# --- the scripted agent ------------------------------------------------------------------------


def test_agent_calls_its_tool_then_answers_with_the_result(mock, claude):
    mock.serve("/v1/messages", Agent("get_weather", {"location": "Oslo"}, reply="Forecast: {result}"))
    question = [{"role": "user", "content": "weather?"}]
    first = claude.messages.create(model=CURRENT_CLAUDE, max_tokens=64, messages=question, tools=[WEATHER_TOOL])
    call = first.content[0]
    assert (call.name, call.input) == ("get_weather", {"location": "Oslo"})
    result = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "snow"}]}
    history = [*question, {"role": "assistant", "content": [call.model_dump()]}, result]
    assert claude.messages.create(model=CURRENT_CLAUDE, max_tokens=64, messages=history,
                                  tools=[WEATHER_TOOL]).content[0].text == "Forecast: snow"
    # Without the tool on offer it answers like the plain mock, and it still checks requests.
    plain = claude.messages.create(model=CURRENT_CLAUDE, max_tokens=64, messages=question)
    assert plain.content[0].text == "echo: weather?"
    with pytest.raises(anthropic.BadRequestError):
        claude.messages.create(model=CURRENT_CLAUDE, max_tokens=64, messages=[])


# --- Gemini generateContent ---------------------------------------------------------------------

GEMINI_PATH = "/v1beta/models/gemini-3-pro-preview:generateContent"
GEMINI_HEADERS = {"x-goog-api-key": "gemini-test"}
GEMINI_USER = {"role": "user", "parts": [{"text": "weather in Paris?"}]}
GEMINI_TOOLS = [{"functionDeclarations": [{"name": "get_weather", "parametersJsonSchema": WEATHER_TOOL["input_schema"]}]}]


def post_gemini(mock, body: dict, headers: dict | None = None) -> requests.Response:
    return requests.post(mock.url + GEMINI_PATH, json=body, headers=headers or GEMINI_HEADERS, timeout=10)


def gemini_call_turn(mock) -> dict:
    return post_gemini(mock, {"contents": [GEMINI_USER], "tools": GEMINI_TOOLS}).json()["candidates"][0]["content"]


def gemini_result() -> dict:
    return {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"output": "sunny"}}}]}


@pytest.mark.parametrize("body", [
    {"contents": [GEMINI_USER]},
    {"contents": [GEMINI_USER], "systemInstruction": {"parts": [{"text": "be brief"}]},
     "generationConfig": {"temperature": 0.3, "maxOutputTokens": 100, "thinkingConfig": {"thinkingBudget": 1024}},
     "safetySettings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_NONE"}]},
    {"contents": [GEMINI_USER], "generationConfig": {"responseMimeType": "application/json",
                                                     "responseJsonSchema": FORECAST_SCHEMA}},
], ids=["minimal", "options", "structured"])
def test_generate_content_accepts_the_current_api(mock, body):
    reply = post_gemini(mock, body)
    assert reply.status_code == 200, reply.text
    assert reply.json()["candidates"][0]["finishReason"] == "STOP"


@pytest.mark.parametrize(("body", "message"), [
    ({"contents": []}, "contents is not specified"),
    ({"contents": [GEMINI_USER], "model": "x"}, 'Unknown name "model"'),
    ({"contents": [{"role": "user", "parts": [{"txt": "hi"}]}]}, 'Unknown name "txt"'),
    ({"contents": [{"role": "assistant", "parts": [{"text": "hi"}]}]}, "valid role"),
    ({"contents": [{"role": "user", "parts": [{}]}]}, "required oneof field 'data'"),
    ({"contents": [GEMINI_USER], "generationConfig": {"thinkingConfig": {"thinkingBudget": 1, "thinkingLevel": "LOW"}}},
     "only one of thinking budget and thinking level"),
    ({"contents": [GEMINI_USER], "generationConfig": {"responseJsonSchema": {"type": "object"}}},
     "response_mime_type"),
    ({"contents": [GEMINI_USER, gemini_result()]}, "number of function response parts"),
], ids=["no contents", "unknown field", "unknown part field", "role", "empty part", "budget and level",
        "schema without json", "unpaired response"])
def test_generate_content_rejects_what_the_api_rejects(mock, body, message):
    reply = post_gemini(mock, body)
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT" and message in error["message"]


def test_gemini_thought_signatures_must_come_back(mock):
    call_turn = gemini_call_turn(mock)
    signed = {"contents": [GEMINI_USER, call_turn, gemini_result()], "tools": GEMINI_TOOLS}
    assert post_gemini(mock, signed).json()["candidates"][0]["content"]["parts"] == [{"text": "echo: sunny"}]
    unsigned = {**call_turn, "parts": [{"functionCall": call_turn["parts"][0]["functionCall"]}]}
    reply = post_gemini(mock, {"contents": [GEMINI_USER, unsigned, gemini_result()], "tools": GEMINI_TOOLS})
    assert reply.status_code == 400 and "missing a thought_signature" in reply.json()["error"]["message"]
    skipped = {**call_turn, "parts": [{**unsigned["parts"][0], "thoughtSignature": "skip_thought_signature_validator"}]}
    assert post_gemini(mock, {"contents": [GEMINI_USER, skipped, gemini_result()], "tools": GEMINI_TOOLS}).ok


def test_gemini_needs_a_key(mock):
    reply = post_gemini(mock, {"contents": [GEMINI_USER]}, headers={"content-type": "application/json"})
    assert reply.status_code == 403 and reply.json()["error"]["status"] == "PERMISSION_DENIED"
