"""Google's google-genai SDK through Cortex's /gemini surface, to every provider format.

The SDK is pointed at Cortex with ``http_options.base_url`` and sends its key as
``x-goog-api-key``. A function-calling loop runs whole and streamed against an OpenAI-type, an
Anthropic-type and a Gemini-type provider (mocks that validate requests as the real APIs do),
so each translation direction and the Gemini pass-through carry calls, results and usage.
"""

import pytest

from tests.clients.conftest import BUDGETED_CLAUDE_MODEL
from tests.clients.gemini_setup import GEMINI_MODEL, gemini_client, genai_types

WEATHER = {"name": "get_weather", "description": "Weather at a location",
           "parameters": {"type": "OBJECT", "properties": {"location": {"type": "STRING"}}, "required": ["location"]}}
MODELS = {"openai": "gpt-4o", "anthropic": "claude-3-5-sonnet-20241022", "gemini": GEMINI_MODEL}
PROVIDER_PATHS = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages",
                  "gemini": f"/v1beta/models/{GEMINI_MODEL}"}


def _ask(client, contents, model: str, streamed: bool, config):
    if not streamed:
        return client.models.generate_content(model=model, contents=contents, config=config)
    chunks = list(client.models.generate_content_stream(model=model, contents=contents, config=config))
    assert chunks[-1].candidates[0].finish_reason is not None
    parts = [part for chunk in chunks for part in (chunk.candidates[0].content.parts or [])]
    usage = next((chunk.usage_metadata for chunk in reversed(chunks) if chunk.usage_metadata), None)
    return genai_types.GenerateContentResponse(
        candidates=[genai_types.Candidate(content=genai_types.Content(role="model", parts=parts),
                                          finish_reason=chunks[-1].candidates[0].finish_reason)],
        usage_metadata=usage)


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
def test_function_calling_loop(cortex, mock, provider, streamed):
    types = genai_types
    client = gemini_client(cortex)
    config = types.GenerateContentConfig(
        system_instruction="You answer weather questions.",
        tools=[types.Tool(function_declarations=[types.FunctionDeclaration(**WEATHER)])],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True))
    contents = [types.Content(role="user", parts=[types.Part(text="weather in Paris?")])]

    first = _ask(client, contents, MODELS[provider], streamed, config)
    calls = [part.function_call for part in first.candidates[0].content.parts if part.function_call]
    assert [(call.name, call.args) for call in calls] == [("get_weather", {"location": "Paris"})]
    assert first.usage_metadata.prompt_token_count > 0

    contents += [first.candidates[0].content,
                 types.Content(role="user", parts=[types.Part(function_response=types.FunctionResponse(
                     id=calls[0].id, name="get_weather", response={"output": "sunny"}))])]
    second = _ask(client, contents, MODELS[provider], streamed, config)
    assert "".join(part.text or "" for part in second.candidates[0].content.parts) == "echo: sunny"
    assert second.candidates[0].finish_reason == types.FinishReason.STOP

    upstream = [request for request in mock.requests if request.path.startswith(PROVIDER_PATHS[provider])]
    assert len(upstream) == 2


def test_count_tokens_and_models(cortex):
    client = gemini_client(cortex)
    counted = client.models.count_tokens(model="gpt-4o", contents="how many tokens are these")
    assert counted.total_tokens > 0
    listed = [model.name for model in client.models.list()]
    assert f"models/{GEMINI_MODEL}" in listed and "models/gpt-4o" in listed
    assert client.models.get(model="gpt-4o").name == "models/gpt-4o"


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
def test_claude_thinking_round_trips_through_a_gemini_client(cortex, mock, streamed):
    """Claude signs its thinking and rejects a replayed block that is missing or altered: a Gemini
    client keeps it as a thought part whose signature wraps Claude's, and sends it back as it got it."""
    types = genai_types
    client = gemini_client(cortex)
    config = types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[types.FunctionDeclaration(**WEATHER)])],
        thinking_config=types.ThinkingConfig(thinking_budget=2048, include_thoughts=True),
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True))
    contents = [types.Content(role="user", parts=[types.Part(text="weather in Paris?")])]

    first = _ask(client, contents, BUDGETED_CLAUDE_MODEL, streamed, config)
    thoughts = [part for part in first.candidates[0].content.parts if part.thought]
    assert thoughts and thoughts[-1].thought_signature
    call = next(part.function_call for part in first.candidates[0].content.parts if part.function_call)
    contents += [first.candidates[0].content,
                 types.Content(role="user", parts=[types.Part(function_response=types.FunctionResponse(
                     id=call.id, name=call.name, response={"output": "sunny"}))])]
    second = _ask(client, contents, BUDGETED_CLAUDE_MODEL, streamed, config)

    assert "".join(part.text or "" for part in second.candidates[0].content.parts if not part.thought) \
        == "echo: sunny"
    replayed = [m for m in mock.requests_to("/v1/messages")[-1].json["messages"] if m["role"] == "assistant"][-1]
    assert [block["type"] for block in replayed["content"]] == ["thinking", "tool_use"]
