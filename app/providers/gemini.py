"""Adapter for Google AI Studio's native Gemini API (generativelanguage.googleapis.com).

The model and the method are in the URL: a call whose path is a method (``:generateContent``,
``:countTokens``, ``:batchEmbedContents``) goes to ``<base_url>/models/<model><method>``,
and a streamed generateContent to ``:streamGenerateContent?alt=sse`` (the SSE form; without
``alt`` Gemini streams one JSON array). API keys go in ``x-goog-api-key`` (never in the query
string, which proxies log); a Google OAuth login is sent as a Bearer token.
"""
from app.providers.base import ProviderAdapter, UpstreamCall

STREAM_METHOD = ":streamGenerateContent?alt=sse"


class GeminiAdapter(ProviderAdapter):
    def url(self, call: UpstreamCall) -> str:
        if not call.path.startswith(":"):
            return self.provider.base_url + call.path
        method = STREAM_METHOD if call.stream else call.path
        return f"{self.provider.base_url}/models/{call.model.removeprefix('models/')}{method}"

    def auth_headers(self, key: str) -> dict:
        return {"x-goog-api-key": key}
