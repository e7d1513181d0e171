"""Pure translation between the client and provider wire formats, through one hub.

No I/O, no Flask, no logging: every function takes and returns plain JSON-shaped dicts,
and the stream translators are state machines fed one parsed event at a time.

Layout (the growth axes): ``hub`` says what the internal form is and why; one subpackage
per format (``openai_chat``, ``anthropic``, ``gemini``, ``openai_responses``) with one module per
direction of each kind
(``request``, ``response``, ``stream``); ``formats`` registers them. Shared vocabularies:
``mappings`` (stop reasons, reasoning effort, ids, error types: one table each), ``usage``,
``content`` (content parts/blocks, tool calls), ``capabilities`` (what a target model
accepts), ``cache_control`` and ``token_estimate``. Each module's docstring lists what it
cannot translate and what it does instead.
"""

from .cache_control import inject_anthropic_cache_control
from .capabilities import Target, target_for
from .formats import FORMATS, stream_translation, translate_request, translate_response
from .token_estimate import estimate_input_tokens
from .usage import AnthropicUsageCounter, Usage, usage_from_anthropic, usage_from_gemini, usage_from_openai

__all__ = [
    "FORMATS",
    "AnthropicUsageCounter",
    "Target",
    "Usage",
    "estimate_input_tokens",
    "inject_anthropic_cache_control",
    "stream_translation",
    "target_for",
    "translate_request",
    "translate_response",
    "usage_from_anthropic",
    "usage_from_gemini",
    "usage_from_openai",
]
