"""Non-streamed replies: Responses ``response`` objects <-> hub message (Anthropic's ``message``).

Hub -> Responses: output items in block order. A thinking block becomes a ``reasoning``
item whose summary is the thinking and whose ``encrypted_content`` is the signature (so a
client replaying it, ``store: false`` as Codex does, gives Claude its thinking back); a
redacted one carries its data behind ``REDACTED_PREFIX``. Each text block becomes an
assistant ``message`` (``refusal`` part when the stop reason is ``refusal``), each
``tool_use`` a ``function_call``, or a ``custom_tool_call`` when the request declared that
tool ``custom``. ``max_tokens`` is ``status: incomplete`` (``max_output_tokens``). The
request's own settings (``instructions``, ``tools``, ``metadata``...) are echoed as the API
does. Dropped: server tool blocks (already executed upstream), citations.

Responses -> hub: ``reasoning`` items become thinking blocks (signature from
``reasoning_signature``, so they can go back), message text and refusals text blocks,
``function_call``/``custom_tool_call`` ``tool_use`` blocks; built-in tool call items (the
upstream ran them) are left out.
"""
import time
import uuid

from ..content import arguments_from_tool_input, tool_input_from_arguments
from ..mappings import anthropic_message_id
from ..usage import Usage, usage_from_anthropic, usage_to_anthropic
from .request import CUSTOM_TOOL_INPUT, REDACTED_PREFIX, custom_input, custom_tool_names, reasoning_signature

# Request fields a response object repeats, with the API's value when the request has none.
ECHOED_FIELDS = {
    "instructions": None, "metadata": {}, "tools": [], "tool_choice": "auto", "parallel_tool_calls": True,
    "temperature": 1.0, "top_p": 1.0, "max_output_tokens": None, "previous_response_id": None,
    "reasoning": {"effort": None, "summary": None}, "text": {"format": {"type": "text"}}, "truncation": "disabled",
    "store": True, "user": None, "prompt_cache_key": None, "safety_identifier": None, "top_logprobs": 0,
}
INCOMPLETE_STOPS = {"max_tokens": "max_output_tokens", "model_context_window_exceeded": "max_output_tokens"}


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def usage_from_responses(usage: dict | None) -> Usage:
    usage = usage or {}
    return Usage(input_tokens=int(usage.get("input_tokens") or 0), output_tokens=int(usage.get("output_tokens") or 0),
                 cache_read_tokens=int((usage.get("input_tokens_details") or {}).get("cached_tokens") or 0))


