"""Anthropic ``message`` replies <-> hub message: the same form.

Into the hub, a ``tool_use`` of the structured-output fallback tool (``request``) becomes
the text answer it stands for: its input, as JSON, with stop reason ``end_turn``.
"""
import orjson

from ..usage import usage_from_anthropic
from .request import STRUCTURED_OUTPUT_TOOL


def _is_structured_output(block: dict) -> bool:
    return block.get("type") == "tool_use" and block.get("name") == STRUCTURED_OUTPUT_TOOL


def response_to_hub(message: dict) -> dict:
    blocks = message.get("content") or []
    if not any(_is_structured_output(block) for block in blocks):
        return message
    content = [{"type": "text", "text": orjson.dumps(block.get("input") or {}).decode()}
               if _is_structured_output(block) else block for block in blocks]
    other_tools = any(block.get("type") == "tool_use" for block in content)
    stop_reason = message.get("stop_reason")
    return {**message, "content": content,
            "stop_reason": "end_turn" if stop_reason == "tool_use" and not other_tools else stop_reason}


def response_from_hub(message: dict, model: str) -> dict:
    return {**message, "model": model}


def usage_of(message: dict):
    return usage_from_anthropic(message.get("usage"))
