"""An upstream HTTP error mapped once at the adapter boundary, and rendered in both envelopes.

A request the provider rejects (400, 404, 413, 422) is the client's error: the same status,
`invalid_request_error`, not retryable. Cortex's own credentials rejected (401/403) or a
provider failing stay a 502 gateway failure; a 429 stays a 429 with Retry-After in whole seconds.
"""
from pathlib import Path

import orjson
import pytest

from app.config import parse_config
from app.errors import (CortexError, InvalidRequest, UpstreamAuthFailed, UpstreamError, UpstreamRateLimited,
                        UpstreamRejected)
from app.providers import build_adapters

SECRET = "sk-provider-secret-0123456789"


@pytest.fixture(scope="module")
def adapter():
    raw = {"providers": [{"name": "up", "type": "openai", "api_keys": [SECRET]}]}
    adapter = build_adapters(parse_config(raw, Path("cortex.yaml"), environ={}))["up"]
    yield adapter
    adapter.close()


def openai_error(message: str, param=None) -> bytes:
    return orjson.dumps({"error": {"message": message, "type": "invalid_request_error", "param": param,
                                   "code": None}})


def anthropic_error(kind: str, message: str) -> bytes:
    return orjson.dumps({"type": "error", "error": {"type": kind, "message": message}})


@pytest.mark.parametrize("status, body, cls, client_status, openai_type, anthropic_type, retryable, param", [
    (400, openai_error("Invalid 'messages[0].role'", "messages[0].role"), UpstreamRejected, 400,
     "invalid_request_error", "invalid_request_error", False, "messages[0].role"),
    (400, anthropic_error("invalid_request_error", "max_tokens: Field required"), UpstreamRejected, 400,
     "invalid_request_error", "invalid_request_error", False, None),
    (404, anthropic_error("not_found_error", "model: claude-9"), UpstreamRejected, 404,
     "invalid_request_error", "not_found_error", False, None),
    (413, b"request entity too large", UpstreamRejected, 413,
     "invalid_request_error", "request_too_large", False, None),
    (422, orjson.dumps({"detail": "unprocessable"}), UpstreamRejected, 422,
     "invalid_request_error", "invalid_request_error", False, None),
    (401, openai_error("Incorrect API key provided"), UpstreamAuthFailed, 502,
     "provider_error", "api_error", True, None),
    (403, anthropic_error("permission_error", "not allowed"), UpstreamAuthFailed, 502,
     "provider_error", "api_error", True, None),
    (408, b"timeout", UpstreamError, 502, "provider_error", "api_error", True, None),
    (409, b"conflict", UpstreamError, 502, "provider_error", "api_error", False, None),
    (500, openai_error("boom"), UpstreamError, 502, "provider_error", "api_error", True, None),
    (529, anthropic_error("overloaded_error", "Overloaded"), UpstreamError, 502,
     "provider_error", "api_error", True, None),
    (429, anthropic_error("rate_limit_error", "slow down"), UpstreamRateLimited, 429,
     "rate_limit_error", "rate_limit_error", True, None),
])
def test_http_errors_map_to_the_tree(adapter, status, body, cls, client_status, openai_type, anthropic_type,
                                     retryable, param):
    error = adapter._http_error(status, {}, body)
    assert type(error) is cls
    assert (error.status, error.code, error.retryable) == (client_status, f"upstream_{status}", retryable)
    assert error.message.startswith(f"Provider 'up' returned {status}: ")
    assert error.openai_body() == {"error": {"message": error.message, "type": openai_type, "param": param,
                                             "code": f"upstream_{status}"}}
    assert error.anthropic_body() == {"type": "error", "error": {"type": anthropic_type, "message": error.message}}


@pytest.mark.parametrize("body, kept", [
    (openai_error("Invalid value for 'temperature'"), "Invalid value for 'temperature'"),
    (anthropic_error("invalid_request_error", "messages.1.role: Must be one of"), "messages.1.role: Must be one of"),
    (b"plain text reason", "plain text reason"),
])
def test_a_rejection_keeps_the_providers_message(adapter, body, kept):
    assert adapter._http_error(400, {}, body).message == f"Provider 'up' returned 400: {kept}"


def test_a_rejection_quoting_the_key_is_scrubbed(adapter):
    error = adapter._http_error(400, {}, openai_error(f"key {SECRET} may not use this model"))
    assert SECRET not in error.message and "[redacted]" in error.message


@pytest.mark.parametrize("given, sent", [("7", "7"), ("1.2", "2"), ("0", "0"), (None, "1"), ("soon", "1"),
                                         ("inf", "1"), ("Wed, 21 Oct 2015 07:28:00 GMT", "1")])
def test_rate_limit_retry_after_in_whole_seconds(adapter, given, sent):
    error = adapter._http_error(429, {} if given is None else {"Retry-After": given}, b"{}")
    assert error.headers == {"Retry-After": sent}


@pytest.mark.parametrize("error, param", [
    (CortexError("bug"), None),
    (InvalidRequest("bad", param="model"), "model"),
    (UpstreamError("down", upstream_status=503), None),
])
def test_openai_envelope_always_has_param(error, param):
    body = error.openai_body()["error"]
    assert list(body) == ["message", "type", "param", "code"]
    assert body["param"] == param
