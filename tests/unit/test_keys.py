"""Client key checks: any wrong key fails the same way, whatever its length; no plaintext is kept."""
import dataclasses
import hashlib

import pytest

from app.auth import KeyRing
from app.config import parse_config
from app.errors import AuthenticationFailed

PLAIN = "plain-key-0001"
HASHED = "hashed-key-0002"


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    return parse_config({"api_keys": [
        {"name": "plain", "key": PLAIN},
        {"name": "hashed", "key_sha256": hashlib.sha256(HASHED.encode()).hexdigest()},
    ]}, tmp_path_factory.mktemp("cfg") / "cortex.yaml", environ={})


@pytest.mark.parametrize("key", [PLAIN, HASHED])
def test_the_right_key_passes(config, key):
    assert KeyRing(config.api_keys).authenticate(key).name == key.split("-")[0]


@pytest.mark.parametrize("wrong", [
    "plain-key-0002", "xlain-key-0001", "hashed-key-0003",   # same length as a real key
    "plain-key-001", "plain-key-00011", "p", "x" * 10_000,   # other lengths
    "plain-key-0001\x00", "pläin-key-0001", "\udcff" * 14,  # NUL, non-ASCII, lone surrogates
], ids=lambda key: f"{len(key)}-chars")
def test_a_wrong_key_fails(config, wrong):
    with pytest.raises(AuthenticationFailed) as excinfo:
        KeyRing(config.api_keys).authenticate(wrong)
    assert excinfo.value.message == "Invalid API key"


def test_the_loaded_config_holds_no_plaintext_key(config):
    for key in config.api_keys:
        assert PLAIN not in repr(dataclasses.asdict(key)) and HASHED not in repr(dataclasses.asdict(key))
