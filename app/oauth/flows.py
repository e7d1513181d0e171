"""Provider OAuth flows: the HTTP exchanges, with defaults per provider type.

The defaults, in app.provider_types, are the public clients that the providers' own tools
use; every value can be overridden under `providers[].oauth` in cortex.yaml (a deployment
with its own registered client, or a test pointing at a loopback mock). Sources:
- Anthropic (Claude Pro/Max subscription): Claude Code's login as documented from its CLI,
  e.g. github.com/notforyou23/evobrew anthropic-oauth-flow.md and the opencode-anthropic-auth
  plugin: PKCE, JSON token requests, tokens sent as `Authorization: Bearer` with the
  `anthropic-beta: oauth-2025-04-20` header (app.providers.anthropic).
- Google: https://developers.google.com/identity/protocols/oauth2/native-app (endpoints,
  access_type=offline) and https://ai.google.dev/gemini-api/docs/oauth (scopes). Google has
  no public client: set oauth.client_id/client_secret of a "Desktop app" client.
- OpenRouter: https://openrouter.ai/docs/oauth (PKCE; the code is exchanged at
  /api/v1/auth/keys for a permanent API key, so there is nothing to refresh).
- OpenAI: the Codex CLI's ChatGPT login (github.com/openai/codex): public client with a
  registered loopback redirect on port 1455.
- Qwen: qwen-code's device login (github.com/QwenLM/qwen-code, qwenOAuth2.ts), RFC 8628 with
  PKCE. Qwen OAuth tokens are served at https://portal.qwen.ai/v1 (the token's resource_url),
  so set the provider's base_url to that when it logs in this way.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from app.config import ProviderConfig
from app.oauth.tokens import TokenSet
from app.provider_types import PROVIDER_TYPES, FlowSettings

if TYPE_CHECKING:
    import requests

log = logging.getLogger("cortex.oauth")

TIMEOUT = (10.0, 30.0)  # connect, read: an authorization server answers in seconds
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_DEVICE_INTERVAL = 5  # RFC 8628 section 3.2


class AuthorizationServerError(Exception):
    """The authorization server refused (RFC 6749 section 5.2, RFC 8628 section 3.5) or failed."""

    def __init__(self, error: str, description: str = ""):
        super().__init__(error)
        self.error = error
        self.description = description

    def __str__(self) -> str:
        return f"{self.error} - {self.description}" if self.description else self.error


@dataclass(frozen=True)
class DeviceCode:
    """RFC 8628 section 3.2, as API.md returns it (device_code included)."""

    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def _with_query(url: str, params: dict) -> str:
    return url + ("&" if "?" in url else "?") + urlencode({name: value for name, value in params.items() if value})


def _expires_at(expires_in) -> float | None:
    try:
        return time.time() + float(expires_in)  # some servers send the number as a string
    except (TypeError, ValueError):
        return None  # not given: the token is used until the provider rejects it


def _scopes(granted, requested: tuple) -> tuple:
    return tuple(granted.split()) if isinstance(granted, str) and granted.strip() else requested


def new_session() -> requests.Session:
    # requests (~4.6 MB of a worker's RSS) is imported here, so only where a provider takes part
    # in OAuth (app.oauth.service).
    import requests
    from requests.adapters import HTTPAdapter
    session = requests.Session()
    session.mount("https://", HTTPAdapter(max_retries=0))
    session.mount("http://", HTTPAdapter(max_retries=0))
    session.headers.update({"User-Agent": "cortex-gateway", "Accept": "application/json"})
    return session


class CodeFlow:
    """Authorization code with PKCE (RFC 6749 + RFC 7636), refresh, and the device grant (RFC 8628)."""

    def __init__(self, provider: str, settings: FlowSettings, session: requests.Session):
        self.provider = provider
        self.settings = settings
        self._session = session

    @property
    def configured(self) -> bool:
        s = self.settings
        return bool(s.client_id and s.token_url and (s.authorize_url or s.device_authorization_url))

    @property
    def missing(self) -> str:
        """What the config lacks, for messages; "" when configured."""
        s = self.settings
        names = [name for name, value in (("client_id", s.client_id), ("token_url", s.token_url)) if not value]
        if not (s.authorize_url or s.device_authorization_url):
            names.append("authorize_url or device_authorization_url")
        return ", ".join(names)

    # HTTP ----------------------------------------------------------------------------------
    def _post(self, url: str, fields: dict, as_json: bool) -> dict:
        import requests  # imported already by new_session: the session is a requests.Session
        host = urlsplit(url).netloc
        try:
            response = self._session.post(url, json=fields if as_json else None, data=None if as_json else fields,
                                          timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise AuthorizationServerError("server_unreachable", f"{host}: {type(exc).__name__}") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            if isinstance(body, dict) and isinstance(body.get("error"), str):
                raise AuthorizationServerError(body["error"], str(body.get("error_description") or ""))
            raise AuthorizationServerError(f"http_{response.status_code}", f"{host} answered {response.status_code}")
        if not isinstance(body, dict):
            raise AuthorizationServerError("invalid_response", f"{host} did not answer with a JSON object")
        return body

    def _client_fields(self) -> dict:
        fields = {"client_id": self.settings.client_id}
        if self.settings.client_secret:
            fields["client_secret"] = self.settings.client_secret  # client_secret_post (RFC 6749 2.3.1)
        return fields

    def _token_grant(self, fields: dict, previous: TokenSet | None = None) -> TokenSet:
        body = self._post(self.settings.token_url, {**fields, **self._client_fields()},
                          self.settings.token_format == "json")
        access_token = body.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise AuthorizationServerError("invalid_response", "the token response has no access_token")
        # A server that does not rotate refresh tokens omits them from refresh responses.
        refresh_token = body.get("refresh_token") or (previous.refresh_token if previous else "")
        return TokenSet(
            access_token=access_token,
            refresh_token=refresh_token if isinstance(refresh_token, str) else "",
            expires_at=_expires_at(body.get("expires_in")),
            scopes=_scopes(body.get("scope"), previous.scopes if previous else self.settings.scopes),
        )

    # The flows -----------------------------------------------------------------------------
    def authorization_url(self, state: str, code_challenge: str, redirect_uri: str) -> str:
        s = self.settings
        params = {"response_type": "code", "client_id": s.client_id, "redirect_uri": redirect_uri,
                  "scope": " ".join(s.scopes), "state": state, "code_challenge": code_challenge,
                  "code_challenge_method": "S256", **dict(s.authorize_params)}
        return _with_query(s.authorize_url, params)

    def exchange_code(self, code: str, verifier: str, redirect_uri: str, state: str) -> TokenSet:
        fields = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                  "code_verifier": verifier}
        if self.settings.token_format == "json":
            fields["state"] = state  # Anthropic's token endpoint wants the state back
        return self._token_grant(fields)

    def refresh(self, tokens: TokenSet) -> TokenSet:
        return self._token_grant({"grant_type": "refresh_token", "refresh_token": tokens.refresh_token}, tokens)

    def request_device_code(self, code_challenge: str) -> DeviceCode:
        body = self._post(self.settings.device_authorization_url,
                          {**self._client_fields(), "scope": " ".join(self.settings.scopes),
                           "code_challenge": code_challenge, "code_challenge_method": "S256"}, False)
        try:
            verification_uri = body.get("verification_uri") or body["verification_url"]  # Google's spelling
            return DeviceCode(
                device_code=str(body["device_code"]), user_code=str(body["user_code"]),
                verification_uri=str(verification_uri),
                verification_uri_complete=str(body.get("verification_uri_complete") or verification_uri),
                expires_in=int(body["expires_in"]), interval=int(body.get("interval") or DEFAULT_DEVICE_INTERVAL),
            )
        except (KeyError, TypeError, ValueError):
            raise AuthorizationServerError("invalid_response", "incomplete device authorization response") from None

    def poll_device_token(self, device_code: str, verifier: str) -> TokenSet:
        """One token request of the device grant; AuthorizationServerError carries pending/slow_down/..."""
        return self._token_grant({"grant_type": DEVICE_GRANT, "device_code": device_code, "code_verifier": verifier})


class OpenRouterFlow(CodeFlow):
    """https://openrouter.ai/docs/oauth: no client id; the code buys a permanent API key."""

    @property
    def configured(self) -> bool:
        return bool(self.settings.authorize_url and self.settings.token_url)

    @property
    def missing(self) -> str:
        return "" if self.configured else "authorize_url, token_url"

    def authorization_url(self, state: str, code_challenge: str, redirect_uri: str) -> str:
        # OpenRouter sends the browser to callback_url with `code` added; it has no state
        # parameter, so the state rides in the callback URL itself.
        callback = _with_query(redirect_uri, {"state": state})
        params = {"callback_url": callback, "code_challenge": code_challenge, "code_challenge_method": "S256"}
        return _with_query(self.settings.authorize_url, params)

    def exchange_code(self, code: str, verifier: str, redirect_uri: str, state: str) -> TokenSet:
        body = self._post(self.settings.token_url,
                          {"code": code, "code_verifier": verifier, "code_challenge_method": "S256"}, True)
        key = body.get("key")
        if not isinstance(key, str) or not key:
            raise AuthorizationServerError("invalid_response", "the key exchange returned no key")
        return TokenSet(access_token=key, token_type="permanent")


FLOW_CLASSES = {"code": CodeFlow, "openrouter_key": OpenRouterFlow}


def flow_settings(provider: ProviderConfig) -> FlowSettings:
    """The provider type's defaults overlaid with its `oauth:` block."""
    defaults = PROVIDER_TYPES[provider.type].oauth
    configured = provider.oauth
    if configured is None:
        return defaults
    overrides = {name: value for name, value in dataclasses.asdict(configured).items() if value}
    if configured.client_id and configured.client_id != defaults.client_id and not configured.redirect_uri:
        # A default redirect_uri is the one registered for the default client only.
        overrides["redirect_uri"] = ""
    return dataclasses.replace(defaults, **overrides)


def takes_part_in_oauth(provider: ProviderConfig) -> bool:
    """An `oauth:` block or auth_method oauth/auto."""
    return provider.oauth is not None or provider.auth_method != "api_key"


def build_flow(provider: ProviderConfig, session: requests.Session) -> CodeFlow | None:
    """The provider's flow when it takes part in OAuth."""
    if not takes_part_in_oauth(provider):
        return None
    flow_class = FLOW_CLASSES[PROVIDER_TYPES[provider.type].oauth_flow]
    return flow_class(provider.name, flow_settings(provider), session)
