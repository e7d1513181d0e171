"""Token usage normalised across both wire formats.

The two APIs count input tokens differently:

* OpenAI ``prompt_tokens`` counts *all* input tokens; the cached part is repeated in
  ``prompt_tokens_details.cached_tokens``. OpenAI does not report cache writes.
* Anthropic ``input_tokens`` counts only the *uncached* input tokens; cache reads and cache
  writes are reported separately in ``cache_read_input_tokens`` and
  ``cache_creation_input_tokens``.

``Usage.input_tokens`` follows the OpenAI meaning (total input), so ``usage_from_anthropic``
adds the three Anthropic counters up and ``usage_to_anthropic`` subtracts the cached ones
again. Cost accounting can still tell the parts apart through the cache fields.

* Gemini ``promptTokenCount`` counts all input (``cachedContentTokenCount`` is the cached
  part, as with OpenAI; ``toolUsePromptTokenCount`` is input too), and the output is
  ``candidatesTokenCount`` plus ``thoughtsTokenCount`` (thinking is billed as output).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0  # total input, cached tokens included (OpenAI semantics)
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0
    audio_seconds: float = 0.0  # transcriptions billed by duration

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


def _count(mapping: dict | None, key: str) -> int:
    # Upstreams send null for counters they do not know yet.
    return int((mapping or {}).get(key) or 0)


def usage_from_openai(usage: dict | None) -> Usage:
    return Usage(
        input_tokens=_count(usage, "prompt_tokens"),
        output_tokens=_count(usage, "completion_tokens"),
        cache_read_tokens=_count((usage or {}).get("prompt_tokens_details"), "cached_tokens"),
    )


def usage_from_anthropic(usage: dict | None) -> Usage:
    cache_read = _count(usage, "cache_read_input_tokens")
    cache_creation = _count(usage, "cache_creation_input_tokens")
    return Usage(
        input_tokens=_count(usage, "input_tokens") + cache_read + cache_creation,
        output_tokens=_count(usage, "output_tokens"),
        cache_read_tokens=cache_read,
        cache_creation_tokens=cache_creation,
    )


def usage_from_gemini(usage: dict | None) -> Usage:
    return Usage(
        input_tokens=_count(usage, "promptTokenCount") + _count(usage, "toolUsePromptTokenCount"),
        output_tokens=_count(usage, "candidatesTokenCount") + _count(usage, "thoughtsTokenCount"),
        cache_read_tokens=_count(usage, "cachedContentTokenCount"),
    )


def usage_to_gemini(u: Usage) -> dict:
    usage = {"promptTokenCount": u.input_tokens, "candidatesTokenCount": u.output_tokens,
             "totalTokenCount": u.total_tokens}
    if u.cache_read_tokens:
        usage["cachedContentTokenCount"] = u.cache_read_tokens
    return usage


def usage_to_openai(u: Usage) -> dict:
    return {
        "prompt_tokens": u.input_tokens,
        "completion_tokens": u.output_tokens,
        "total_tokens": u.total_tokens,
        "prompt_tokens_details": {"cached_tokens": u.cache_read_tokens},
    }


def usage_to_anthropic(u: Usage) -> dict:
    uncached = u.input_tokens - u.cache_read_tokens - u.cache_creation_tokens
    return {
        "input_tokens": max(uncached, 0),
        "output_tokens": u.output_tokens,
        "cache_read_input_tokens": u.cache_read_tokens,
        "cache_creation_input_tokens": u.cache_creation_tokens,
    }


class AnthropicUsageCounter:
    """Usage of an Anthropic-form stream: ``message_start`` gives the counters, each
    ``message_delta`` repeats some of them cumulatively (output tokens; on some models input)."""

    def __init__(self):
        self._counters: dict = {}
        self.usage = Usage()

    def update(self, usage: dict | None) -> Usage:
        self._counters.update({key: value for key, value in (usage or {}).items() if value is not None})
        self.usage = usage_from_anthropic(self._counters)
        return self.usage
