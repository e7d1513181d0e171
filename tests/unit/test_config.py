"""cortex.yaml loading: env expansion, validation messages that name the key path."""
import hashlib
import textwrap

import pytest

from app.config import ConfigError, expand_env, exposed_development_key, load_config, parse_config
from app.routing import Router

MINIMAL = {"api_keys": [{"name": "k", "key": "secret-key-123"}],
           "providers": [{"name": "oa", "type": "openai", "api_keys": ["sk-1"]}]}


@pytest.mark.parametrize("template, environ, expected", [
    ("${A}", {"A": "1"}, "1"),
    ("${A}", {}, ""),
    ("${A:-fallback}", {}, "fallback"),
    ("${A:-fallback}", {"A": ""}, "fallback"),
    ("${A:-fallback}", {"A": "set"}, "set"),
    ("x-${A}-${B:-b}", {"A": "a"}, "x-a-b"),
    ("no references", {}, "no references"),
])
def test_expand_env(template, environ, expected):
    assert expand_env(template, environ) == expected


@pytest.mark.parametrize("patch, message", [
    ({"providers": [{"name": "p", "type": "openai", "base_url": "ftp://x"}]}, "providers[0].base_url: not a URL"),
    ({"providers": [{"name": "p", "type": "nope"}]}, "providers[0].type: Must be one of"),
    ({"providers": [{"name": "p", "type": "azure"}]}, "providers[0].base_url: required for type azure"),
    ({"server": {"port": "80"}}, "server.port: Not a valid integer"),
    ({"server": {"colour": "blue"}}, "server.colour: Unknown field"),
    ({"api_keys": [{"name": "k"}]}, "api_keys[0].key: set exactly one of key or key_sha256"),
    ({"api_keys": [{"name": "k", "key": "x", "permissions": ["root"]}]}, "api_keys[0].permissions[0]: Must be one of"),
    ({"api_keys": [{"name": "k", "key": "x", "rate_limit": "lots"}]}, "api_keys[0].rate_limit: not a rate limit"),
    ({"virtual_models": [{"name": "v", "candidates": [{"provider": "ghost", "model": "m"}]}]},
     "virtual_models[0].candidates[0].provider: unknown provider 'ghost'"),
    ({"provider_patterns": {"ghost": "g/"}}, "provider_patterns.ghost: unknown provider"),
    ({"caching": {"response_cache_ttl_secs": 0}}, "caching.response_cache_ttl_secs"),
    ({"storage": {"database_url": "mysql://x"}}, "storage.database_url: expected sqlite"),
])
def test_invalid_config_names_the_key_path(tmp_path, patch, message):
    with pytest.raises(ConfigError) as excinfo:
        parse_config({**MINIMAL, **patch}, tmp_path / "cortex.yaml", environ={})
    assert message in str(excinfo.value)


def test_missing_provider_key_is_remembered_not_fatal(tmp_path):
    path = tmp_path / "cortex.yaml"
    # DESIGN.md writes `[${VAR}]`, which is not plain YAML; it must load anyway.
    path.write_text(textwrap.dedent("""
        providers:
          - name: openai
            type: openai
            api_keys: [${OPENAI_TEST_KEY}, ${SECOND_TEST_KEY:-}]
    """))
    config = load_config(path, environ={})
    provider = config.provider("openai")
    assert provider.api_keys == ()
    assert provider.missing_key_variables == ("OPENAI_TEST_KEY", "SECOND_TEST_KEY")
    assert provider.base_url == "https://api.openai.com/v1"


def test_env_overrides_and_relative_sqlite_path(tmp_path):
    config = parse_config(MINIMAL, tmp_path / "cortex.yaml", environ={"CORTEX_PORT": "9001", "CORTEX_WORKERS": "3"})
    assert (config.server.port, config.server.workers) == (9001, 3)
    assert config.storage.database_url == f"sqlite:///{tmp_path}/cortex.db"


def test_secrets_collected_for_scrubbing(tmp_path):
    config = parse_config(MINIMAL, tmp_path / "c.yaml", environ={})
    assert "secret-key-123" in config.secrets
    assert all(len(s) >= 8 for s in config.secrets)


def test_shipped_config_loads_without_provider_keys():
    config = load_config("cortex.yaml", environ={})
    assert config.server.port == 8090
    assert [p.name for p in config.providers] == ["openai", "anthropic", "gemini"]
    assert config.provider("openai").missing_key_variables == ("OPENAI_API_KEY",)
    assert config.provider("gemini").missing_key_variables == ("GEMINI_API_KEY",)


@pytest.mark.parametrize("environ, refused", [
    ({}, False),                                            # shipped: 127.0.0.1 with the development key
    ({"CORTEX_HOST": "0.0.0.0"}, True),
    ({"CORTEX_HOST": "::"}, True),
    ({"CORTEX_HOST": "cortex.example.com"}, True),
    ({"CORTEX_HOST": "localhost"}, False),
    ({"CORTEX_HOST": "0.0.0.0", "CORTEX_ADMIN_KEY": "a-secret-of-my-own-0123"}, False),
])
def test_the_development_key_is_refused_on_a_reachable_address(environ, refused):
    problem = exposed_development_key(load_config("cortex.yaml", environ=environ))
    assert bool(problem) == refused
    if refused:
        assert "CORTEX_ADMIN_KEY" in problem and "127.0.0.1" in problem


def test_shipped_config_takes_the_admin_key_from_the_environment():
    config = load_config("cortex.yaml", environ={"CORTEX_ADMIN_KEY": "a-secret-of-my-own-0123"})
    assert config.api_keys[0].key_digest == hashlib.sha256(b"a-secret-of-my-own-0123").digest()
    assert load_config("cortex.yaml", environ={}).server.host == "127.0.0.1"


@pytest.mark.parametrize("model, provider, priced_by", [
    ("claude-sonnet-4-5-20250929", "anthropic", "claude-sonnet-4-5-20250929"),  # Claude Code's defaults
    ("claude-opus-4-5", "anthropic", "claude-opus-4-5-20251101"),
    ("claude-haiku-4-5-20251001", "anthropic", "claude-haiku-4-5-20251001"),
    ("claude-opus-4-6", "anthropic", "claude-*"),                     # a newer model than the file
    ("gpt-5", "openai", "gpt-5"), ("gpt-5-codex", "openai", "gpt-5-codex"),  # Codex
    ("gpt-4.1", "openai", "gpt-4.1"), ("gpt-5.1-codex-max", "openai", "gpt-*"),
    ("o3", "openai", "o3"), ("o3-pro", "openai", "o[0-9]*"),
    ("gemini-2.5-pro", "gemini", "gemini-2.5-pro"), ("gemini-3.1-pro-preview", "gemini", "gemini-*"),  # Gemini CLI
])
def test_the_shipped_config_routes_and_prices_current_model_names(model, provider, priced_by):
    route = Router(load_config("cortex.yaml", environ={})).resolve(model).routes[0]
    assert (route.provider.name, route.model.startswith(model.split("-2025")[0])) == (provider, True)
    entry = route.provider.model(route.model)
    assert entry.id == priced_by and entry.input_cost_per_mtok and entry.output_cost_per_mtok
