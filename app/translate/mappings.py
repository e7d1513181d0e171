"""Value vocabularies that differ between the APIs: stop reasons, ids, reasoning effort
and error types. Every mapping is a table here; the translators only look values up.

Stop reasons (Anthropic is the hub; the OpenAI column is what an OpenAI client sees)

| Anthropic ``stop_reason`` | OpenAI ``finish_reason`` | back to Anthropic |
|---|---|---|
| ``end_turn`` | ``stop`` | ``end_turn`` |
| ``stop_sequence`` | ``stop`` | ``end_turn`` (OpenAI does not say a stop sequence matched) |
| ``max_tokens`` | ``length`` | ``max_tokens`` |
| ``model_context_window_exceeded`` | ``length`` | ``max_tokens`` |
| ``tool_use`` | ``tool_calls`` | ``tool_use`` (also for ``function_call``, and for ``stop`` after tool calls) |
| ``refusal`` | ``content_filter`` | ``refusal`` |
| ``pause_turn`` | ``stop`` (a server tool paused; OpenAI has no such state) | — |

Reasoning: OpenAI ``reasoning_effort`` <-> Anthropic ``thinking`` / ``output_config.effort``

| OpenAI ``reasoning_effort`` | Anthropic request | Anthropic request -> OpenAI |
|---|---|---|
| ``none`` | ``thinking: {type: disabled}`` | ``disabled`` -> no ``reasoning_effort`` (the model's default) |
| ``minimal`` | ``enabled``, ``budget_tokens`` 1024 (Anthropic's minimum) | budget < 4096 -> ``low`` |
| ``low`` | ``enabled``, 1024 | budget < 4096 -> ``low`` |
| ``medium`` | ``enabled``, 8192 | 4096..16383 -> ``medium`` |
| ``high`` | ``enabled``, 24576 | 16384..32767 -> ``high`` |
| ``xhigh`` | ``enabled``, 32768 | 32768..63999 -> ``xhigh`` |
| ``max`` | ``enabled``, 64000 | >= 64000 -> ``max`` |
| — | ``adaptive`` (with ``output_config.effort``) | that ``effort`` (same five words), else none |
| — | ``output_config.effort`` without thinking | that ``effort`` |

The budgets round-trip exactly. Budgets are shrunk to fit below ``max_tokens`` (Anthropic
requires ``budget_tokens < max_tokens``); thinking is left off when less than 1024 would
remain. ``reasoning_effort`` is sent only to models that reason (``capabilities``).
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
REASONING_EFFORT_BUDGETS = {"minimal": 1024, "low": 1024, "medium": 8192, "high": 24576, "xhigh": 32768,
                            "max": 64000}
# (lowest budget, effort), highest first: the effort whose budget is nearest from below.
_EFFORT_BY_BUDGET = ((64000, "max"), (32768, "xhigh"), (16384, "high"), (4096, "medium"), (0, "low"))
ANTHROPIC_EFFORTS = frozenset({"low", "medium", "high", "xhigh", "max"})


def reasoning_effort_for_budget(budget_tokens: int) -> str:
    return next(effort for lowest, effort in _EFFORT_BY_BUDGET if budget_tokens >= lowest)


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
            "param": None,
        }
    }


def anthropic_error_from_openai(error: dict | str | None) -> dict:
    """An OpenAI ``error`` payload as the data of an Anthropic ``error`` event."""
    message = error.get("message") if isinstance(error, dict) else error
    return {"type": "error", "error": {"type": "api_error", "message": message or "upstream error"}}
