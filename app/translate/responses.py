"""Non-streaming responses: Anthropic message <-> OpenAI chat.completion.

Anthropic -> OpenAI: text blocks are concatenated into ``message.content`` (``None`` when
there is no text but tool calls), ``tool_use`` blocks become ``message.tool_calls``,
``thinking`` blocks become ``message.reasoning_content`` (the DeepSeek/vLLM convention).
Dropped: ``redacted_thinking`` (encrypted), server tool blocks (``server_tool_use``,
``web_search_tool_result``, ...: already executed upstream), text ``citations`` and the
matched ``stop_sequence`` (OpenAI does not report which one matched).

OpenAI -> Anthropic: ``reasoning_content`` becomes a leading ``thinking`` block with an
empty signature (there is none to give), then the text (or the ``refusal``) and one
``tool_use`` block per tool call. Only the first choice is read (translated requests never
ask for more). ``logprobs`` and ``system_fingerprint`` are dropped.
"""

import time

from .content import anthropic_tool_use_block, openai_assistant_message
from .mappings import anthropic_message_id, anthropic_stop_reason, openai_completion_id, openai_finish_reason
from .usage import usage_from_anthropic, usage_from_openai, usage_to_anthropic, usage_to_openai


def anthropic_response_to_openai(resp: dict, *, model: str) -> dict:
    blocks = resp.get("content") or []
    message = openai_assistant_message(blocks)
    reasoning = "".join(block.get("thinking", "") for block in blocks if block.get("type") == "thinking")
    if reasoning:
        message["reasoning_content"] = reasoning
    finish_reason = openai_finish_reason(resp.get("stop_reason"))
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
    return {
        "id": openai_completion_id(resp.get("id")),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
        "usage": usage_to_openai(usage_from_anthropic(resp.get("usage"))),
    }


def openai_response_to_anthropic(resp: dict, *, model: str) -> dict:
    choice = (resp.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    content: list[dict] = []
    if message.get("reasoning_content"):
        content.append({"type": "thinking", "thinking": message["reasoning_content"], "signature": ""})
    text = message.get("content") or message.get("refusal")
    if text:
        content.append({"type": "text", "text": text})
    tool_calls = message.get("tool_calls") or []
    content.extend(anthropic_tool_use_block(call) for call in tool_calls)
    return {
        "id": anthropic_message_id(resp.get("id")),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": anthropic_stop_reason(choice.get("finish_reason"), has_tool_calls=bool(tool_calls)),
        "stop_sequence": None,
        "usage": usage_to_anthropic(usage_from_openai(resp.get("usage"))),
    }
