"""Model routing order (DESIGN.md, Routing) and key checks."""
import hashlib

import pytest

from app.auth import KeyRing, model_allowed, presented_key, provider_allowed, require_permission
from app.config import parse_config
from app.errors import AuthenticationFailed, InvalidRequest, ModelNotFound, PermissionDenied
from app.routing import Router

CONFIG = {
    "api_keys": [
        {"name": "plain", "key": "plain-key-0001", "permissions": ["inference"],
         "allowed_models": ["gpt-*"], "allowed_providers": ["oa"]},
        {"name": "hashed", "key_sha256": hashlib.sha256(b"hashed-key-0002").hexdigest(), "permissions": ["admin"]},
    ],
    "providers": [
        {"name": "oa", "type": "openai", "api_keys": ["k"],
         "models": [{"id": "gpt-4o", "aliases": ["gpt-4"]}, {"id": "off", "enabled": False}]},
        {"name": "groq", "type": "groq", "api_keys": ["k"], "models": [{"id": "gpt-4o"}, {"id": "llama-3"}]},
        {"name": "an", "type": "anthropic", "api_keys": ["k"], "models": [{"id": "claude-3"}]},
    ],
    "provider_patterns": {"groq": "groq/"},
    "virtual_models": [
        {"name": "smart", "candidates": [{"provider": "an", "model": "claude-3"}, {"provider": "oa", "model": "gpt-4"}]},
        {"name": "spread", "strategy": "round_robin",
         "candidates": [{"provider": "an", "model": "claude-3"}, {"provider": "oa", "model": "gpt-4o"}]},
        {"name": "none", "candidates": [{"provider": "oa", "model": "gpt-4o", "enabled": False}]},
    ],
}


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    return parse_config(CONFIG, tmp_path_factory.mktemp("cfg") / "cortex.yaml", environ={})


@pytest.fixture
def router(config):
    return Router(config)


@pytest.mark.parametrize("requested, expected", [
    ("gpt-4o", [("oa", "gpt-4o")]),                 # first provider in config order
    ("gpt-4", [("oa", "gpt-4o")]),                  # alias -> id
    ("groq:gpt-4o", [("groq", "gpt-4o")]),           # explicit provider
    ("groq/llama-3", [("groq", "llama-3")]),         # provider_patterns prefix
    ("oa:unlisted-model", [("oa", "unlisted-model")]),  # explicit provider passes unknown ids through
    ("oa:gpt-4", [("oa", "gpt-4o")]),                # explicit provider + alias
    ("llama-3", [("groq", "llama-3")]),
    ("smart", [("an", "claude-3"), ("oa", "gpt-4o")]),  # virtual, fallback order, alias resolved
    ("none", []),                                    # virtual with no enabled candidate
    ("weird:model", None),                           # not a provider name: a plain id
])
def test_resolution(router, requested, expected):
    if expected is None:
        with pytest.raises(ModelNotFound):
            router.resolve(requested)
        return
    assert [(r.provider.name, r.model) for r in router.resolve(requested).routes] == expected


@pytest.mark.parametrize("requested, error", [
    ("", InvalidRequest), (None, InvalidRequest), (42, InvalidRequest), ("oa:", InvalidRequest),
    ("off", ModelNotFound), ("nope", ModelNotFound),
])
def test_resolution_errors(router, requested, error):
    with pytest.raises(error):
        router.resolve(requested)


def test_round_robin_rotates(router):
    firsts = [router.resolve("spread").routes[0].provider.name for _ in range(4)]
    assert firsts == ["an", "oa", "an", "oa"]


def test_listed_models_include_aliases_and_virtuals(router):
    names = [m.id for m in router.listed_models()]
    assert {"gpt-4o", "gpt-4", "llama-3", "claude-3", "smart", "spread"} <= set(names)
    assert "off" not in names


@pytest.mark.parametrize("headers, expected", [
    ({"Authorization": "Bearer abc"}, "abc"),
    ({"Authorization": "bearer abc "}, "abc"),
    ({"x-api-key": "xyz"}, "xyz"),
    ({"Authorization": "Basic abc"}, None),
    ({}, None),
])
def test_presented_key(headers, expected):
    assert presented_key(headers) == expected


def test_keyring_plain_and_hashed(config):
    ring = KeyRing(config.api_keys)
    assert ring.authenticate("plain-key-0001").name == "plain"
    assert ring.authenticate("hashed-key-0002").name == "hashed"
    for bad in (None, "", "plain-key-0001x", "hashed-key-000"):
        with pytest.raises(AuthenticationFailed):
            ring.authenticate(bad)


def test_permissions_and_globs(config):
    plain, hashed = config.api_keys
    require_permission(plain, "inference")
    require_permission(hashed, "usage")  # admin implies usage
    with pytest.raises(PermissionDenied):
        require_permission(plain, "admin")
    with pytest.raises(PermissionDenied):
        require_permission(hashed, "inference")
    assert model_allowed(plain, "gpt-4", "gpt-4o")
    assert model_allowed(plain, "smart", "gpt-4o")   # resolved id matches
    assert not model_allowed(plain, "claude-3", "claude-3")
    assert provider_allowed(plain, "oa") and not provider_allowed(plain, "an")
