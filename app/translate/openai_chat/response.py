"""Non-streamed replies: ``chat.completion`` <-> hub message (Anthropic's ``message``).

Hub -> Chat Completions: text blocks are joined into ``message.content`` (``None`` when
there is no text but tool calls), ``tool_use`` blocks become ``tool_calls``, thinking
becomes ``reasoning_content`` (the DeepSeek/vLLM convention, for display) plus
``reasoning_details`` (signed, for replay: ``reasoning``), ``refusal`` is present and null
as OpenAI's schema requires. Dropped: server tool blocks (already executed upstream), text
``citations`` and the matched ``stop_sequence``.

Chat Completions -> hub: ``reasoning_content`` becomes a leading ``thinking`` block with an
empty signature (there is none to give), then the text (or the ``refusal``, with stop
reason ``refusal``) and one ``tool_use`` block per tool call. Only the first choice is read
(translated requests never ask for more); ``logprobs`` and ``system_fingerprint`` are dropped.
"""
import time

from ..content import anthropic_tool_use_block, openai_assistant_message
from ..mappings import anthropic_message_id, anthropic_stop_reason, openai_completion_id, openai_finish_reason
from ..usage import usage_from_anthropic, usage_from_openai, usage_to_anthropic, usage_to_openai
from .reasoning import reasoning_details


def response_from_hub(message: dict, model: str) -> dict:
    blocks = message.get("content") or []
    reply = openai_assistant_message(blocks)
    reply["refusal"] = None
    reasoning = "".join(block.get("thinking", "") for block in blocks if block.get("type") == "thinking")
    if reasoning:
        reply["reasoning_content"] = reasoning
    details = reasoning_details(blocks)
    if details:
        reply["reasoning_details"] = details
    choice = {"index": 0, "message": reply, "logprobs": None,
              "finish_reason": openai_finish_reason(message.get("stop_reason"))}
    return {
        "id": openai_completion_id(message.get("id")),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
        "usage": usage_to_openai(usage_from_anthropic(message.get("usage"))),
    }


def response_to_hub(reply: dict) -> dict:
    choice = (reply.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    content: list[dict] = []
    if message.get("reasoning_content"):
        content.append({"type": "thinking", "thinking": message["reasoning_content"], "signature": ""})
    text = message.get("content") or message.get("refusal")
    if text:
        content.append({"type": "text", "text": text})
    tool_calls = message.get("tool_calls") or []
    content.extend(anthropic_tool_use_block(call) for call in tool_calls)
    finish_reason = "content_filter" if message.get("refusal") and not message.get("content") \
        else choice.get("finish_reason")
    return {
        "id": anthropic_message_id(reply.get("id")),
        "type": "message",
        "role": "assistant",
        "model": reply.get("model"),
        "content": content,
        "stop_reason": anthropic_stop_reason(finish_reason, has_tool_calls=bool(tool_calls)),
        "stop_sequence": None,
        "usage": usage_to_anthropic(usage_from_openai(reply.get("usage"))),
    }


def usage_of(reply: dict):
    return usage_from_openai(reply.get("usage"))
