"""Non-streamed replies: ``GenerateContentResponse`` <-> hub message.

Gemini -> hub: candidate 0's parts become blocks (``parts.reply_blocks``: thoughts as
unsigned thinking, ``functionCall`` as ``tool_use`` with the signature in its id);
``finishReason`` maps through ``parts.STOP_REASONS`` (``tool_use`` when calls were made);
a prompt blocked before any candidate (``promptFeedback.blockReason``) is a ``refusal``.
Dropped: other candidates, ``safetyRatings``, ``citationMetadata``, ``groundingMetadata``
and ``logprobsResult``.

Hub -> Gemini: one candidate; thinking and redacted thinking as ``thought`` parts a client
can replay (``parts.thought_part``), text, ``functionCall``; ``usageMetadata`` from the
hub usage (Anthropic does not count thinking apart, so ``thoughtsTokenCount`` is absent).
"""
from ..mappings import anthropic_message_id
from ..usage import usage_from_anthropic, usage_from_gemini, usage_to_anthropic, usage_to_gemini
from . import parts as gemini_parts


def response_to_hub(reply: dict) -> dict:
    candidate = (reply.get("candidates") or [{}])[0]
    content = gemini_parts.reply_blocks((candidate.get("content") or {}).get("parts") or [])
    has_calls = any(block["type"] == "tool_use" for block in content)
    blocked = not reply.get("candidates") and (reply.get("promptFeedback") or {}).get("blockReason")
    return {
        "id": anthropic_message_id(reply.get("responseId")),
        "type": "message",
        "role": "assistant",
        "model": reply.get("modelVersion"),
        "content": content,
        "stop_reason": "refusal" if blocked else gemini_parts.stop_reason(candidate.get("finishReason"),
                                                                         has_tool_calls=has_calls),
        "stop_sequence": None,
        "usage": usage_to_anthropic(usage_from_gemini(reply.get("usageMetadata"))),
    }


def reply_part(block: dict) -> dict | None:
    kind = block.get("type")
    if kind in ("thinking", "redacted_thinking"):
        return gemini_parts.thought_part(block)
    if kind == "text":
        return {"text": block.get("text", "")}
    if kind == "tool_use":
        return gemini_parts.function_call_part(block)
    return None  # server tool blocks: already executed upstream


def response_from_hub(message: dict, model: str) -> dict:
    parts = [part for block in message.get("content") or [] if (part := reply_part(block)) is not None]
    return {
        "candidates": [{"content": {"role": "model", "parts": parts},
                        "finishReason": gemini_parts.finish_reason(message.get("stop_reason")), "index": 0}],
        "usageMetadata": usage_to_gemini(usage_from_anthropic(message.get("usage"))),
        "modelVersion": model,
        "responseId": (message.get("id") or "").removeprefix("msg_"),
    }


def usage_of(reply: dict):
    return usage_from_gemini(reply.get("usageMetadata"))
