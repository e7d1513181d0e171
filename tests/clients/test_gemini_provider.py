"""Clients of the other formats against a native Gemini provider: thought signatures survive the tool loop.

The Gemini mock signs every functionCall it emits and answers 400 INVALID_ARGUMENT when the
first call of a model step comes back without its ``thoughtSignature`` (the real API's rule
for Gemini 3). Cortex carries the signature inside the tool call's id, which every client
echoes, so the second turn succeeds only if the id came back and Cortex put the signature
back on the functionCall.
"""

import pytest

from tests.clients.gemini_setup import GEMINI_MODEL, gemini_client, genai, genai_types
from tests.clients.test_claude_code import assert_task_done, notes, run_claude_code  # noqa: F401 - notes: a fixture
from tests.mocks import Agent
from tests.mocks import gemini_wire
from tests.mocks.conversation import sign
from tests.mocks.gemini_rules import call_signature

GENERATE = f"/v1beta/models/{GEMINI_MODEL}:generateContent"
STREAM = f"/v1beta/models/{GEMINI_MODEL}:streamGenerateContent"
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "parameters": {"type": "object", "properties": {"location": {"type": "string"}}}}}
EXPECTED_SIGNATURE = sign(call_signature({"name": "get_weather", "args": {"location": "Paris"}}))


def _gemini_requests(mock) -> list:
    return [request for request in mock.requests if request.path in (GENERATE, STREAM)]


def _replayed_call(request) -> dict:
    model_turn = [content for content in request.json["contents"] if content["role"] == "model"][-1]
    return next(part for part in model_turn["parts"] if "functionCall" in part)


def _openai_ask(client, messages, streamed):
    options = dict(model=GEMINI_MODEL, messages=messages, tools=[WEATHER], reasoning_effort="high")
    if not streamed:
        return client.chat.completions.create(**options).choices[0].message
    with client.chat.completions.stream(**options) as stream:
        return stream.get_final_completion().choices[0].message


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
def test_openai_client_tool_loop_keeps_gemini_signatures(cortex, mock, streamed):
    client = cortex.openai(timeout=30)
    messages = [{"role": "user", "content": "weather in Paris?"}]

    call_turn = _openai_ask(client, messages, streamed)
    call = call_turn.tool_calls[0]
    assert call.function.name == "get_weather"
    assert call_turn.reasoning_content  # Gemini's thought summary, for display
    messages += [call_turn, {"role": "tool", "tool_call_id": call.id, "content": "sunny"}]
    answer = _openai_ask(client, messages, streamed)

    assert answer.content == "echo: sunny"
    first, second = _gemini_requests(mock)
    assert first.json["generationConfig"]["thinkingConfig"]["includeThoughts"] is True
    assert _replayed_call(second)["thoughtSignature"] == EXPECTED_SIGNATURE
    assert "id" not in _replayed_call(second)["functionCall"]  # Gemini sent none; Cortex made one up
    assert second.json["contents"][-1]["parts"][0]["functionResponse"] == {
        "name": "get_weather", "response": {"output": "sunny"}}


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
def test_anthropic_client_tool_loop_keeps_gemini_signatures(cortex, mock, streamed):
    client = cortex.anthropic(timeout=30)
    tools = [{"name": "get_weather", "input_schema": WEATHER["function"]["parameters"]}]
    options = dict(model=GEMINI_MODEL, max_tokens=4096, tools=tools,
                   thinking={"type": "enabled", "budget_tokens": 2048})
    messages = [{"role": "user", "content": "weather in Paris?"}]

    def ask():
        if not streamed:
            return client.messages.create(messages=messages, **options)
        with client.messages.stream(messages=messages, **options) as stream:
            return stream.get_final_message()

    first = ask()
    assert [block.type for block in first.content] == ["thinking", "tool_use"]
    assert first.stop_reason == "tool_use"
    call = first.content[1]
    messages += [{"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in first.content]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}]}]
    second = ask()

    assert second.content[-1].text == "echo: sunny"
    assert _replayed_call(_gemini_requests(mock)[1])["thoughtSignature"] == EXPECTED_SIGNATURE


def test_a_call_without_its_signature_is_rejected_as_gemini_does(cortex, mock):
    """A Gemini client replaying a call without the signature: passed through, and the mock's
    (the API's) 400 comes back in Google's envelope."""
    client = gemini_client(cortex)
    types = genai_types
    contents = [
        types.Content(role="user", parts=[types.Part(text="weather in Paris?")]),
        types.Content(role="model", parts=[types.Part(function_call=types.FunctionCall(
            name="get_weather", args={"location": "Paris"}))]),
        types.Content(role="user", parts=[types.Part(function_response=types.FunctionResponse(
            name="get_weather", response={"output": "sunny"}))]),
    ]
    with pytest.raises(genai.errors.ClientError) as raised:
        client.models.generate_content(model=GEMINI_MODEL, contents=contents)
    assert raised.value.code == 400 and raised.value.status == "INVALID_ARGUMENT"
    assert "thought_signature" in raised.value.message


def test_claude_code_tool_task_to_gemini(claude_code, cortex, mock, tmp_path, notes):
    agent = Agent("Read", {"file_path": str(notes)}, reply="notes.txt says: {result}")
    mock.serve(GENERATE, agent)
    mock.serve(STREAM, agent)

    result = run_claude_code(claude_code, cortex, GEMINI_MODEL, "What does notes.txt say?", tmp_path)

    assert_task_done(result)
    follow_up = next(request for request in _gemini_requests(mock) if gemini_wire.answers_tool_result(request.json))
    assert _replayed_call(follow_up)["functionCall"]["name"] == "Read"
    assert _replayed_call(follow_up)["thoughtSignature"]
