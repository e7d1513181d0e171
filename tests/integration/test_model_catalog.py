"""The model catalog: pattern entries (`claude-*`, `o[0-9]*`), discovered models, models.retrieve."""
import time

import anthropic
import openai
import pytest
import requests

from tests.cortex_server import ADMIN_KEY, INFERENCE_KEY, base_config

PATTERN_PRICES = {"input_cost_per_mtok": 5, "output_cost_per_mtok": 25, "cache_read_cost_per_mtok": 0.5}


def catalog_config(mock_url, db_path):
    config = base_config(mock_url, db_path)
    mockai, mockanthropic = config["providers"][0], config["providers"][1]
    mockai["models"] += [{"id": "o[0-9]*", "input_cost_per_mtok": 1.1, "output_cost_per_mtok": 4.4}]
    mockanthropic["models"] += [{"id": "claude-*", **PATTERN_PRICES}]
    config["providers"].append({"name": "discovering", "type": "openai", "base_url": f"{mock_url}/v1",
                                "api_keys": ["sk-mock-discovery-4"], "discover_models": True})
    return config


@pytest.fixture(scope="module")
def server(start_cortex, mock):
    mock.models = ["mock-discovered-1"]  # what the discovering provider finds at start-up
    started = start_cortex(catalog_config)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # each worker reads the list in the background as it starts
        answers = [requests.get(started.url + "/v1/models", headers={"Authorization": f"Bearer {ADMIN_KEY}",
                                                                      "Connection": "close"}).json()
                   for _ in range(6)]
        if all("mock-discovered-1" in {m["id"] for m in answer["data"]} for answer in answers):
            return started
        time.sleep(0.1)
    raise AssertionError("discovered model never listed")


def test_a_pattern_routes_the_id_unchanged_and_prices_it(server, mock):
    reply = server.openai().chat.completions.create(model="claude-opus-4-5-20251101", max_tokens=50,
                                                    messages=[{"role": "user", "content": "hi"}])
    sent = mock.requests_to("/v1/messages")
    assert len(sent) == 1 and sent[0].json["model"] == "claude-opus-4-5-20251101"
    assert reply.model == "claude-opus-4-5-20251101"
    row = server.usage_row(reply._request_id or server.access_log()[-1]["request_id"])
    expected = (reply.usage.prompt_tokens * 5 + reply.usage.completion_tokens * 25) / 1e6
    assert row["provider"] == "mockanthropic" and row["cost_usd"] == pytest.approx(expected)


def test_a_character_class_pattern_routes_to_its_provider(server, mock):
    response = requests.post(server.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                             json={"model": "o3", "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 200 and response.headers["x-cortex-provider"] == "mockai"
    assert mock.requests_to("/v1/chat/completions")[0].json["model"] == "o3"


def test_an_id_no_entry_matches_is_still_404(server):
    response = requests.post(server.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                             json={"model": "llama-9", "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 404 and response.json()["error"]["code"] == "model_not_found"


def test_a_discovered_model_is_listed_and_routed(server, mock):
    response = requests.post(server.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                             json={"model": "mock-discovered-1", "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 200 and response.headers["x-cortex-provider"] == "discovering"
    listed = server.anthropic().models.list()
    assert "mock-discovered-1" in {m.id for m in listed.data}
    assert "claude-*" not in {m.id for m in listed.data}  # a pattern is no model name


@pytest.mark.parametrize("model_id", ["gpt-4o", "gpt-4", "claude-opus-4-5", "mock-discovered-1"])
def test_models_retrieve_through_both_sdks(server, model_id):
    assert server.openai().models.retrieve(model_id).id == model_id
    retrieved = server.anthropic().models.retrieve(model_id)
    assert retrieved.id == model_id and retrieved.type == "model"


def test_models_retrieve_shows_the_configured_display_name(server):
    assert server.anthropic().models.retrieve("claude-3-5-sonnet-20241022").display_name == "Claude 3.5 Sonnet"


def test_models_retrieve_of_an_unknown_or_forbidden_model_is_404_on_both_surfaces(server):
    with pytest.raises(openai.NotFoundError):
        server.openai().models.retrieve("llama-9")
    with pytest.raises(anthropic.NotFoundError):
        server.anthropic().models.retrieve("llama-9")
    # The inference-only key may not use o-series models: it cannot see them either.
    with pytest.raises(openai.NotFoundError):
        server.openai(INFERENCE_KEY).models.retrieve("o3")
