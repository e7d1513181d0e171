"""The provider-type registry (app.provider_types) and everything that reads it: config
validation and default base URLs, adapters and their wire format, the endpoints each type
serves, OAuth defaults and flows."""
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import ConfigError, parse_config
from app.errors import InvalidRequest
from app.oauth.flows import FLOW_CLASSES, CodeFlow, OpenRouterFlow, build_flow, new_session
from app.provider_types import EMBEDDINGS, MODEL_LIST, PROVIDER_TYPES, TRANSCRIPTIONS
from app.providers import ADAPTERS, build_adapters
from app.providers.anthropic import AnthropicAdapter
from app.providers.gemini import GeminiAdapter
from app.providers.openai import AzureAdapter, OpenAIAdapter
from app.routing import Route, require_endpoint

# What each type was before the registry (the six tables it replaced), one row per type:
# default base URL ("" = required), adapter, chat wire format, serves embeddings,
# transcriptions, a model list; OAuth flow.
EXPECTED = {
    "openai": ("https://api.openai.com/v1", OpenAIAdapter, "openai", True, True, True, CodeFlow),
    "anthropic": ("https://api.anthropic.com", AnthropicAdapter, "anthropic", False, False, True, CodeFlow),
    "azure": ("", AzureAdapter, "openai", True, True, False, CodeFlow),
    "mistral": ("https://api.mistral.ai/v1", OpenAIAdapter, "openai", True, False, True, CodeFlow),
    "together": ("https://api.together.xyz/v1", OpenAIAdapter, "openai", True, False, True, CodeFlow),
    "fireworks": ("https://api.fireworks.ai/inference/v1", OpenAIAdapter, "openai", True, False, True, CodeFlow),
    "groq": ("https://api.groq.com/openai/v1", OpenAIAdapter, "openai", True, True, True, CodeFlow),
    "deepseek": ("https://api.deepseek.com/v1", OpenAIAdapter, "openai", True, False, True, CodeFlow),
    "openrouter": ("https://openrouter.ai/api/v1", OpenAIAdapter, "openai", False, False, True, OpenRouterFlow),
    "qwen": ("https://dashscope.aliyuncs.com/compatible-mode/v1", OpenAIAdapter, "openai", False, False, True,
             CodeFlow),
    "google": ("https://generativelanguage.googleapis.com/v1beta/openai", OpenAIAdapter, "openai", False, False,
               True, CodeFlow),
    "gemini": ("https://generativelanguage.googleapis.com/v1beta", GeminiAdapter, "gemini", True, False, True,
               CodeFlow),
    "custom": ("", OpenAIAdapter, "openai", True, True, True, CodeFlow),
}
GIVEN_URL = "https://llm.example.net/v1"


def load(provider_type: str, **raw):
    provider = {"name": "p", "type": provider_type, "api_keys": ["sk-test-key"], **raw}
    return parse_config({"providers": [provider]}, Path("cortex.yaml"), environ={})


def test_the_table_covers_every_registered_type():
    assert set(EXPECTED) == set(PROVIDER_TYPES)


@pytest.mark.parametrize("provider_type", EXPECTED)
def test_each_type_validates_and_gets_its_adapter(provider_type):
    default_url, adapter_class, wire_format, *_ = EXPECTED[provider_type]
    config = load(provider_type, **({} if default_url else {"base_url": GIVEN_URL}))
    assert config.providers[0].base_url == (default_url or GIVEN_URL)
    adapter = build_adapters(config)["p"]
    try:
        assert type(adapter) is adapter_class
        assert adapter.wire_format == wire_format == PROVIDER_TYPES[provider_type].wire_formats[0]
    finally:
        adapter.close()


@pytest.mark.parametrize("provider_type", [name for name, row in EXPECTED.items() if not row[0]])
def test_a_type_without_a_default_base_url_needs_one(provider_type):
    with pytest.raises(ConfigError, match=rf"providers\[0\].base_url: required for type {provider_type}"):
        load(provider_type)


def test_every_entry_names_an_adapter_and_an_oauth_flow_that_exist():
    for name, kind in PROVIDER_TYPES.items():
        assert kind.adapter in ADAPTERS, name
        assert kind.oauth_flow in FLOW_CLASSES, name
        assert kind.wire_formats and all(isinstance(f, str) for f in kind.wire_formats), name


@pytest.mark.parametrize("provider_type", EXPECTED)
@pytest.mark.parametrize("endpoint, label, column", [(EMBEDDINGS, "Embeddings", 3),
                                                     (TRANSCRIPTIONS, "Audio transcriptions", 4)])
def test_endpoints_gate_embeddings_and_transcriptions(provider_type, endpoint, label, column):
    served = EXPECTED[provider_type][column]
    supported = sorted(name for name, row in EXPECTED.items() if row[column])
    route = Route(load(provider_type, base_url=GIVEN_URL).providers[0], "some-model")
    if served:
        require_endpoint((route,), endpoint, label)
        return
    with pytest.raises(InvalidRequest) as excinfo:
        require_endpoint((route,), endpoint, label)
    assert (excinfo.value.status, excinfo.value.code, excinfo.value.param) == (400, "unsupported_provider", "model")
    assert excinfo.value.message == (f"{label} are not supported by provider 'p' (type {provider_type}); "
                                     f"supported types: {', '.join(supported)}")


@pytest.mark.parametrize("provider_type", EXPECTED)
def test_model_list_served_as_before(provider_type):
    assert PROVIDER_TYPES[provider_type].serves(MODEL_LIST) is EXPECTED[provider_type][5]


@pytest.mark.parametrize("provider_type", EXPECTED)
def test_oauth_flow_and_defaults_come_from_the_entry(provider_type):
    provider = load(provider_type, base_url=GIVEN_URL, auth_method="oauth").providers[0]
    flow = build_flow(provider, new_session())
    assert type(flow) is EXPECTED[provider_type][6]
    assert flow.settings == PROVIDER_TYPES[provider_type].oauth


@pytest.mark.parametrize("provider_type, client_id, token_url", [
    ("anthropic", "9d1c250a-e61b-44d9-88ed-5944d1962f5e", "https://console.anthropic.com/v1/oauth/token"),
    ("openai", "app_EMoamEEZ73f0CkXaXp7hrann", "https://auth.openai.com/oauth/token"),
    ("qwen", "f0304373b74a44d2b584a3fb70ca9e56", "https://chat.qwen.ai/api/v1/oauth2/token"),
    ("google", "", "https://oauth2.googleapis.com/token"),
    ("openrouter", "", "https://openrouter.ai/api/v1/auth/keys"),
    ("mistral", "", ""),
])
def test_public_oauth_defaults(provider_type, client_id, token_url):
    oauth = PROVIDER_TYPES[provider_type].oauth
    assert (oauth.client_id, oauth.token_url) == (client_id, token_url)


def test_loading_the_config_imports_no_adapter():
    """gunicorn's master validates the config before forking: that must not import ssl (through
    the adapters' HTTP client) before the gevent workers patch it."""
    probe = ("import sys, app.config; "
             "print(sorted(m for m in ('ssl', 'app.providers', 'geventhttpclient') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.stdout.strip() == "[]"
