"""What the Responses API rejects with 400 invalid_request_error, checked the way api.openai.com does.

The body must validate against the pinned SDK's ``ResponseCreateParams`` (pydantic reads the
TypedDicts: every item and tool type, every part, with their required fields). Beyond types:
a tool output needs the call it answers in the same input (unless the conversation continues
a stored response), a replayed reasoning item must carry the ``encrypted_content`` OpenAI
issued (the mock signs what it issues: Claude's thinking or an altered summary is refused),
and ``previous_response_id`` must name a response this upstream issued.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import TypeAdapter, ValidationError

from .conversation import signature_valid

Problem = tuple[str, "str | None"]
ISSUED_ID_MARK = "_mock"  # in every id the mock issues (responses_wire)


@lru_cache(maxsize=1)
def _params() -> TypeAdapter:
    from openai.types.responses.response_create_params import ResponseCreateParamsBase
    return TypeAdapter(ResponseCreateParamsBase)


def _required(body: dict) -> Problem | None:
    # The SDK's TypedDict leaves `model` optional (a stored prompt may name it); the API requires one here.
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "Missing required parameter: 'model'.", "model"
    return None


def _as_typed(item: object) -> object:
    """An assistant message with output_text parts as the SDK types it. The API takes one without
    the `id` and `status` its TypedDict requires (Codex replays its answers so)."""
    if isinstance(item, dict) and item.get("role") == "assistant" and isinstance(item.get("content"), list):
        return {"id": "msg_replayed", "status": "completed", "type": "message", **item}
    return item


def _tool_as_typed(tool: object) -> object:
    """A function tool as the SDK types it: the API defaults `strict` and `parameters`, the
    TypedDict requires them."""
    if isinstance(tool, dict) and tool.get("type") == "function":
        return {"strict": None, "parameters": None, **tool}
    return tool


def _typed_body(body: dict) -> dict:
    typed = dict(body)
    if isinstance(body.get("input"), list):
        typed["input"] = [_as_typed(item) for item in body["input"]]
    if isinstance(body.get("tools"), list):
        typed["tools"] = [_tool_as_typed(tool) for tool in body["tools"]]
    return typed


def _problem(exc: ValidationError, prefix: tuple = ()) -> Problem:
    # The deepest error names the field: the shallow ones are the other members of each union.
    deepest = max(exc.errors(), key=lambda error: len(error["loc"]))
    where = ".".join(str(part) for part in (*prefix, *deepest["loc"])[:2])
    return f"Invalid value at '{where}': {deepest['msg']} ({exc.error_count()} problems)", where


def _consume(value: object) -> None:
    """Run the validation pydantic defers: fields typed `Iterable[...]` (tools, content parts)
    are validated only as they are iterated."""
    if isinstance(value, dict):
        for item in value.values():
            _consume(item)
    elif isinstance(value, (list, tuple)) or hasattr(value, "__next__"):
        for item in value:
            _consume(item)


def _typed(body: dict) -> Problem | None:
    try:
        validated = _params().validate_python(_typed_body(body))
    except ValidationError as exc:
        return _problem(exc)
    for key, value in validated.items():
        try:
            _consume(value)
        except ValidationError as exc:
            return _problem(exc, (key,))
    return None


def _items(body: dict) -> list:
    value = body.get("input")
    return value if isinstance(value, list) else []


def _tool_outputs(body: dict) -> Problem | None:
    if body.get("previous_response_id"):
        return None
    calls = {item.get("call_id") for item in _items(body) if item.get("type") in ("function_call", "custom_tool_call")}
    for index, item in enumerate(_items(body)):
        if item.get("type") in ("function_call_output", "custom_tool_call_output") and item.get("call_id") not in calls:
            return f"No tool call found for function call output with call_id {item.get('call_id')}.", f"input[{index}]"
    return None


def _reasoning(body: dict) -> Problem | None:
    for index, item in enumerate(_items(body)):
        if item.get("type") != "reasoning":
            continue
        text = "".join(part.get("text", "") for part in item.get("summary") or [])
        if not signature_valid(text, item.get("encrypted_content")):
            return ("The encrypted content for item could not be verified.", f"input[{index}].encrypted_content")
    return None


def _previous(body: dict) -> Problem | None:
    previous = body.get("previous_response_id")
    if previous and ISSUED_ID_MARK not in previous:
        return f"Previous response with id '{previous}' not found.", "previous_response_id"
    return None


def problem(body: dict) -> Problem | None:
    for check in (_required, _typed, _tool_outputs, _reasoning, _previous):
        found = check(body)
        if found:
            return found
    return None
