"""OAuth logins to upstream providers: the one object blueprints, adapters and the CLI use."""
import contextlib
import logging
import time

from gevent import monkey

from app.errors import NotFound, ProviderNotConfigured
from app.oauth import pkce
from app.oauth.crypto import TokenCipher
from app.oauth.device import DeviceLogins
from app.oauth.errors import (LoginFailed, LoginRequired, NotRefreshable, OAuthNotConfigured, RefreshFailed,
                              TokenKeyMismatch, TokenNotFound)
from app.oauth.flows import (AuthorizationServerError, CodeFlow, DeviceCode, build_flow, new_session,
                             takes_part_in_oauth)
from app.oauth.redirects import validated_redirect
from app.oauth.refresh import EXPIRY_MARGIN_SECS, TokenRefresher, iso_time
from app.oauth.states import PendingLogins
from app.oauth.tokens import TokenSet, TokenStore

log = logging.getLogger("cortex.oauth")


def login_hint(name: str) -> str:
    return f"run `flask --app wsgi cortex oauth login {name}` (or use /oauth/{name}/* with an admin key)"


def login_result(name: str, tokens: TokenSet) -> dict:
    """The success body of the callback and of /refresh (API.md)."""
    body = {"success": True, "provider": name}
    if tokens.permanent:
        body["token_type"] = "permanent"
    elif tokens.expires_at is not None:
        body["expires_at"] = iso_time(tokens.expires_at)
    return body


