"""Adapter for Anthropic's Messages API."""
from app.providers.base import Credential, ProviderAdapter, UpstreamCall

DEFAULT_ANTHROPIC_VERSION = "2023-06-01"
FORWARDED_HEADERS = ("anthropic-version", "anthropic-beta")
# The API takes a subscription login's bearer token only with this beta flag (see app.oauth.flows).
OAUTH_BETA = "oauth-2025-04-20"


class AnthropicAdapter(ProviderAdapter):
    def __init__(self, provider, secrets=(), tokens=None):
        super().__init__(provider, secrets, tokens)
        # base_url is the root Anthropic's SDK takes; one ending in /v1 is accepted too.
        base = provider.base_url
        self._root = base[:-3] if base.endswith("/v1") else base

    def url(self, call: UpstreamCall) -> str:
        return self._root + "/v1" + call.path

    def auth_headers(self, key: str) -> dict:
        return {"x-api-key": key}

    def forwarded_headers(self, call: UpstreamCall) -> dict:
        headers = {"anthropic-version": DEFAULT_ANTHROPIC_VERSION}
        headers.update({name: call.headers[name] for name in FORWARDED_HEADERS if call.headers.get(name)})
        return headers

    def request_headers(self, call: UpstreamCall, credential: Credential) -> dict:
        headers = super().request_headers(call, credential)
        if credential.oauth:  # Authorization: Bearer instead of x-api-key, plus the beta flag (once)
            sent = headers.get("anthropic-beta")
            if OAUTH_BETA not in (beta.strip() for beta in (sent or "").split(",")):
                headers["anthropic-beta"] = ",".join(filter(None, (sent, OAUTH_BETA)))
        return headers
