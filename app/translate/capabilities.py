"""What the target model accepts, for shaping a translated request so that its API takes it.

A translated request names a model the client picked for another API; fields with no
counterpart there are dropped, and a few fields the target API rejects in combination are
shaped here. Models are recognised by id, as the providers name them:

| capability | models | effect when absent |
|---|---|---|
| ``reasoning`` (OpenAI format) | ``o1``, ``o3``, ``o4``..., ``gpt-5*``, ``gpt-oss*``, ``codex*``, ids naming ``reason``/``think``, ``qwq``, ``qwen3*`` | ``reasoning_effort`` dropped (gpt-4o and most compatible servers answer 400 to it); ``max_tokens`` kept instead of ``max_completion_tokens`` |
| ``native_structured_output`` (Anthropic) | Claude Opus >= 4.1, Sonnet and Haiku >= 4.5 | ``output_config.format`` becomes a forced tool whose input is the answer |
| ``exclusive_sampling`` (Anthropic) | the same current Claude models | they reject ``temperature`` together with ``top_p``: ``top_p`` is dropped |
"""
import re
from dataclasses import dataclass
from functools import lru_cache

_OPENAI_REASONING = re.compile(r"(^|/)(o\d|gpt-5|gpt-oss|codex)|reason|think|qwq|qwen3", re.IGNORECASE)
_CLAUDE_VERSION = re.compile(r"claude-(opus|sonnet|haiku)-(\d+)(?:-(\d{1,2}))?(?:-|$|@)")
# First version of each family with structured outputs and the temperature/top_p exclusion.
_CURRENT_CLAUDE = {"opus": (4, 1), "sonnet": (4, 5), "haiku": (4, 5)}


@dataclass(frozen=True)
class Target:
    """The upstream model a translated request goes to, and what it accepts."""

    model: str
    reasoning: bool = False
    native_structured_output: bool = False
    exclusive_sampling: bool = False
    default_max_tokens: int = 4096  # Anthropic requires max_tokens; OpenAI clients may omit it


def _current_claude(model: str) -> bool:
    match = _CLAUDE_VERSION.search(model)
    if not match:
        return False
    family, major, minor = match.group(1), int(match.group(2)), int(match.group(3) or 0)
    return (major, minor) >= _CURRENT_CLAUDE[family]


@lru_cache(maxsize=1024)  # called for every translated request; a few regex searches, same answer per model
def target_for(wire_format: str, model: str) -> Target:
    if wire_format == "anthropic":
        current = _current_claude(model)
        return Target(model, reasoning=True, native_structured_output=current, exclusive_sampling=current)
    return Target(model, reasoning=bool(_OPENAI_REASONING.search(model)), native_structured_output=True)