class OAuthService:
    def __init__(self, config, store, settings, counters, encryption_key: bytes):
        self._providers = {p.name: p for p in config.providers}
        cipher = TokenCipher(encryption_key)
        session = new_session() if any(takes_part_in_oauth(p) for p in config.providers) else None
        self.flows = {p.name: flow for p in config.providers if (flow := build_flow(p, session)) is not None}
        self.tokens = TokenStore(store, cipher, counters)
        self.pending = PendingLogins(store, cipher)
        self.refresher = TokenRefresher(self.tokens, self.flows, settings)
        # Greenlets need the gevent hub that gunicorn's workers run; a CLI process has none.
        background = monkey.is_module_patched("socket")
        self.devices = DeviceLogins(store, cipher, self.tokens, background)
        for problem in self.undecryptable_tokens():
            log.error("%s", problem)
        if background:
            self.refresher.start()

    def close(self) -> None:
        self.refresher.close()
        self.devices.close()

    # Lookups ---------------------------------------------------------------------------------
    def _known(self, name: str) -> None:
        if name not in self._providers:
            raise NotFound(f"Unknown provider '{name}'")

    def configured(self, name: str) -> bool:
        flow = self.flows.get(name)
        return flow is not None and flow.configured

    def flow(self, name: str) -> CodeFlow:
        """The provider's configured flow; 404 for an unknown provider, 400 when OAuth is not set up."""
        self._known(name)
        flow = self.flows.get(name)
        if flow is None:
            raise OAuthNotConfigured(f"OAuth is not configured for provider '{name}': add an oauth section "
                                     "or set auth_method to oauth or auto")
        if not flow.configured:
            raise OAuthNotConfigured(f"OAuth is not configured for provider '{name}': set providers[].oauth "
                                     f"{flow.missing}")
        return flow

    def authenticated(self, name: str) -> bool:
        return self.status(name)["authenticated"]

    def status(self, name: str) -> dict:
        self._known(name)
        body = {"provider": name, "configured": self.configured(name), "authenticated": False}
        tokens = self.tokens.load(name) if body["configured"] else None
        if tokens is None or not tokens.valid_at(time.time()):
            return body
        body["authenticated"] = True
        if tokens.permanent:
            body["token_type"] = "permanent"
        else:
            if tokens.expires_at is not None:
                body["expires_at"] = iso_time(tokens.expires_at)
            body["scopes"] = list(tokens.scopes)
        return body

    def undecryptable_tokens(self) -> list[str]:
        """A message per stored token the configured key cannot decrypt."""
        problems = []
        for name in self.tokens.stored_providers():
            try:
                self.tokens.load(name)
            except TokenKeyMismatch as exc:
                problems.append(f"provider {name}: {exc.message}")
        return problems

    # Authorization code ----------------------------------------------------------------------
    def begin_login(self, name: str, callback_url: str, redirect_url: str = "") -> str:
        """The provider's authorize URL for a new login (the state is stored for the callback)."""
        flow = self.flow(name)
        if not flow.settings.authorize_url:
            raise OAuthNotConfigured(f"Provider '{name}' logs in with the device flow: POST /oauth/{name}/device")
        if redirect_url:
            redirect_url = validated_redirect(redirect_url, flow.settings.allowed_redirect_origins)
        redirect_uri = flow.settings.redirect_uri or callback_url
        state, verifier = self.pending.begin(name, redirect_uri, redirect_url)
        return flow.authorization_url(state, pkce.challenge(verifier), redirect_uri)

    def complete_login(self, name: str, code: str, state: str, error: str = "",
                       error_description: str = "") -> tuple[TokenSet, str]:
        """Exchange the callback's code; returns the tokens and the validated redirect_url ("" for JSON)."""
        flow = self.flow(name)
        if not state and "#" in code:
            code, state = code.split("#", 1)  # Anthropic's code page shows "code#state"
        if error:
            if state:
                with contextlib.suppress(LoginFailed):  # the provider's error is the one to report
                    self.pending.consume(name, state)  # single use, even when the login failed
            raise LoginFailed(f"OAuth error: {error}" + (f" - {error_description}" if error_description else ""))
        if not state:
            raise LoginFailed("The callback has no state parameter")
        login = self.pending.consume(name, state)
        if not code:
            raise LoginFailed("The callback has no authorization code")
        try:
            tokens = flow.exchange_code(code, login.verifier, login.redirect_uri, state)
        except AuthorizationServerError as exc:
            log.warning("oauth: code exchange for %s failed: %s", name, exc)
            raise LoginFailed(f"OAuth token exchange failed: {exc}") from None
        self.tokens.save(name, tokens)
        log.info("oauth: %s logged in; token expires %s", name, iso_time(tokens.expires_at) or "never")
        return tokens, login.redirect_url

    def login_finished_since(self, name: str, started_at: float) -> bool:
        updated_at = self.tokens.updated_at(name)
        return updated_at is not None and updated_at >= started_at

    # Device flow -----------------------------------------------------------------------------
    def start_device_login(self, name: str) -> DeviceCode:
        return self.devices.start(self.flow(name))

    def device_login_state(self, name: str) -> dict:
        """Polls if it is time (any worker may), then reports the device login."""
        row = self.devices.advance(self.flow(name))
        if row is None:
            raise OAuthNotConfigured(f"No device login in progress for '{name}': POST /oauth/{name}/device first")
        body = {"provider": name, "status": row.status, "interval": row.interval,
                "expires_in": max(0, int(row.expires_at - time.time()))}
        if row.message:
            body["message"] = row.message
        return body

    # Refresh and logout ----------------------------------------------------------------------
    def refresh(self, name: str) -> TokenSet:
        self.flow(name)
        tokens = self.tokens.load(name)
        if tokens is None:
            raise NotRefreshable(f"No OAuth token is stored for provider '{name}': {login_hint(name)}")
        if tokens.permanent:
            raise NotRefreshable(f"Refresh is not applicable to '{name}': its key is permanent")
        if not tokens.refresh_token:
            raise NotRefreshable(f"The '{name}' token has no refresh token: log in again when it expires")
        return self.refresher.refresh(name, only_if_expiring=False)

    def logout(self, name: str) -> None:
        self._known(name)
        if not self.tokens.delete(name):
            raise TokenNotFound(f"Failed to delete token: token not found for provider: {name}")
        log.info("oauth: %s token deleted", name)

    # For provider adapters ---------------------------------------------------------------------
    def access_token(self, name: str, required: bool) -> str | None:
        """The bearer to send upstream, refreshed on demand; None (when not required) falls back to keys."""
        flow = self.flows.get(name)
        if flow is None or not flow.configured:
            if required:
                raise ProviderNotConfigured(f"Provider '{name}' has auth_method oauth but OAuth is not configured "
                                            f"({flow.missing if flow else 'no oauth section'})",
                                            code="provider_not_configured")
            return None
        tokens = self.tokens.current(name)
        reason = "" if tokens is None else " (the login expired)"
        if tokens is not None and tokens.valid_at(time.time() + EXPIRY_MARGIN_SECS):
            return tokens.access_token
        if tokens is not None and tokens.refresh_token:
            try:
                return self.refresher.refresh(name, only_if_expiring=True).access_token
            except (RefreshFailed, NotRefreshable, TokenNotFound) as exc:
                if tokens.valid_at(time.time()):
                    return tokens.access_token  # still good for a few seconds
                reason = f" (its refresh failed: {exc.message})"
        if required:
            raise LoginRequired(f"Provider '{name}' needs an OAuth login{reason}: {login_hint(name)}")
        return None
