"""What the Gemini API (generativelanguage.googleapis.com) rejects with 400 INVALID_ARGUMENT.

The pinned google-genai SDK's types are the reference for what is accepted: its pydantic
models of ``Content``, ``Part``, ``Tool``, ``ToolConfig`` and ``GenerationConfig`` forbid
unknown fields as the API does ("Invalid JSON payload received. Unknown name ..."). The
rules below are the ones the API states in its docs and error messages. Each check returns
the API's message for the first problem it finds, or None.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pydantic
from google.genai import types

from .conversation import signature_valid

Check = Callable[[dict], "str | None"]

# Fields of a GenerateContentRequest body (the model is in the URL).
_FIELDS = {"contents", "tools", "toolConfig", "safetySettings", "systemInstruction", "generationConfig",
           "cachedContent", "labels"}
_DATA_FIELDS = ("text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode",
                "codeExecutionResult")
# Gemini's documented value for a call it did not sign (history from another model).
SKIP_SIGNATURE = "skip_thought_signature_validator"
MISSING_SIGNATURE = (
    "Function call is missing a thought_signature in functionCall parts. This is required for tools to work "
    "correctly, and missing thought_signature may lead to degraded model performance. Additional data, function "
    "call `default_api:{name}` , position {position}. Please refer to "
    "https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
)


def call_signature(call: dict) -> str:
    """What the mock signs for a functionCall it emits: its name and arguments."""
    return call.get("name", "") + json.dumps(call.get("args") or {}, sort_keys=True)


def _typed(model: type, value: object, where: str) -> str | None:
    try:
        model.model_validate_json(json.dumps(value))
    except pydantic.ValidationError as exc:
        error = exc.errors()[0]
        path = ".".join(str(item) for item in error["loc"])
        if error["type"] == "extra_forbidden":
            return f'Invalid JSON payload received. Unknown name "{error["loc"][-1]}" at \'{where}.{path}\': ' \
                   "Cannot find field."
        return f"Invalid value at '{where}.{path}': {error['msg']}"
    return None


def _fields(body: dict) -> str | None:
    unknown = next((key for key in body if key not in _FIELDS), None)
    if unknown:
        return f'Invalid JSON payload received. Unknown name "{unknown}": Cannot find field.'
    return None


def _contents(body: dict) -> str | None:
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        return "* GenerateContentRequest.contents: contents is not specified"
    for index, content in enumerate(contents):
        found = _typed(types.Content, content, f"contents[{index}]")
        if found:
            return found
        if content.get("role") not in (None, "user", "model"):
            return f"Please use a valid role: user, model."
        parts = content.get("parts") or []
        if not parts:
            return f"* GenerateContentRequest.contents[{index}].parts: contents.parts must not be empty."
        for position, part in enumerate(parts):
            if sum(field in part for field in _DATA_FIELDS) != 1:
                return (f"* GenerateContentRequest.contents[{index}].parts[{position}].data: required oneof field "
                        "'data' must have one initialized field")
    return None


def _options(body: dict) -> str | None:
    for field, model in (("systemInstruction", types.Content), ("toolConfig", types.ToolConfig),
                         ("generationConfig", types.GenerationConfig)):
        if body.get(field) is not None:
            found = _typed(model, body[field], field)
            if found:
                return found
    for index, tool in enumerate(body.get("tools") or []):
        found = _typed(types.Tool, tool, f"tools[{index}]")
        if found:
            return found
        for declaration in tool.get("functionDeclarations") or []:
            if "parameters" in declaration and "parametersJsonSchema" in declaration:
                return "parameters and parameters_json_schema cannot both be set"
    generation = body.get("generationConfig") or {}
    thinking = generation.get("thinkingConfig") or {}
    if "thinkingBudget" in thinking and "thinkingLevel" in thinking:
        return "You can only set only one of thinking budget and thinking level."
    if "responseSchema" in generation and "responseJsonSchema" in generation:
        return "response_schema and response_json_schema cannot both be set"
    if ("responseSchema" in generation or "responseJsonSchema" in generation) \
            and generation.get("responseMimeType") != "application/json":
        return "JSON schema is only supported with response_mime_type 'application/json'"
    return None


def _function_turns(body: dict) -> str | None:
    """Each function response turn answers the call turn before it, call for call."""
    contents = body["contents"]
    for index, content in enumerate(contents):
        responses = [part for part in content.get("parts") or [] if "functionResponse" in part]
        if not responses:
            continue
        previous = contents[index - 1] if index else {}
        calls = [part for part in previous.get("parts") or [] if "functionCall" in part]
        if previous.get("role") != "model" or len(calls) != len(responses):
            return ("Please ensure that the number of function response parts is equal to the number of function "
                    "call parts of the function call turn.")
    return None


def _current_turn_start(contents: list) -> int:
    """Index after the last user content that is not only function responses: the current turn."""
    for index in range(len(contents) - 1, -1, -1):
        content = contents[index]
        parts = content.get("parts") or []
        if content.get("role", "user") == "user" and not all("functionResponse" in part for part in parts):
            return index + 1
    return 0


def _signatures(body: dict) -> str | None:
    """The first functionCall of each model step in the current turn must carry its signature."""
    contents = body["contents"]
    position = 0
    for content in contents[_current_turn_start(contents):]:
        if content.get("role") != "model":
            continue
        calls = [part for part in content.get("parts") or [] if "functionCall" in part]
        if not calls:
            continue
        first = calls[0]
        signature = first.get("thoughtSignature")
        if signature == SKIP_SIGNATURE:
            continue
        # bytes in the API: Google's SDKs send them back in URL-safe base64
        standard = signature.replace("-", "+").replace("_", "/") if isinstance(signature, str) else signature
        if not signature_valid(call_signature(first["functionCall"]), standard):
            return MISSING_SIGNATURE.format(name=first["functionCall"].get("name"), position=position + 1)
        position += 1
    return None


CHECKS: tuple[Check, ...] = (_fields, _contents, _options, _function_turns, _signatures)


def problem(body: dict) -> str | None:
    """The API's 400 message for a generateContent body, or None when it would be accepted."""
    return next((found for check in CHECKS if (found := check(body))), None)
