"""What Chat Completions rejects with 400 invalid_request_error, checked the way api.openai.com does.

The pinned SDK's ``CompletionCreateParams`` is the reference for what is accepted; the messages
are the API's own. Each check returns the first problem as (message, param), or None. Unknown
top-level fields pass: api.openai.com refuses them, but an OpenAI-type provider is as often an
OpenAI-compatible server (vLLM, OpenRouter, DeepSeek) that takes vendor fields.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .openai_wire import is_reasoning_model

ROLES = ("system", "developer", "user", "assistant", "tool", "function")
# The content part types each role takes (ChatCompletion*MessageParam in the SDK).
PART_TYPES = {
    "system": ("text",),
    "developer": ("text",),
    "user": ("text", "image_url", "input_audio", "file"),
    "assistant": ("text", "refusal"),
    "tool": ("text",),
    "function": ("text",),
}
REASONING_EFFORTS = {"none", "minimal", "low", "medium", "high", "xhigh", "max"}
RESPONSE_FORMATS = {"text", "json_object", "json_schema"}
_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
# Models without reasoning: they reject reasoning_effort ("Unsupported parameter").
_NON_REASONING_MODEL = re.compile(r"^(gpt-4|gpt-3\.5|chatgpt-4o)")

Problem = tuple[str, "str | None"]
Check = Callable[[dict], "Problem | None"]


def _required(body: dict) -> Problem | None:
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "you must provide a model parameter", "model"
    messages = body.get("messages")
    if not isinstance(messages, list):
        return "Missing required parameter: 'messages'.", "messages"
    if not messages:
        return ("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array "
                "instead.", "messages")
    return None


def _messages(body: dict) -> Problem | None:
    for index, message in enumerate(body["messages"]):
        where = f"messages[{index}]"
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            role = message.get("role") if isinstance(message, dict) else None
            return (f"Invalid value: '{role}'. Supported values are: 'system', 'assistant', 'user', 'function', "
                    "'tool', and 'developer'.", f"{where}.role")
        content = message.get("content")
        if message["role"] == "assistant":
            if content is None and not message.get("tool_calls") and not message.get("function_call"):
                return f"Invalid value for '{where}.content': expected a string, got null.", f"{where}.content"
            for position, call in enumerate(message.get("tool_calls") or []):
                problem = _tool_call_problem(call, f"{where}.tool_calls[{position}]")
                if problem:
                    return problem
        elif not isinstance(content, (str, list)):
            return f"Invalid value for '{where}.content': expected a string, got null.", f"{where}.content"
        for position, part in enumerate(content if isinstance(content, list) else []):
            kind = part.get("type") if isinstance(part, dict) else None
            allowed = PART_TYPES[message["role"]]
            if kind not in allowed:
                listed = ", ".join(f"'{name}'" for name in allowed)
                return f"Invalid value: '{kind}'. Supported values are: {listed}.", f"{where}.content[{position}].type"
    return None


def _tool_call_problem(call: object, where: str) -> Problem | None:
    kind = call.get("type") if isinstance(call, dict) else None
    if kind not in ("function", "custom"):
        return f"Invalid value: '{kind}'. Supported values are: 'function' and 'custom'.", f"{where}.type"
    detail = call.get(kind) or {}
    if not call.get("id"):
        return f"Missing required parameter: '{where}.id'.", f"{where}.id"
    if not isinstance(detail.get("name"), str) or not detail["name"]:
        return f"Missing required parameter: '{where}.{kind}.name'.", f"{where}.{kind}.name"
    payload = "arguments" if kind == "function" else "input"
    if not isinstance(detail.get(payload), str):
        return f"Missing required parameter: '{where}.{kind}.{payload}'.", f"{where}.{kind}.{payload}"
    return None


MAX_TOOL_CALL_ID = 40


def _tool_messages(body: dict) -> Problem | None:
    """Tool messages answer the tool_calls of the assistant message before them, every one of them."""
    pending: list[str] = []
    for index, message in enumerate(body["messages"]):
        if message["role"] == "tool":
            if message.get("tool_call_id") not in pending:
                return ("Invalid parameter: messages with role 'tool' must be a response to a preceeding message "
                        "with 'tool_calls'.", f"messages.[{index}].role")
            pending.remove(message["tool_call_id"])
            continue
        if pending:
            return ("An assistant message with 'tool_calls' must be followed by tool messages responding to each "
                    f"'tool_call_id'. The following tool_call_ids did not have response messages: {', '.join(pending)}",
                    f"messages.[{index}].role")
        pending = [call["id"] for call in message.get("tool_calls") or []] if message["role"] == "assistant" else []
        for number, call_id in enumerate(pending):
            if len(call_id) > MAX_TOOL_CALL_ID:
                return (f"Invalid 'messages[{index}].tool_calls[{number}].id': string too long. Expected a string with "
                        f"maximum length {MAX_TOOL_CALL_ID}, but got a string with length {len(call_id)} instead.",
                        f"messages[{index}].tool_calls[{number}].id")
    return None


def _tools(body: dict) -> Problem | None:
    for index, tool in enumerate(body.get("tools") or []):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind not in ("function", "custom"):
            return f"Invalid value: '{kind}'. Supported values are: 'function' and 'custom'.", f"tools[{index}].type"
        name = (tool.get(kind) or {}).get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            return (f"Invalid 'tools[{index}].{kind}.name': string does not match pattern. Expected a string that "
                    "matches the pattern '^[a-zA-Z0-9_-]+$'.", f"tools[{index}].{kind}.name")
    return None


def _response_format(body: dict) -> Problem | None:
    response_format = body.get("response_format")
    if response_format is None:
        return None
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind not in RESPONSE_FORMATS:
        return (f"Invalid value: '{kind}'. Supported values are: 'json_object', 'json_schema', and 'text'.",
                "response_format.type")
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            return "Missing required parameter: 'response_format.json_schema.name'.", "response_format.json_schema.name"
        if not _NAME.match(spec["name"]):
            return ("Invalid 'response_format.json_schema.name': string does not match pattern.",
                    "response_format.json_schema.name")
        if "schema" in spec and not isinstance(spec["schema"], dict):
            return ("Invalid type for 'response_format.json_schema.schema': expected an object.",
                    "response_format.json_schema.schema")
    if kind == "json_object" and not any("json" in str(m.get("content")).lower() for m in body["messages"]):
        return ("'messages' must contain the word 'json' in some form, to use 'response_format' of type "
                "'json_object'.", "messages")
    return None


def _reasoning(body: dict) -> Problem | None:
    effort = body.get("reasoning_effort")
    model = body["model"]
    if effort is not None and effort not in REASONING_EFFORTS:
        return (f"Invalid value: '{effort}'. Supported values are: 'none', 'minimal', 'low', 'medium', 'high', "
                "'xhigh', and 'max'.", "reasoning_effort")
    if effort is not None and _NON_REASONING_MODEL.match(model):
        return "Unsupported parameter: 'reasoning_effort' is not supported with this model.", "reasoning_effort"
    if not is_reasoning_model(model):
        return None
    if body.get("max_tokens") is not None:
        return ("Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' "
                "instead.", "max_tokens")
    if body.get("temperature") not in (None, 1):
        return (f"Unsupported value: 'temperature' does not support {body['temperature']} with this model. Only the "
                "default (1) value is supported.", "temperature")
    return None


CHECKS: tuple[Check, ...] = (_required, _messages, _tool_messages, _tools, _response_format, _reasoning)


def problem(body: dict) -> Problem | None:
    """The API's 400 (message, param) for a POST /v1/chat/completions body, or None when accepted."""
    return next((found for check in CHECKS if (found := check(body))), None)
