"""Offline input-token estimate for ``count_tokens`` on providers that have no such endpoint.

Heuristic: about ``CHARS_PER_TOKEN`` characters per token over every piece of text the
model reads (system, message text, thinking, tool names and inputs, tool results, the
JSON of the tool definitions), plus ``MESSAGE_OVERHEAD_TOKENS`` per message for role
markers, plus a flat ``ATTACHMENT_TOKENS`` per image or binary document, whose real cost
depends on pixel size or page count, unknown without decoding. ``ATTACHMENT_TOKENS``
matches Anthropic's formula (width * height / 750) for a ~1.15 megapixel image, the size
Anthropic scales larger images down to. Expect +-20% on prose, worse on code or non-Latin
scripts; the result is at least 1.
"""

import json
import math

CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD_TOKENS = 4
ATTACHMENT_TOKENS = 1600


def _measure(content) -> tuple[int, int]:
    """(characters of text, number of attachments) in a string or a list of blocks."""
    if isinstance(content, str):
        return len(content), 0
    chars = attachments = 0
    for block in content or []:
        kind = block.get("type")
        source = block.get("source") or {}
        if kind == "text":
            chars += len(block.get("text", ""))
        elif kind == "thinking":
            chars += len(block.get("thinking", ""))
        elif kind == "tool_use":
            chars += len(block.get("name", "")) + len(json.dumps(block.get("input") or {}))
        elif kind == "tool_result":
            nested_chars, nested_attachments = _measure(block.get("content"))
            chars += nested_chars
            attachments += nested_attachments
        elif kind == "document" and source.get("type") == "text":
            chars += len(source.get("data", ""))
        elif kind in ("image", "document"):
            attachments += 1
        else:
            chars += len(json.dumps(block))
    return chars, attachments


def estimate_input_tokens(anthropic_body: dict) -> int:
    messages = anthropic_body.get("messages") or []
    chars, attachments = _measure(anthropic_body.get("system"))
    if anthropic_body.get("tools"):
        chars += len(json.dumps(anthropic_body["tools"]))
    for message in messages:
        message_chars, message_attachments = _measure(message.get("content"))
        chars += message_chars
        attachments += message_attachments
    tokens = math.ceil(chars / CHARS_PER_TOKEN)
    tokens += MESSAGE_OVERHEAD_TOKENS * len(messages) + ATTACHMENT_TOKENS * attachments
    return max(tokens, 1)
