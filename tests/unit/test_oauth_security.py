"""OAuth building blocks without a network: AES-GCM token crypto and its key, PKCE and state
tokens, redirect validation, key masking, flow settings and authorize URLs."""
import base64
import os
import stat
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from app.catalog import mask_key
from app.config import ConfigError, parse_config
from app.errors import InvalidRequest
from app.oauth import pkce
from app.oauth.crypto import TokenCipher, key_file_path, load_key
from app.oauth.errors import TokenKeyMismatch
from app.oauth.flows import CodeFlow, OpenRouterFlow, build_flow, flow_settings, new_session
from app.oauth.redirects import validated_redirect

TOKEN = b'{"access_token": "sk-ant-oat01-secret-access", "refresh_token": "sk-ant-ort01-secret-refresh"}'


def config(tmp_path: Path, **storage):
    raw = {"storage": {"database_url": f"sqlite:///{tmp_path}/data/cortex.db", **storage},
           "providers": [{"name": "claude", "type": "anthropic", "auth_method": "oauth"}]}
    return parse_config(raw, tmp_path / "cortex.yaml", environ={})


# --- crypto -------------------------------------------------------------------------------------

def test_ciphertext_round_trips_with_a_fresh_nonce_and_hides_the_token():
    cipher = TokenCipher(os.urandom(32))
    first, second = cipher.encrypt(TOKEN, "token:claude"), cipher.encrypt(TOKEN, "token:claude")
    assert first != second and first[1:13] != second[1:13]  # a new 96-bit nonce per write
    assert len(first[1:13]) == 12
    assert b"secret-access" not in first and b"secret-refresh" not in first
    assert cipher.decrypt(first, "token:claude") == TOKEN
    assert cipher.decrypt(memoryview(second), "token:claude") == TOKEN  # as PostgreSQL drivers return BYTEA


def test_ciphertext_is_bound_to_its_provider():
    cipher = TokenCipher(os.urandom(32))
    blob = cipher.encrypt(TOKEN, "token:claude")
    with pytest.raises(TokenKeyMismatch):
        cipher.decrypt(blob, "token:openai")  # a row copied onto another provider


def test_wrong_key_or_tampering_is_a_clear_error_never_garbage():
    blob = TokenCipher(os.urandom(32)).encrypt(TOKEN, "token:claude")
    with pytest.raises(TokenKeyMismatch, match="cannot be decrypted with the configured key.*encryption_key"):
        TokenCipher(os.urandom(32)).decrypt(blob, "token:claude")
    cipher = TokenCipher(os.urandom(32))
    blob = bytearray(cipher.encrypt(TOKEN, "token:claude"))
    blob[-1] ^= 1
    with pytest.raises(TokenKeyMismatch):
        cipher.decrypt(bytes(blob), "token:claude")
    with pytest.raises(TokenKeyMismatch, match="not in a format"):
        cipher.decrypt(b"short", "token:claude")


def test_key_file_is_created_once_beside_the_database_with_mode_0600(tmp_path):
    cfg = config(tmp_path)
    path = key_file_path(cfg)
    assert path == tmp_path / "data" / "cortex.key"
    key = load_key(cfg)
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key(cfg) == key  # read back, not regenerated
    assert [p.name for p in path.parent.iterdir()] == ["cortex.key"]  # no temporary files left


def test_a_key_file_readable_by_others_is_tightened(tmp_path):
    cfg = config(tmp_path)
    load_key(cfg)
    os.chmod(key_file_path(cfg), 0o644)
    load_key(cfg)
    assert stat.S_IMODE(key_file_path(cfg).stat().st_mode) == 0o600


def test_configured_key_wins_and_a_broken_key_file_is_named(tmp_path):
    key = os.urandom(32)
    assert load_key(config(tmp_path, encryption_key=base64.b64encode(key).decode())) == key
    assert not key_file_path(config(tmp_path)).exists()
    key_file_path(config(tmp_path)).parent.mkdir(parents=True)
    key_file_path(config(tmp_path)).write_text("not a key\n")
    with pytest.raises(ConfigError, match="cortex.key: not a valid key file"):
        load_key(config(tmp_path))


@pytest.mark.parametrize("value", ["tooshort", base64.b64encode(b"x" * 31).decode(), "!!!not base64!!!"])
def test_bad_encryption_key_stops_start_up_naming_the_key(tmp_path, value):
    with pytest.raises(ConfigError, match="storage.encryption_key: expected 32 bytes"):
        config(tmp_path, encryption_key=value)


# --- PKCE and state -------------------------------------------------------------------------------

