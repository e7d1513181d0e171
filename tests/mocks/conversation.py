"""The mock model's "brain": what it answers, shared by the OpenAI and Anthropic wire formats.

Both wire modules reduce their request to the same few facts (texts, tools, whether the last
turn is a tool result) and render the decided ``Turn`` in their own format, so the two APIs
always answer the same conversation the same way.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

# Arguments of the single tool call the mock makes; fixed so tests can assert on them.
TOOL_CALL_ARGUMENTS = {"location": "Paris"}
TOOL_CALL_ARGUMENTS_JSON = json.dumps(TOOL_CALL_ARGUMENTS)


@dataclass(frozen=True)
class Turn:
    """The assistant turn the mock decided on: either text or one call to ``tool_name``."""

    text: str | None
    tool_name: str | None
    prompt_tokens: int
    completion_tokens: int


def decide_turn(
    *,
    prompt_texts: list[str],
    last_input_text: str,
    tool_names: list[str],
    tools_allowed: bool,
    answering_tool_result: bool,
) -> Turn:
    """Call the first tool when tools are offered, otherwise (or once a tool result is back) echo.

    Answering a tool result with text is what lets a client's tool loop terminate.
    """
    prompt_tokens = sum(count_words(text) for text in prompt_texts)
    if tool_names and tools_allowed and not answering_tool_result:
        return Turn(None, tool_names[0], prompt_tokens, count_words(TOOL_CALL_ARGUMENTS_JSON))
    text = f"echo: {last_input_text}"
    return Turn(text, None, prompt_tokens, count_words(text))


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
