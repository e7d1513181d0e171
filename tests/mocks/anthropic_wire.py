"""Anthropic wire format: messages (plain and as SSE events), errors, models, token counting."""

from __future__ import annotations

import itertools
import json

from .conversation import (
    Turn,
    count_words,
    decide_turn,
    fragments,
    reasoning_text,
    redacted_data,
    schema_instance,
    sign,
    text_of,
    text_turn,
    word_pieces,
)

_ids = itertools.count(1)


def _next_id(prefix: str) -> str:
    return f"{prefix}{next(_ids)}"


# --- errors ---------------------------------------------------------------------------------

# Error types documented for each status; other 4xx are invalid requests, other 5xx api errors.
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def error_body(status: int, message: str, error_type: str | None = None) -> dict:
    default_type = _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": error_type or default_type, "message": message}}


# --- messages --------------------------------------------------------------------------------

# The documented test string that makes the API answer with a redacted_thinking block.
REDACTED_THINKING_TRIGGER = (
    "ANTHROPIC_MAGIC_STRING_TRIGGER_REDACTED_THINKING_46C9A13E193C177646C7398A98432ECCCE4C1253D5E2D82641AC0E52CC2876CB"
)


def _prompt_texts(request: dict) -> list[str]:
    return [text_of(request.get("system"))] + [text_of(m.get("content")) for m in request.get("messages") or []]


def _last_user_content(request: dict) -> object:
    user_turns = [m for m in request.get("messages") or [] if m.get("role") == "user"]
    return user_turns[-1].get("content") if user_turns else ""


def answers_tool_result(request: dict) -> bool:
    content = _last_user_content(request)
    return isinstance(content, list) and any(
        isinstance(block, dict) and block.get("type") == "tool_result" for block in content
    )


def last_tool_result_text(request: dict) -> str:
    return text_of([b for b in _last_user_content(request) if isinstance(b, dict) and b.get("type") == "tool_result"])


def prompt_tokens(request: dict) -> int:
    return sum(count_words(text) for text in _prompt_texts(request))


def tools(request: dict) -> dict[str, dict]:
    """Offered tools by name, with their input schemas (server tools have none)."""
    return {tool["name"]: tool.get("input_schema") or {} for tool in request.get("tools") or [] if "name" in tool}


def tool_names(request: dict) -> list[str]:
    return list(tools(request))


def decide_message_turn(request: dict) -> Turn:
    tool_choice = request.get("tool_choice") or {}
    return decide_turn(
        prompt_texts=_prompt_texts(request),
        last_input_text=text_of(_last_user_content(request)),
        tools=tools(request),
        forced_tool=tool_choice.get("name") if tool_choice.get("type") == "tool" else None,
        tools_allowed=tool_choice.get("type") != "none",
        answering_tool_result=answers_tool_result(request),
    )


def shape_turn(request: dict, turn: Turn) -> Turn:
    """What the request's options change in a decided turn: thinking first when thinking is on
    (empty text when display is "omitted"), and JSON matching output_config.format."""
    output_format = (request.get("output_config") or {}).get("format") or {}
    if turn.text is not None and output_format.get("type") == "json_schema":
        turn = text_turn(json.dumps(schema_instance(output_format.get("schema") or {})), turn.prompt_tokens)
    thinking = request.get("thinking") or {}
    if thinking.get("type") not in ("enabled", "adaptive"):
        return turn
    last_input = text_of(_last_user_content(request))
    text = "" if thinking.get("display") == "omitted" else reasoning_text(last_input)
    return turn.with_reasoning(text, redacted=REDACTED_THINKING_TRIGGER in last_input)


def count_tokens(request: dict) -> dict:
    return {"input_tokens": decide_message_turn(request).prompt_tokens}


def _stop_reason(turn: Turn) -> str:
    return "tool_use" if turn.tool_name else "end_turn"


def _cached_prefix_tokens(request: dict) -> int:
    """Words up to the last cache_control breakpoint (system, then messages): the cached prefix."""
    blocks: list[dict] = []
    for content in [request.get("system")] + [m.get("content") for m in request.get("messages") or []]:
        if isinstance(content, list):
            blocks += [block for block in content if isinstance(block, dict)]
        elif content:
            blocks.append({"type": "text", "text": content})
    marked = [index for index, block in enumerate(blocks) if block.get("cache_control")]
    return sum(count_words(text_of([block])) for block in blocks[: marked[-1] + 1]) if marked else 0


