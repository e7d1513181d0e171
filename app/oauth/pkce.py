"""PKCE (RFC 7636) and state tokens for the authorization-code flow."""
import base64
import hashlib
import secrets

STATE_BYTES = 32     # API.md: 32-byte random state tokens
VERIFIER_BYTES = 32  # base64url: 43 characters, the RFC 7636 minimum length


def _base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_verifier() -> str:
    return _base64url(secrets.token_bytes(VERIFIER_BYTES))


def challenge(verifier: str) -> str:
    """The S256 code challenge: BASE64URL(SHA256(ASCII(verifier))) (RFC 7636 section 4.2)."""
    return _base64url(hashlib.sha256(verifier.encode("ascii")).digest())


def new_state() -> str:
    return _base64url(secrets.token_bytes(STATE_BYTES))


def state_digest(state: str) -> str:
    """What the store keeps: a leaked table row cannot be replayed as a state."""
    return hashlib.sha256(state.encode("utf-8", "surrogateescape")).hexdigest()
