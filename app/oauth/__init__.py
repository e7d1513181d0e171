"""OAuth logins to upstream providers: PKCE and device flows, encrypted token store, refresh."""
from app.oauth.service import OAuthService, login_result

__all__ = ["OAuthService", "login_result"]
