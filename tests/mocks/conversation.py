"""The mock model's "brain": what it answers, shared by the OpenAI and Anthropic wire formats.

Both wire modules reduce their request to the same few facts (texts, tools, whether the last
turn is a tool result) and render the decided ``Turn`` in their own format, so the two APIs
always answer the same conversation the same way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field, replace

# Arguments of the tool call the mock makes to a tool that takes a location; fixed so tests
# can assert on them.
TOOL_CALL_ARGUMENTS = {"location": "Paris"}


@dataclass(frozen=True)
class Turn:
    """The assistant turn the mock decided on: either text or one call to ``tool_name``, optionally
    preceded by reasoning (``thinking``; "" when the client asked for it omitted)."""

    text: str | None
    tool_name: str | None
    prompt_tokens: int
    completion_tokens: int
    tool_arguments: dict = field(default_factory=dict)
    thinking: str | None = None
    redacted_thinking: bool = False  # answer with a redacted_thinking block instead of thinking

    @property
    def tool_arguments_json(self) -> str:
        return json.dumps(self.tool_arguments)

    def with_reasoning(self, thinking: str, redacted: bool = False) -> Turn:
        tokens = self.completion_tokens + count_words(thinking)
        return replace(self, thinking=thinking, redacted_thinking=redacted, completion_tokens=tokens)


def decide_turn(
    *,
    prompt_texts: list[str],
    last_input_text: str,
    tools: dict[str, dict],
    forced_tool: str | None,
    tools_allowed: bool,
    answering_tool_result: bool,
) -> Turn:
    """Call a tool when tools are offered (the forced one, else the first), otherwise (or once a
    tool result is back) echo.

    Answering a tool result with text is what lets a client's tool loop terminate. ``tools`` maps
    each offered tool's name to its parameters' JSON schema.
    """
    prompt_tokens = sum(count_words(text) for text in prompt_texts)
    if tools and tools_allowed and not answering_tool_result:
        name = forced_tool if forced_tool in tools else next(iter(tools))
        return tool_turn(name, tool_call_arguments(tools[name]), prompt_tokens)
    return text_turn(f"echo: {last_input_text}", prompt_tokens)


def tool_call_arguments(parameters: dict) -> dict:
    """TOOL_CALL_ARGUMENTS for a tool that takes a location (tests assert on them), else a small
    valid instance of the tool's parameters (a forced tool standing in for structured output)."""
    if set(TOOL_CALL_ARGUMENTS) <= set((parameters or {}).get("properties") or {}):
        return dict(TOOL_CALL_ARGUMENTS)
    return schema_instance(parameters or {"type": "object"})


def text_turn(text: str, prompt_tokens: int) -> Turn:
    return Turn(text, None, prompt_tokens, count_words(text))


def tool_turn(name: str, arguments: dict, prompt_tokens: int) -> Turn:
    return Turn(None, name, prompt_tokens, count_words(json.dumps(arguments)), arguments)


def reasoning_text(last_input_text: str) -> str:
    """What the mock "thinks" before answering: deterministic, so tests can assert on it."""
    return f"The user wrote {count_words(last_input_text)} words; answer them."


# --- signed reasoning ----------------------------------------------------------------------------
# Anthropic returns a signature with each thinking block (and opaque data in redacted_thinking)
# and answers 400 when a replayed block was altered. The mock signs what it emits with an HMAC
# of the text, so a block that comes back changed, or one it never issued, is detected.
_SIGNING_KEY = b"cortex-mock-upstream-thinking-signature"


def sign(text: str) -> str:
    return base64.b64encode(hmac.new(_SIGNING_KEY, text.encode(), hashlib.sha256).digest()).decode()


def signature_valid(text: str, signature: object) -> bool:
    return isinstance(signature, str) and hmac.compare_digest(sign(text), signature)


def redacted_data(thinking: str) -> str:
    """Opaque redacted_thinking data: the text and its signature, encoded, as the API's is encrypted."""
    return base64.b64encode(json.dumps([thinking, sign(thinking)]).encode()).decode()


def redacted_data_valid(data: object) -> bool:
    try:
        thinking, signature = json.loads(base64.b64decode(str(data), validate=True))
    except (ValueError, TypeError):
        return False
    return isinstance(thinking, str) and signature_valid(thinking, signature)


# --- structured output ---------------------------------------------------------------------------


def schema_instance(schema: dict, defs: dict | None = None) -> object:
    """A small JSON value valid against ``schema``: what the mock answers under a json_schema format.

    Covers what clients generate from Pydantic models and zod: objects (every property, so
    optional fields are exercised too), arrays, scalars, enum/const, anyOf/oneOf/allOf, $ref.
    """
    defs = schema.get("$defs") or schema.get("definitions") or defs or {}
    if "$ref" in schema:
        return schema_instance(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for combinator in ("anyOf", "oneOf"):
        if schema.get(combinator):
            options = [option for option in schema[combinator] if option.get("type") != "null"]
            return schema_instance((options or schema[combinator])[0], defs)
    if schema.get("allOf"):
        merged: dict = {}
        for part in schema["allOf"]:
            value = schema_instance(part, defs)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        return {name: schema_instance(sub, defs) for name, sub in (schema.get("properties") or {}).items()}
    if kind == "array":
        return [schema_instance(schema.get("items") or {}, defs) for _ in range(schema.get("minItems", 1))]
    return _SCALARS.get(kind, _string)(schema)


# Strings in the formats Pydantic and zod schemas name, so that clients can parse them.
_STRING_FORMATS = {
    "date-time": "2026-01-01T00:00:00Z",
    "date": "2026-01-01",
    "time": "00:00:00",
    "email": "mock@example.com",
    "uri": "https://example.com/mock",
    "uuid": "00000000-0000-4000-8000-000000000000",
}


def _string(schema: dict) -> str:
    if schema.get("format") in _STRING_FORMATS:
        return _STRING_FORMATS[schema["format"]]
    return "mock"[: schema.get("maxLength", 4)].ljust(schema.get("minLength", 0), "x")


def _number(default: float):
    def bounded(schema: dict) -> float:
        value = schema.get("minimum", default)
        return min(value, schema["maximum"]) if "maximum" in schema else value
    return bounded


_SCALARS = {
    "string": _string,
    "integer": _number(1),
    "number": _number(1.5),
    "boolean": lambda schema: True,
    "null": lambda schema: None,
}


def count_words(text: str) -> int:
    """The mock's deterministic token count: whitespace-separated words."""
    return len(text.split())


def text_of(content: object) -> str:
    """Plain text of a message ``content`` in either API: a string or a list of content parts.

    Text parts contribute their ``text``; Anthropic ``tool_result`` parts contribute their own
    content; images, tool_use blocks and the like contribute nothing.
    """
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    texts = []
    for part in content:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text":
            texts.append(str(part.get("text", "")))
        elif part.get("type") == "tool_result":
            texts.append(text_of(part.get("content")))
    return " ".join(text for text in texts if text)


def word_pieces(text: str) -> list[str]:
    """Split text into one streaming delta per word, keeping the spaces so the pieces join back."""
    return re.findall(r"\s*\S+\s*$|\s*\S+", text) or [text]


def fragments(text: str, size: int = 8) -> list[str]:
    """Split a string (tool-call JSON) into fixed-size fragments, like partial JSON deltas."""
    return [text[start : start + size] for start in range(0, len(text), size)]
