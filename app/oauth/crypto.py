"""AES-256-GCM for everything OAuth keeps in the store (tokens, PKCE verifiers, device codes).

Each write uses a fresh 96-bit nonce; the associated data names what the ciphertext is and
for which provider, so a row copied onto another provider's fails to decrypt. The key comes
from `storage.encryption_key`, else from the key file `cortex.key` (mode 0600) beside the
database, created on first use. A wrong key is reported as such, never as garbage tokens.
"""
import base64
import logging
import os
import secrets
import stat
from functools import cached_property
from pathlib import Path

from app.config import ConfigError, CortexConfig
from app.oauth.errors import TokenKeyMismatch
from schemas.config import decode_encryption_key

log = logging.getLogger("cortex.oauth")

KEY_FILE_NAME = "cortex.key"
FORMAT = b"\x01"  # blob layout: format byte, nonce, ciphertext with its 16-byte tag
NONCE_BYTES = 12
TAG_BYTES = 16
AAD_PREFIX = b"cortex-oauth/v1/"


def key_file_path(config: CortexConfig) -> Path:
    """`cortex.key` beside the SQLite database, or beside the config file for PostgreSQL."""
    url = config.storage.database_url
    folder = Path(url[len("sqlite:///"):]).parent if url.startswith("sqlite:///") else config.path.parent
    return folder / KEY_FILE_NAME


def _create_key_file(path: Path) -> None:
    # Written under a private name, then linked into place: concurrent workers cannot
    # interleave, and exactly one key wins.
    temporary = path.with_name(f".{KEY_FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, base64.b64encode(os.urandom(32)) + b"\n")  # a 256-bit AES key
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(temporary, path)
        log.info("created encryption key file %s (mode 0600); back it up with the database", path)
    except FileExistsError:
        pass
    finally:
        os.unlink(temporary)


def load_key(config: CortexConfig) -> bytes:
    if config.storage.encryption_key:
        return decode_encryption_key(config.storage.encryption_key)  # validated with the config
    path = key_file_path(config)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        _create_key_file(path)
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        os.chmod(path, 0o600)
        log.warning("key file %s was readable by others; its mode is now 0600", path)
    try:
        return decode_encryption_key(path.read_text())
    except ValueError as exc:
        raise ConfigError(f"{path}: not a valid key file: {exc}") from None


class TokenCipher:
    def __init__(self, key: bytes):
        self._key = key

    @cached_property
    def _aead(self):
        # cryptography is imported at the first OAuth write or read, not at boot: ~6 MB of a
        # worker's RSS that a gateway without OAuth logins never needs (the key is validated
        # with the config).
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        return AESGCM(self._key)

    @staticmethod
    def _associated_data(context: str) -> bytes:
        return AAD_PREFIX + context.encode()

    def encrypt(self, plaintext: bytes, context: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return FORMAT + nonce + self._aead.encrypt(nonce, plaintext, self._associated_data(context))

    def decrypt(self, blob: bytes, context: str) -> bytes:
        blob = bytes(blob)  # PostgreSQL drivers hand BYTEA back as memoryview
        if len(blob) < 1 + NONCE_BYTES + TAG_BYTES or blob[:1] != FORMAT:
            raise TokenKeyMismatch(f"Stored OAuth data ({context}) is not in a format Cortex wrote")
        nonce, ciphertext = blob[1:1 + NONCE_BYTES], blob[1 + NONCE_BYTES:]
        from cryptography.exceptions import InvalidTag
        try:
            return self._aead.decrypt(nonce, ciphertext, self._associated_data(context))
        except InvalidTag:
            raise TokenKeyMismatch(
                f"Stored OAuth data ({context}) cannot be decrypted with the configured key: "
                "storage.encryption_key (or the cortex.key file) is not the key it was written with. "
                "Restore that key, or delete the login (DELETE /oauth/<provider>/token) and log in again"
            ) from None
