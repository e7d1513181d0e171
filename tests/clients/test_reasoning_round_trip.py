"""An OpenAI-format client keeps Claude's thinking across a tool loop, through Cortex.

The usual client pattern: append the assistant message object the SDK returned, then the tool's
result, and ask again. The Anthropic mock signs the thinking blocks it emits and answers 400 to a
replayed block that is missing, altered or unsigned, as the API does; so the second turn succeeds
only if Cortex returned the blocks on the OpenAI message (as OpenRouter's `reasoning_details` or
LiteLLM's `thinking_blocks`) and put them back, byte for byte, on the way to Anthropic.
"""

import pytest

from tests.clients.conftest import BUDGETED_CLAUDE_MODEL, CLAUDE_MODEL
from tests.mocks.anthropic_wire import REDACTED_THINKING_TRIGGER

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}},
    },
}


def ask(client, messages: list, model: str, streamed: bool):
    options = dict(model=model, messages=messages, tools=[WEATHER], reasoning_effort="high", max_completion_tokens=4096)
    if not streamed:
        return client.chat.completions.create(**options).choices[0].message
    with client.chat.completions.stream(**options) as stream:
        return stream.get_final_completion().choices[0].message


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("question", ["weather in Paris?", f"weather in Paris? {REDACTED_THINKING_TRIGGER}"],
                         ids=["thinking", "redacted_thinking"])
@pytest.mark.parametrize("model", [CLAUDE_MODEL, BUDGETED_CLAUDE_MODEL])
def test_openai_client_tool_loop_keeps_claude_thinking(cortex, mock, model, question, streamed):
    client = cortex.openai(timeout=30)
    messages = [{"role": "user", "content": question}]

    call_turn = ask(client, messages, model, streamed)
    call = call_turn.tool_calls[0]
    messages += [call_turn, {"role": "tool", "tool_call_id": call.id, "content": "sunny"}]
    answer = ask(client, messages, model, streamed)

    assert answer.content == "echo: sunny"
    first, second = mock.requests_to("/v1/messages")
    assert first.json["thinking"]["type"] in ("enabled", "adaptive")
    replayed = [m for m in second.json["messages"] if m["role"] == "assistant"][-1]["content"]
    kind = "redacted_thinking" if REDACTED_THINKING_TRIGGER in question else "thinking"
    assert [block["type"] for block in replayed] == [kind, "tool_use"]
