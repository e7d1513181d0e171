"""One exception tree for everything Cortex reports to a client, and its renderers.

A `CortexError` carries the HTTP status, the OpenAI `type`/`code` and the Anthropic `type`
(DESIGN.md, Errors). The handler in `app.surfaces` picks the envelope by URL; nothing else
builds error bodies.
"""
import logging

from app.translate.gemini.parts import google_error

log = logging.getLogger("cortex.errors")


class CortexError(Exception):
    status = 500
    openai_type = "server_error"
    code = "internal_error"
    anthropic_type = "api_error"
    anthropic_status = None  # where Anthropic answers the same condition with another status

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 headers: dict | None = None, param: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.headers = headers or {}
        self.param = param

    def openai_body(self) -> dict:
        # OpenAI's spec requires `param`, null when no one field is at fault.
        return {"error": {"message": self.message, "type": self.openai_type, "param": self.param, "code": self.code}}

    def anthropic_body(self) -> dict:
        return {"type": "error", "error": {"type": self.anthropic_type, "message": self.message}}

    def gemini_body(self) -> dict:
        return google_error(self.status, self.message)

    def plain_body(self) -> dict:
        return self.openai_body()


class InvalidRequest(CortexError):
    status = 400
    openai_type = "invalid_request_error"
    code = "invalid_request"
    anthropic_type = "invalid_request_error"


class RequestTooLarge(InvalidRequest):
    status = 413
    code = "request_too_large"
    anthropic_type = "request_too_large"


class AuthenticationFailed(CortexError):
    status = 401
    openai_type = "authentication_error"
    code = "invalid_api_key"
    anthropic_type = "authentication_error"


class PermissionDenied(CortexError):
    status = 403
    openai_type = "permission_error"
    code = "insufficient_permissions"
    anthropic_type = "permission_error"


class NotFound(CortexError):
    status = 404
    openai_type = "invalid_request_error"
    code = "not_found"
    anthropic_type = "not_found_error"


class ModelNotFound(NotFound):
    code = "model_not_found"


class Conflict(CortexError):
    status = 409
    openai_type = "invalid_request_error"
    code = "conflict"
    anthropic_type = "invalid_request_error"


class MethodNotAllowed(CortexError):
    status = 405
    openai_type = "invalid_request_error"
    code = "method_not_allowed"
    anthropic_type = "invalid_request_error"


class RateLimited(CortexError):
    status = 429
    openai_type = "rate_limit_error"
    code = "rate_limit_exceeded"
    anthropic_type = "rate_limit_error"


class BudgetExceeded(CortexError):
    """The key's budget for the current window is used up: OpenAI's quota error (429), and what
    Anthropic answers when a workspace reaches its spend limit (400 invalid_request_error), which
    Claude Code and the SDKs do not retry, as they would a 429."""

    status = 429
    openai_type = "insufficient_quota"
    code = "insufficient_quota"
    anthropic_type = "invalid_request_error"
    anthropic_status = 400


class ServiceUnavailable(CortexError):
    status = 503
    openai_type = "server_error"
    code = "service_unavailable"
    anthropic_type = "overloaded_error"


class UpstreamError(CortexError):
    """The provider failed. `retryable` tells failover whether another candidate may serve."""

    status = 502
    openai_type = "provider_error"
    anthropic_type = "api_error"

    def __init__(self, message: str, *, upstream_status: int | None = None, retryable: bool = False,
                 retry_after: float | None = None, code: str | None = None, status: int | None = None,
                 headers: dict | None = None, param: str | None = None):
        super().__init__(message, code=code or (f"upstream_{upstream_status}" if upstream_status else "upstream_error"),
                         status=status, headers=headers, param=param)
        self.upstream_status = upstream_status
        self.retryable = retryable
        self.retry_after = retry_after


class UpstreamRateLimited(UpstreamError):
    status = 429
    openai_type = "rate_limit_error"
    anthropic_type = "rate_limit_error"


class UpstreamRejected(UpstreamError):
    """The provider rejected the request itself: the client's error, answered with the provider's status.

    Not a gateway failure (no 502 for SDKs to retry) and not retryable: another candidate would
    reject the same request.
    """

    openai_type = "invalid_request_error"
    ANTHROPIC_TYPES = {400: "invalid_request_error", 404: "not_found_error", 413: "request_too_large",
                       422: "invalid_request_error"}

    def __init__(self, message: str, *, upstream_status: int, param: str | None = None):
        super().__init__(message, upstream_status=upstream_status, status=upstream_status, param=param)
        self.anthropic_type = self.ANTHROPIC_TYPES[upstream_status]


class UpstreamAuthFailed(UpstreamError):
    """The provider rejected Cortex's credentials (a key rotation may help)."""


class UpstreamTimeout(UpstreamError):
    status = 504


class ProviderNotConfigured(UpstreamError):
    """No credentials for the provider: the operator must set them, the client cannot fix it."""


class ClientDisconnected(CortexError):
    """Recorded in usage when a client goes away mid-stream; never rendered."""

    status = 499
    code = "client_disconnected"


def scrub(text: str, secrets) -> str:
    """Remove every configured secret from a message that may be shown or logged."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, "[redacted]")
    return text