def _usage(request: dict, turn: Turn, output_tokens: int) -> dict:
    """Input tokens split as the API does: a cached prefix is written on a conversation's first
    turn and read on later ones (the mock keeps no cache; an assistant turn means "later")."""
    cached = _cached_prefix_tokens(request)
    follow_up = any(m.get("role") == "assistant" for m in request.get("messages") or [])
    return {
        "input_tokens": turn.prompt_tokens - cached,
        "cache_creation_input_tokens": 0 if follow_up else cached,
        "cache_read_input_tokens": cached if follow_up else 0,
        "output_tokens": output_tokens,
    }


def _message(request: dict, turn: Turn, model: str, content: list[dict], output_tokens: int) -> dict:
    return {
        "id": _next_id("msg_mock"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": None,
        "stop_sequence": None,
        "usage": _usage(request, turn, output_tokens),
    }


def _reasoning_block(turn: Turn) -> dict:
    if turn.redacted_thinking:
        return {"type": "redacted_thinking", "data": redacted_data(turn.thinking)}
    return {"type": "thinking", "thinking": turn.thinking, "signature": sign(turn.thinking)}


def message(request: dict, model: str, turn: Turn | None = None) -> dict:
    turn = shape_turn(request, turn or decide_message_turn(request))
    if turn.tool_name:
        block = {"type": "tool_use", "id": _next_id("toolu_mock"), "name": turn.tool_name, "input": turn.tool_arguments}
    else:
        block = {"type": "text", "text": turn.text}
    content = [_reasoning_block(turn), block] if turn.thinking is not None else [block]
    return {**_message(request, turn, model, content, turn.completion_tokens), "stop_reason": _stop_reason(turn)}


def _reasoning_events(turn: Turn) -> list[tuple[str, dict]]:
    """Block 0 of a streamed answer with reasoning: thinking deltas, then its signature."""
    block = _reasoning_block(turn)
    if block["type"] == "redacted_thinking":
        deltas = []
    else:
        block = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [{"type": "thinking_delta", "thinking": piece} for piece in word_pieces(turn.thinking) if piece]
        deltas.append({"type": "signature_delta", "signature": sign(turn.thinking)})
    return _block_events(0, block, deltas)


def _block_events(index: int, block: dict, deltas: list[dict]) -> list[tuple[str, dict]]:
    return [
        ("content_block_start", {"type": "content_block_start", "index": index, "content_block": block}),
        *[("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d}) for d in deltas],
        ("content_block_stop", {"type": "content_block_stop", "index": index}),
    ]


def message_events(request: dict, model: str, turn: Turn | None = None) -> list[tuple[str, dict]]:
    """The (event name, data) sequence of a streamed answer, in the order the API sends it."""
    turn = shape_turn(request, turn or decide_message_turn(request))
    if turn.tool_name:
        block = {"type": "tool_use", "id": _next_id("toolu_mock"), "name": turn.tool_name, "input": {}}
        deltas = [{"type": "input_json_delta", "partial_json": part} for part in fragments(turn.tool_arguments_json)]
    else:
        block = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": piece} for piece in word_pieces(turn.text)]
    reasoning = _reasoning_events(turn) if turn.thinking is not None else []
    blocks = reasoning + _block_events(1 if reasoning else 0, block, deltas)
    return [
        ("message_start", {"type": "message_start", "message": _message(request, turn, model, [], 1)}),
        blocks[0],  # the API sends its first ping right after the first content_block_start
        ("ping", {"type": "ping"}),
        *blocks[1:],
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": _stop_reason(turn), "stop_sequence": None},
                "usage": {"output_tokens": turn.completion_tokens},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]


# --- models ----------------------------------------------------------------------------------


def models_list(model_ids: list[str]) -> dict:
    data = [
        {"type": "model", "id": model_id, "display_name": model_id, "created_at": "2025-01-01T00:00:00Z"}
        for model_id in model_ids
    ]
    return {
        "data": data,
        "has_more": False,
        "first_id": model_ids[0] if model_ids else None,
        "last_id": model_ids[-1] if model_ids else None,
    }
