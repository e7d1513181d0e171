"""Pending authorization-code logins, keyed by their single-use state token.

They live in the shared store so that the callback can land on any worker (or instance).
The store keeps only the state's digest and the PKCE verifier encrypted; a state is
consumed by one DELETE, so a replayed or concurrent callback finds nothing.
"""
import time
from dataclasses import dataclass

from app.db import OAuthState
from app.oauth import pkce
from app.oauth.errors import LoginFailed

STATE_TTL_SECS = 600  # API.md: state tokens expire after 10 minutes


@dataclass(frozen=True)
class PendingLogin:
    verifier: str
    redirect_uri: str  # as sent to the provider, repeated in the code exchange
    redirect_url: str  # where to send the browser afterwards ("" = answer with JSON)


def _context(provider: str) -> str:
    return f"state:{provider}"


class PendingLogins:
    def __init__(self, store, cipher):
        self._database = store.database
        self._cipher = cipher

    def begin(self, provider: str, redirect_uri: str, redirect_url: str) -> tuple[str, str]:
        """A new state and PKCE verifier, stored; returns (state, verifier)."""
        state, verifier = pkce.new_state(), pkce.new_verifier()
        now = time.time()
        with self._database.connection_context(), self._database.atomic():
            OAuthState.delete().where(OAuthState.expires_at < now).execute()
            OAuthState.insert(state_digest=pkce.state_digest(state), provider=provider,
                              ciphertext=self._cipher.encrypt(verifier.encode(), _context(provider)),
                              redirect_uri=redirect_uri, redirect_url=redirect_url,
                              expires_at=now + STATE_TTL_SECS).execute()
        return state, verifier

    def consume(self, provider: str, state: str) -> PendingLogin:
        """The login this state started, removed from the store; LoginFailed if there is none."""
        digest = pkce.state_digest(state)
        with self._database.connection_context():
            row = OAuthState.get_or_none(OAuthState.state_digest == digest)
            deleted = OAuthState.delete().where(OAuthState.state_digest == digest).execute()
        if row is None or deleted != 1 or row.provider != provider:
            raise LoginFailed(f"Unknown or already used OAuth state: start the login again at "
                              f"/oauth/{provider}/authorize")
        if row.expires_at < time.time():
            raise LoginFailed(f"The OAuth state expired (a login must finish within {STATE_TTL_SECS // 60} "
                              f"minutes): start again at /oauth/{provider}/authorize")
        verifier = self._cipher.decrypt(row.ciphertext, _context(provider)).decode()
        return PendingLogin(verifier=verifier, redirect_uri=row.redirect_uri, redirect_url=row.redirect_url)
