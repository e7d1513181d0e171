"""cost_usd: a call's price from the model's configured prices, cached input included."""
from pathlib import Path

import pytest

from app.config import ConfigError, parse_config
from app.translate import Usage, usage_from_anthropic, usage_from_openai
from app.usage import cost_usd

SONNET = {"input_cost_per_mtok": 3, "output_cost_per_mtok": 15, "cache_read_cost_per_mtok": 0.3,
          "cache_write_cost_per_mtok": 3.75}


def model(**prices):
    raw = {"providers": [{"name": "p", "type": "anthropic", "models": [{"id": "m", **prices}]}]}
    return parse_config(raw, Path("cortex.yaml"), environ={}).providers[0].models[0]


@pytest.mark.parametrize("prices, usage, expected", [
    # No price configured: no cost (not 0: the usage API sums only priced records).
    ({}, Usage(input_tokens=1000, output_tokens=10), None),
    ({"cache_read_cost_per_mtok": 0.3}, Usage(input_tokens=1000), None),
    # Plain input and output.
    ({"input_cost_per_mtok": 2.5, "output_cost_per_mtok": 10}, Usage(input_tokens=1_000_000, output_tokens=100_000),
     2.5 + 1.0),
    ({"output_cost_per_mtok": 10}, Usage(input_tokens=1_000_000, output_tokens=1_000_000), 10.0),
    ({"input_cost_per_mtok": 2}, Usage(input_tokens=500_000, output_tokens=1_000_000), 1.0),
    # Cache prices configured: 1M input of which 600k read and 300k written, 100k uncached.
    (SONNET, Usage(input_tokens=1_000_000, output_tokens=0, cache_read_tokens=600_000, cache_creation_tokens=300_000),
     0.1 * 3 + 0.6 * 0.3 + 0.3 * 3.75),
    # Unset cache prices default to the input price: the same as if nothing were cached.
    ({"input_cost_per_mtok": 3, "output_cost_per_mtok": 15},
     Usage(input_tokens=1_000_000, output_tokens=1_000_000, cache_read_tokens=600_000, cache_creation_tokens=300_000),
     3.0 + 15.0),
    ({"input_cost_per_mtok": 3, "cache_write_cost_per_mtok": 3.75},
     Usage(input_tokens=1_000_000, cache_read_tokens=600_000, cache_creation_tokens=400_000), 0.6 * 3 + 0.4 * 3.75),
    # A free cache read is a price, not "unset".
    ({"input_cost_per_mtok": 3, "cache_read_cost_per_mtok": 0},
     Usage(input_tokens=1_000_000, cache_read_tokens=1_000_000), 0.0),
    # Counters that do not add up (a provider reporting more cached than total) never go negative.
    (SONNET, Usage(input_tokens=100, cache_read_tokens=1_000_000), 0.3),
    # A transcription billed by duration has no tokens to price.
    ({"input_cost_per_mtok": 3}, Usage(audio_seconds=12.5), 0.0),
])
def test_cost(prices, usage, expected):
    cost = cost_usd(model(**prices), usage)
    assert cost == (None if expected is None else pytest.approx(expected))


def test_no_model_config_no_cost():
    assert cost_usd(None, Usage(input_tokens=10)) is None


@pytest.mark.parametrize("reported, parse, expected", [
    # Anthropic counts only uncached input in input_tokens: 100k uncached, 600k read, 300k written.
    ({"input_tokens": 100_000, "cache_read_input_tokens": 600_000, "cache_creation_input_tokens": 300_000,
      "output_tokens": 0}, usage_from_anthropic, 0.1 * 3 + 0.6 * 0.3 + 0.3 * 3.75),
    # OpenAI counts all input in prompt_tokens, the cached part again in cached_tokens; no writes.
    ({"prompt_tokens": 1_000_000, "completion_tokens": 0, "prompt_tokens_details": {"cached_tokens": 600_000}},
     usage_from_openai, 0.4 * 3 + 0.6 * 0.3),
], ids=["anthropic", "openai"])
def test_usage_of_either_wire_format_is_priced_by_its_parts(reported, parse, expected):
    assert cost_usd(model(**SONNET), parse(reported)) == pytest.approx(expected)


@pytest.mark.parametrize("field", ["cache_read_cost_per_mtok", "cache_write_cost_per_mtok"])
def test_a_negative_cache_price_stops_start_up(field):
    with pytest.raises(ConfigError, match=rf"providers\[0\]\.models\[0\]\.{field}"):
        model(**{field: -1})