def test_s256_challenge_matches_rfc7636_appendix_b():
    assert pkce.challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_verifiers_and_states_are_32_random_bytes_base64url():
    states = {pkce.new_state() for _ in range(100)}
    assert len(states) == 100
    for value in (pkce.new_state(), pkce.new_verifier()):
        assert len(value) == 43 and "=" not in value
        assert len(base64.urlsafe_b64decode(value + "=")) == 32
    assert pkce.state_digest("abc") != "abc" and len(pkce.state_digest("abc")) == 64


# --- redirects ------------------------------------------------------------------------------------

ALLOWED = ("http://localhost:3000", "https://app.example.com")


@pytest.mark.parametrize("url", [
    "/done", "/oauth/done?x=1", "http://localhost:3000/success", "HTTP://LOCALHOST:3000/x",
    "https://app.example.com/a/b", "https://app.example.com:443/a",
])
def test_safe_redirects_are_kept(url):
    assert validated_redirect(url, ALLOWED) == url


@pytest.mark.parametrize("url", [
    "https://evil.example.com/", "//evil.example.com/x", "/\\evil.example.com", "\\\\evil.example.com",
    "http://localhost:3001/", "https://localhost:3000/", "http://localhost:3000.evil.com/",
    "http://localhost:3000@evil.com/", "javascript:alert(1)", "https://app.example.com.evil.com/",
    "/ok\r\nSet-Cookie: x=1", "evil.example.com/path", "http://[::1/",
])
def test_open_redirects_are_rejected(url):
    with pytest.raises(InvalidRequest) as caught:
        validated_redirect(url, ALLOWED)
    assert caught.value.status == 400 and caught.value.param == "redirect_url"


# --- masking --------------------------------------------------------------------------------------

@pytest.mark.parametrize("key, masked", [
    ("sk-proj-abcdefghijklmnopqrstuvwxh7YZ", "sk-p****...****h7YZ"),
    ("0123456789abcdef", "0123****...****cdef"),
    ("0123456789abcde", "****...****"),
    ("short", "****...****"),
    ("", "****...****"),
])
def test_masked_keys_never_show_more_than_four_and_four(key, masked):
    assert mask_key(key) == masked


# --- flows ----------------------------------------------------------------------------------------

def provider(raw: dict):
    return parse_config({"providers": [raw]}, Path("cortex.yaml"), environ={}).providers[0]


def test_public_defaults_apply_and_config_overrides_them():
    defaults = flow_settings(provider({"name": "claude", "type": "anthropic", "auth_method": "oauth"}))
    assert defaults.client_id == "9d1c250a-e61b-44d9-88ed-5944d1962f5e"
    assert defaults.token_format == "json" and defaults.redirect_uri.startswith("https://console.anthropic.com/")
    own = flow_settings(provider({"name": "claude", "type": "anthropic",
                                  "oauth": {"client_id": "mine", "token_url": "http://127.0.0.1:1/token"}}))
    assert own.client_id == "mine" and own.token_url == "http://127.0.0.1:1/token"
    assert own.authorize_url == defaults.authorize_url and own.scopes == defaults.scopes
    assert own.redirect_uri == ""  # the registered redirect belongs to the default client: use Cortex's callback


def test_oauth_takes_part_only_when_asked_for():
    session = new_session()
    assert build_flow(provider({"name": "p", "type": "openai", "api_keys": ["k"]}), session) is None
    google = build_flow(provider({"name": "g", "type": "google", "auth_method": "auto"}), session)
    assert google is not None and not google.configured and "client_id" in google.missing
    router = build_flow(provider({"name": "r", "type": "openrouter", "auth_method": "oauth"}), session)
    assert isinstance(router, OpenRouterFlow) and router.configured


def test_authorization_url_carries_pkce_state_and_extra_params():
    flow = build_flow(provider({"name": "claude", "type": "anthropic", "auth_method": "oauth"}), new_session())
    assert isinstance(flow, CodeFlow)
    query = parse_qs(urlsplit(flow.authorization_url("st4te", "ch4llenge", "https://x/cb")).query)
    assert query["code_challenge"] == ["ch4llenge"] and query["code_challenge_method"] == ["S256"]
    assert query["state"] == ["st4te"] and query["redirect_uri"] == ["https://x/cb"]
    assert query["response_type"] == ["code"] and query["code"] == ["true"]
    assert query["scope"] == ["org:create_api_key user:profile user:inference"]


def test_openrouter_state_rides_in_the_callback_url():
    flow = build_flow(provider({"name": "r", "type": "openrouter", "auth_method": "oauth"}), new_session())
    query = parse_qs(urlsplit(flow.authorization_url("st4te", "ch4llenge", "http://c/oauth/r/callback")).query)
    assert query["callback_url"] == ["http://c/oauth/r/callback?state=st4te"]
    assert query["code_challenge_method"] == ["S256"]
