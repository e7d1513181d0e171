"""Adapters for providers that speak the OpenAI wire format."""
from app.providers.base import ProviderAdapter, UpstreamCall


class OpenAIAdapter(ProviderAdapter):
    """Bearer auth at `base_url`: every OpenAI-compatible type but Azure (app.provider_types)."""


class AzureAdapter(ProviderAdapter):
    """Azure OpenAI: `api-key` header, the model is a deployment in the path, `api-version` query."""

    def url(self, call: UpstreamCall) -> str:
        version = self.provider.api_version or "2024-10-21"
        return f"{self.provider.base_url}/openai/deployments/{call.model}{call.path}?api-version={version}"

    def auth_headers(self, key: str) -> dict:
        return {"api-key": key}
