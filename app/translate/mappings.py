"""Value vocabularies that differ between the two APIs: stop reasons, ids, reasoning
effort and error types.

Stop reasons
    ``content_filter`` becomes Anthropic ``refusal`` (the stop reason Claude uses when it
    declines for safety reasons), so an Anthropic client can still tell a filtered answer
    from a normal one. ``pause_turn`` (a server tool paused the turn) has no OpenAI
    counterpart and reads as ``stop``; ``model_context_window_exceeded`` reads as ``length``.
    Unknown values fall back to ``stop`` / ``end_turn``.

Reasoning effort <-> extended thinking
    OpenAI ``reasoning_effort`` picks a fixed Anthropic ``budget_tokens`` (see
    ``REASONING_EFFORT_BUDGETS``; ``minimal`` shares the 1024-token floor Anthropic
    enforces with ``low``, ``none`` disables thinking). The way back picks the effort whose
    budget is nearest: below 4096 is ``low``, below 16384 ``medium``, otherwise ``high``,
    so the three budgets round-trip exactly.
"""

import uuid

OPENAI_TO_ANTHROPIC_STOP = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}

ANTHROPIC_TO_OPENAI_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    "pause_turn": "stop",
    "model_context_window_exceeded": "length",
}


def anthropic_stop_reason(finish_reason: str | None, *, has_tool_calls: bool) -> str:
    stop_reason = OPENAI_TO_ANTHROPIC_STOP.get(finish_reason or "", "end_turn")
    # Some OpenAI-compatible providers answer "stop" after emitting tool calls; Anthropic
    # clients run tools only on "tool_use".
    if has_tool_calls and stop_reason == "end_turn":
        return "tool_use"
    return stop_reason


def openai_finish_reason(stop_reason: str | None) -> str:
    return ANTHROPIC_TO_OPENAI_FINISH.get(stop_reason or "", "stop")


MIN_THINKING_BUDGET = 1024  # Anthropic rejects smaller budgets
REASONING_EFFORT_BUDGETS = {"minimal": 1024, "low": 1024, "medium": 8192, "high": 24576}


def reasoning_effort_for_budget(budget_tokens: int) -> str:
    if budget_tokens < 4096:
        return "low"
    if budget_tokens < 16384:
        return "medium"
    return "high"


OPENAI_ID_PREFIX = "chatcmpl-"
ANTHROPIC_ID_PREFIX = "msg_"


def _swap_prefix(upstream_id: str | None, old: str, new: str) -> str:
    if not upstream_id:
        return new + uuid.uuid4().hex
    return new + upstream_id.removeprefix(old)


def openai_completion_id(anthropic_message_id: str | None) -> str:
    """``msg_abc`` -> ``chatcmpl-abc`` (a fresh id when the upstream sent none)."""
    return _swap_prefix(anthropic_message_id, ANTHROPIC_ID_PREFIX, OPENAI_ID_PREFIX)


def anthropic_message_id(openai_completion_id: str | None) -> str:
    """``chatcmpl-abc`` -> ``msg_abc`` (a fresh id when the upstream sent none)."""
    return _swap_prefix(openai_completion_id, OPENAI_ID_PREFIX, ANTHROPIC_ID_PREFIX)


def new_tool_use_id() -> str:
    return "toolu_" + uuid.uuid4().hex


# HTTP statuses Anthropic documents for its error types; used to build the
# ``upstream_<status>`` code of DESIGN.md's provider_error envelope.
ANTHROPIC_ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}


def openai_error_from_anthropic(error: dict | None) -> dict:
    """An Anthropic ``error`` payload as the OpenAI ``{"error": {...}}`` object."""
    error = error or {}
    status = ANTHROPIC_ERROR_STATUS.get(error.get("type"), 502)
    return {
        "error": {
            "message": error.get("message") or "upstream error",
            "type": "provider_error",
            "code": f"upstream_{status}",
        }
    }


def anthropic_error_from_openai(error: dict | str | None) -> dict:
    """An OpenAI ``error`` payload as the data of an Anthropic ``error`` event."""
    message = error.get("message") if isinstance(error, dict) else error
    return {"type": "error", "error": {"type": "api_error", "message": message or "upstream error"}}