def usage_to_responses(usage: Usage) -> dict:
    return {"input_tokens": usage.input_tokens, "input_tokens_details": {"cached_tokens": usage.cache_read_tokens},
            "output_tokens": usage.output_tokens, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": usage.total_tokens}


def response_object(request: dict | None, *, response_id: str, model: str, status: str, output: list,
                    usage: Usage | None, stop_reason: str | None = None, created_at: int | None = None) -> dict:
    """A ``response`` object as the API shows it (also the snapshot in stream events)."""
    request = request or {}
    body = {"id": response_id, "object": "response", "created_at": created_at or int(time.time()), "status": status,
            "background": False, "error": None, "incomplete_details": None, "model": model, "output": output,
            "usage": usage_to_responses(usage) if usage is not None else None}
    for field, default in ECHOED_FIELDS.items():
        value = request.get(field)
        body[field] = default if value is None else value
    if status == "incomplete":
        body["incomplete_details"] = {"reason": INCOMPLETE_STOPS.get(stop_reason, "max_output_tokens")}
    return body


def status_of(stop_reason: str | None) -> str:
    return "incomplete" if stop_reason in INCOMPLETE_STOPS else "completed"


def reasoning_output(block: dict, item_id: str) -> dict:
    if block.get("type") == "redacted_thinking":
        return {"type": "reasoning", "id": item_id, "summary": [],
                "encrypted_content": REDACTED_PREFIX + block.get("data", "")}
    summary = [{"type": "summary_text", "text": block["thinking"]}] if block.get("thinking") else []
    return {"type": "reasoning", "id": item_id, "summary": summary, "encrypted_content": block.get("signature") or None}


def text_part(text: str, refusal: bool = False) -> dict:
    if refusal:
        return {"type": "refusal", "refusal": text}
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def message_output(item_id: str, parts: list[dict], status: str = "completed") -> dict:
    return {"type": "message", "id": item_id, "status": status, "role": "assistant", "content": parts}


def tool_call_output(block: dict, item_id: str, custom_tools: frozenset, status: str = "completed") -> dict:
    if block.get("name") in custom_tools:
        return {"type": "custom_tool_call", "id": item_id, "call_id": block.get("id"), "name": block.get("name"),
                "input": custom_input(block.get("input")), "status": status}
    return {"type": "function_call", "id": item_id, "call_id": block.get("id"), "name": block.get("name"),
            "arguments": arguments_from_tool_input(block.get("input")), "status": status}


def _output_item(block: dict, refusal: bool, custom_tools: frozenset) -> dict | None:
    kind = block.get("type")
    if kind in ("thinking", "redacted_thinking"):
        return reasoning_output(block, new_id("rs"))
    if kind == "text":
        return message_output(new_id("msg"), [text_part(block.get("text", ""), refusal)])
    if kind == "tool_use":
        return tool_call_output(block, new_id("fc"), custom_tools)
    return None  # server tool blocks: already executed upstream


def response_from_hub(message: dict, model: str, *, request: dict | None = None) -> dict:
    stop_reason = message.get("stop_reason")
    custom_tools = custom_tool_names(request or {})
    refusal = stop_reason == "refusal"
    items = (_output_item(block, refusal, custom_tools) for block in message.get("content") or [])
    return response_object(request, response_id=new_id("resp"), model=model, status=status_of(stop_reason),
                           output=[item for item in items if item is not None], stop_reason=stop_reason,
                           usage=usage_from_anthropic(message.get("usage")))


def thinking_from_reasoning(item: dict) -> dict:
    thinking = "\n\n".join(part.get("text", "") for part in item.get("summary") or [])
    return {"type": "thinking", "thinking": thinking,
            "signature": reasoning_signature(item.get("id") or "", item.get("encrypted_content") or "")}


def _hub_blocks(item: dict) -> list[dict]:
    kind = item.get("type")
    if kind == "reasoning":
        return [thinking_from_reasoning(item)]
    if kind == "message":
        return [{"type": "text", "text": part.get("text") or part.get("refusal") or ""}
                for part in item.get("content") or [] if part.get("type") in ("output_text", "refusal")]
    if kind == "function_call":
        return [{"type": "tool_use", "id": item.get("call_id"), "name": item.get("name"),
                 "input": tool_input_from_arguments(item.get("arguments"))}]
    if kind == "custom_tool_call":
        return [{"type": "tool_use", "id": item.get("call_id"), "name": item.get("name"),
                 "input": {CUSTOM_TOOL_INPUT: item.get("input") or ""}}]
    return []


def hub_stop_reason(status: str | None, incomplete_details: dict | None, has_tool_calls: bool,
                    refused: bool = False) -> str:
    if status == "incomplete":
        reason = (incomplete_details or {}).get("reason")
        return "refusal" if reason == "content_filter" else "max_tokens"
    if refused:
        return "refusal"
    return "tool_use" if has_tool_calls else "end_turn"


def response_to_hub(reply: dict) -> dict:
    output = reply.get("output") or []
    content = [block for item in output for block in _hub_blocks(item)]
    refused = any(part.get("type") == "refusal" for item in output if item.get("type") == "message"
                  for part in item.get("content") or [])
    has_tools = any(block["type"] == "tool_use" for block in content)
    return {
        "id": anthropic_message_id(reply.get("id")), "type": "message", "role": "assistant",
        "model": reply.get("model"), "content": content,
        "stop_reason": hub_stop_reason(reply.get("status"), reply.get("incomplete_details"), has_tools, refused),
        "stop_sequence": None,
        "usage": usage_to_anthropic(usage_from_responses(reply.get("usage"))),
    }


def usage_of(reply: dict) -> Usage:
    return usage_from_responses(reply.get("usage"))
