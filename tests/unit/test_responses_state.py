"""The Responses API's configuration (how each provider is reached) and its stored responses."""
import logging
import time
from pathlib import Path

import pytest

from app.config import ConfigError, StorageConfig, parse_config
from app.db import Store
from app.responses import ResponseStore
from app.shaping import upstream_format

PROVIDERS = [
    {"name": "oa", "type": "openai", "api_keys": ["sk-1"],
     "models": [{"id": "gpt-4o"}, {"id": "codex-x", "api": "responses"}]},
    {"name": "oa-chat", "type": "openai", "api_keys": ["sk-2"], "responses_api": "translate", "models": [{"id": "m"}]},
    {"name": "vllm", "type": "custom", "base_url": "http://127.0.0.1:1/v1", "models": [{"id": "llama"}]},
    {"name": "vllm-native", "type": "custom", "base_url": "http://127.0.0.1:1/v1", "responses_api": "native",
     "models": [{"id": "llama"}]},
    {"name": "claude", "type": "anthropic", "api_keys": ["sk-3"], "models": [{"id": "claude-x", "api": "responses"}]},
]


def config(providers=PROVIDERS, **storage):
    raw = {"api_keys": [{"name": "k", "key": "secret-key-123"}], "providers": providers, "storage": storage}
    return parse_config(raw, Path("/tmp/cortex.yaml"))


@pytest.mark.parametrize("provider,model,client,expected", [
    ("oa", "gpt-4o", "responses", "responses"),       # type openai serves the API: passed through
    ("oa", "gpt-4o", "openai", "openai"),             # chat clients keep the chat API
    ("oa", "codex-x", "openai", "responses"),         # a Responses-only model, from any client
    ("oa", "codex-x", "anthropic", "responses"),
    ("oa-chat", "m", "responses", "openai"),          # overridden per provider
    ("vllm", "llama", "responses", "openai"),         # other OpenAI-compatible types: translated by default
    ("vllm-native", "llama", "responses", "responses"),
    ("claude", "claude-x", "responses", "responses"),  # `api: responses` names the model's API whatever the type
])
def test_upstream_format(provider, model, client, expected):
    entry = config().provider(provider)
    wire_format = "anthropic" if entry.type == "anthropic" else "openai"
    assert upstream_format(entry, model, client, wire_format) == expected


@pytest.mark.parametrize("patch,message", [
    ({"responses_api": "maybe"}, "providers[0].responses_api: Must be one of"),
    ({"models": [{"id": "m", "api": "grpc"}]}, "providers[0].models[0].api: Must be one of"),
])
def test_invalid_responses_settings_name_the_key(patch, message):
    with pytest.raises(ConfigError) as raised:
        config([{**PROVIDERS[0], **patch}])
    assert message in str(raised.value)


class Key:
    def __init__(self, name):
        self.name = name


@pytest.fixture
def store(tmp_path):
    opened = Store(StorageConfig(f"sqlite:///{tmp_path / 'cortex.db'}", "", ""))
    yield opened
    opened.close()


def test_stored_response_is_read_only_by_its_key(store):
    responses = ResponseStore(store, retention_days=1)
    responses.put(Key("alice"), {"id": "resp_1", "output": []}, [{"type": "message"}], [{"id": "msg_1"}])
    row = responses.get("resp_1", Key("alice"))
    assert row is not None and row.api_key_name == "alice"
    assert responses.get("resp_1", Key("bob")) is None
    responses.delete("resp_1", Key("alice"))
    assert responses.get("resp_1", Key("alice")) is None


def test_expired_responses_are_not_served(store):
    responses = ResponseStore(store, retention_days=0.5 / 86400)  # half a second
    responses.put(Key("alice"), {"id": "resp_2", "output": []}, [], [])
    time.sleep(0.6)
    assert responses.get("resp_2", Key("alice")) is None


def test_retention_is_configurable():
    assert config().storage.responses_retention_days == 30
    assert config(responses_retention_days=7).storage.responses_retention_days == 7


def test_a_store_outage_does_not_fail_the_answer(store, caplog, monkeypatch):
    monkeypatch.setattr(logging.getLogger("cortex"), "propagate", True)  # an app built earlier turned it off
    responses = ResponseStore(store, retention_days=1)
    store.database.close()
    store.database.init(":memory:/no/such/dir/cortex.db")  # every statement now fails
    responses.put(Key("alice"), {"id": "resp_3", "output": []}, [], [])
    assert "could not store response resp_3" in caplog.text


@pytest.mark.parametrize("response_id", ["resp_\x00", "x" * 101, "a/b", ""])
def test_what_no_id_looks_like_is_not_looked_up(store, response_id):
    assert ResponseStore(store, retention_days=1).lookup(response_id) is None
