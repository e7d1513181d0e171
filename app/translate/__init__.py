"""Pure translation between the OpenAI Chat Completions and Anthropic Messages formats.

No I/O, no Flask, no logging: every function takes and returns plain JSON-shaped dicts,
and the stream translators are state machines fed one parsed event at a time.

Modules: ``usage`` (normalised token counts), ``mappings`` (stop reasons, ids, reasoning
effort, error types), ``content`` (content parts/blocks, tool calls), ``requests``,
``responses``, ``streams``, ``cache_control`` and ``token_estimate``. Each module's
docstring lists what it cannot translate and what it does instead.
"""

from .cache_control import inject_anthropic_cache_control
from .mappings import ANTHROPIC_TO_OPENAI_FINISH, OPENAI_TO_ANTHROPIC_STOP
from .requests import anthropic_request_to_openai, openai_request_to_anthropic
from .responses import anthropic_response_to_openai, openai_response_to_anthropic
from .streams import AnthropicStreamToOpenAI, OpenAIStreamToAnthropic
from .token_estimate import estimate_input_tokens
from .usage import Usage, usage_from_anthropic, usage_from_openai, usage_to_anthropic, usage_to_openai

__all__ = [
    "ANTHROPIC_TO_OPENAI_FINISH",
    "OPENAI_TO_ANTHROPIC_STOP",
    "AnthropicStreamToOpenAI",
    "OpenAIStreamToAnthropic",
    "Usage",
    "anthropic_request_to_openai",
    "anthropic_response_to_openai",
    "estimate_input_tokens",
    "inject_anthropic_cache_control",
    "openai_request_to_anthropic",
    "openai_response_to_anthropic",
    "usage_from_anthropic",
    "usage_from_openai",
    "usage_to_anthropic",
    "usage_to_openai",
]
