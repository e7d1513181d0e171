"""One adapter per wire format (plus Azure's URL/auth quirk); `build_adapters` makes them per worker."""
from app.provider_types import PROVIDER_TYPES
from app.providers.anthropic import AnthropicAdapter
from app.providers.base import ProviderAdapter, SSEStream, UpstreamCall, UpstreamReply
from app.providers.gemini import GeminiAdapter
from app.providers.openai import AzureAdapter, OpenAIAdapter

# The adapter names that entries of app.provider_types.PROVIDER_TYPES refer to.
ADAPTERS = {"openai": OpenAIAdapter, "anthropic": AnthropicAdapter, "azure": AzureAdapter, "gemini": GeminiAdapter}


def build_adapters(config, tokens=None) -> dict[str, ProviderAdapter]:
    """`tokens` is the OAuth bearer source (app.oauth.OAuthService) for auth_method oauth/auto."""
    return {p.name: ADAPTERS[PROVIDER_TYPES[p.type].adapter](p, config.secrets, tokens) for p in config.providers}


__all__ = ["ProviderAdapter", "SSEStream", "UpstreamCall", "UpstreamReply", "build_adapters"]
