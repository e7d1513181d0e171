"""OAuth's part of the CortexError tree: statuses and codes as API.md documents them."""
from app.errors import AuthenticationFailed, CortexError, InvalidRequest


class OAuthNotConfigured(InvalidRequest):
    code = "oauth_not_configured"


class LoginFailed(InvalidRequest):
    """The callback cannot complete: provider error, bad state, failed code exchange."""

    code = "oauth_login_failed"


class NotRefreshable(InvalidRequest):
    """No refresh token, or a permanent key (OpenRouter)."""

    code = "token_not_refreshable"


class RefreshFailed(CortexError):
    code = "token_refresh_failed"


class TokenNotFound(CortexError):
    code = "token_not_found"


class DeviceAuthorizationFailed(CortexError):
    code = "device_authorization_failed"


class TokenKeyMismatch(CortexError):
    """Stored tokens do not decrypt with the configured key: never hand out garbage."""

    code = "token_decryption_failed"


class LoginRequired(AuthenticationFailed):
    """An upstream call needs a provider login that is missing or expired beyond refresh."""

    code = "oauth_login_required"
