"""Anthropic wire format: messages (plain and as SSE events), errors, models, token counting."""

from __future__ import annotations

import itertools

from .conversation import (
    TOOL_CALL_ARGUMENTS,
    TOOL_CALL_ARGUMENTS_JSON,
    Turn,
    decide_turn,
    fragments,
    text_of,
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


def _prompt_texts(request: dict) -> list[str]:
    return [text_of(request.get("system"))] + [text_of(m.get("content")) for m in request.get("messages") or []]


def decide_message_turn(request: dict) -> Turn:
    user_turns = [m for m in request.get("messages") or [] if m.get("role") == "user"]
    last_user_content = user_turns[-1].get("content") if user_turns else ""
    answering_tool_result = isinstance(last_user_content, list) and any(
        isinstance(block, dict) and block.get("type") == "tool_result" for block in last_user_content
    )
    return decide_turn(
        prompt_texts=_prompt_texts(request),
        last_input_text=text_of(last_user_content),
        tool_names=[tool["name"] for tool in request.get("tools") or [] if "name" in tool],
        tools_allowed=(request.get("tool_choice") or {}).get("type") != "none",
        answering_tool_result=answering_tool_result,
    )


def count_tokens(request: dict) -> dict:
    return {"input_tokens": decide_message_turn(request).prompt_tokens}


def _stop_reason(turn: Turn) -> str:
    return "tool_use" if turn.tool_name else "end_turn"


def _message(turn: Turn, model: str, content: list[dict], output_tokens: int) -> dict:
    return {
        "id": _next_id("msg_mock"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": turn.prompt_tokens, "output_tokens": output_tokens},
    }


def message(request: dict, model: str) -> dict:
    turn = decide_message_turn(request)
    if turn.tool_name:
        block = {"type": "tool_use", "id": _next_id("toolu_mock"), "name": turn.tool_name, "input": TOOL_CALL_ARGUMENTS}
    else:
        block = {"type": "text", "text": turn.text}
    return {**_message(turn, model, [block], turn.completion_tokens), "stop_reason": _stop_reason(turn)}


def message_events(request: dict, model: str) -> list[tuple[str, dict]]:
    """The (event name, data) sequence of a streamed answer, in the order the API sends it."""
    turn = decide_message_turn(request)
    if turn.tool_name:
        block = {"type": "tool_use", "id": _next_id("toolu_mock"), "name": turn.tool_name, "input": {}}
        deltas = [{"type": "input_json_delta", "partial_json": part} for part in fragments(TOOL_CALL_ARGUMENTS_JSON)]
    else:
        block = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": piece} for piece in word_pieces(turn.text)]
    return [
        ("message_start", {"type": "message_start", "message": _message(turn, model, [], output_tokens=1)}),
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": block}),
        ("ping", {"type": "ping"}),
        *[("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}) for delta in deltas],
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
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
