"""`POST /v1/embeddings` under real gunicorn, driven by the official `openai` SDK."""
import base64
import struct

import openai
import pytest
import requests

from tests.cortex_server import ADMIN_KEY, base_config
from tests.mocks import Fail
from tests.mocks.openai_wire import DEFAULT_EMBEDDING_DIMENSIONS, embedding_vector

MODEL = "text-embedding-3-small"
OPENAI_WIRE_TYPES = ("mistral", "together", "fireworks", "groq", "deepseek", "custom")


def embedding_config(mock_url: str, db_path) -> dict:
    config = base_config(mock_url, db_path)
    config["providers"][0]["models"].append({"id": MODEL, "kind": "embedding", "aliases": ["embed-small"]})
    config["providers"] += [{"name": f"mock{kind}", "type": kind, "base_url": f"{mock_url}/v1",
                             "api_keys": [f"sk-{kind}-secret"]} for kind in OPENAI_WIRE_TYPES]
    config["providers"].append(
        {"name": "mockrouter", "type": "openrouter", "base_url": f"{mock_url}/v1", "api_keys": ["sk-router-secret"]})
    candidate = {"provider": "mockai", "model": MODEL}
    config["virtual_models"] = [
        {"name": "embed-one", "candidates": [candidate, {"provider": "mockmistral", "model": MODEL, "enabled": False}]},
        {"name": "embed-two", "candidates": [candidate, {"provider": "mockmistral", "model": MODEL}]},
        {"name": "embed-none", "candidates": [{**candidate, "enabled": False}]},
    ]
    return config


@pytest.fixture(scope="module")
def cortex(start_cortex):
    return start_cortex(embedding_config)


def post_embeddings(server, body: dict) -> requests.Response:
    return requests.post(server.url + "/v1/embeddings", json=body, headers={"Authorization": f"Bearer {ADMIN_KEY}"})


def test_string_input_with_provider_prefix(cortex, mock):
    reply = cortex.openai().embeddings.with_raw_response.create(
        model="mockai:text-embedding-3-small", input="The quick brown fox jumps", encoding_format="float")
    result = reply.parse()
    assert result.model == "mockai:text-embedding-3-small", "the model the client asked for"
    assert [item.embedding for item in result.data] == [embedding_vector("The quick brown fox jumps", 8)]
    assert result.usage.prompt_tokens == result.usage.total_tokens == 5
    assert reply.headers["x-cortex-provider"] == "mockai" and reply.headers["x-cortex-model"] == MODEL
    sent = mock.requests_to("/v1/embeddings")[-1]
    assert sent.json == {"model": MODEL, "input": "The quick brown fox jumps", "encoding_format": "float"}
    assert sent.headers["Authorization"] == "Bearer sk-mock-openai-secret-1"


@pytest.mark.parametrize("items", [["First sentence", "Second sentence", "Third"], [[1, 2, 3], [4]]])
def test_array_inputs(cortex, items):
    result = cortex.openai().embeddings.create(model="embed-small", input=items, encoding_format="float")
    assert [item.index for item in result.data] == list(range(len(items)))
    assert [item.embedding for item in result.data] == [embedding_vector(item, 8) for item in items]


def test_single_token_array_is_one_input(cortex):
    result = cortex.openai().embeddings.create(model=MODEL, input=[5, 6, 7], encoding_format="float")
    assert [item.embedding for item in result.data] == [embedding_vector([5, 6, 7], 8)]
    assert result.usage.prompt_tokens == 3


def test_base64_is_passed_through_and_decodes_to_the_float_vector(cortex, mock):
    client = cortex.openai()
    floats = client.embeddings.create(model=MODEL, input="hello world", encoding_format="float").data[0].embedding
    raw = client.embeddings.create(model=MODEL, input="hello world", encoding_format="base64").data[0].embedding
    assert raw == base64.b64encode(struct.pack(f"<{len(floats)}f", *floats)).decode(), "the upstream's bytes"
    assert list(struct.unpack(f"<{DEFAULT_EMBEDDING_DIMENSIONS}f", base64.b64decode(raw))) == floats
    decoded_by_sdk = client.embeddings.create(model=MODEL, input="hello world").data[0].embedding
    assert mock.requests_to("/v1/embeddings")[-1].json["encoding_format"] == "base64"
    assert decoded_by_sdk == floats


def test_dimensions_and_user_are_forwarded(cortex, mock):
    result = cortex.openai().embeddings.create(model=MODEL, input="x", dimensions=40, user="end-user-7",
                                               encoding_format="float")
    assert len(result.data[0].embedding) == 40
    sent = mock.requests_to("/v1/embeddings")[-1].json
    assert sent["dimensions"] == 40 and sent["user"] == "end-user-7"


@pytest.mark.parametrize("kind", OPENAI_WIRE_TYPES)
def test_openai_wire_provider_types(cortex, mock, kind):
    reply = cortex.openai().embeddings.with_raw_response.create(model=f"mock{kind}:{MODEL}", input="hi",
                                                                encoding_format="float")
    assert reply.parse().data[0].embedding == embedding_vector("hi", 8)
    assert reply.headers["x-cortex-provider"] == f"mock{kind}"
    assert mock.requests_to("/v1/embeddings")[-1].headers["Authorization"] == f"Bearer sk-{kind}-secret"


def test_azure_puts_the_deployment_in_the_path(cortex, mock):
    azure = next(provider for provider in cortex.config["providers"] if provider["type"] == "azure")
    result = cortex.openai().embeddings.create(model=f"{azure['name']}:{MODEL}", input="hi", encoding_format="float")
    assert result.data[0].embedding == embedding_vector("hi", 8)
    [sent] = mock.requests_to(f"/openai/deployments/{MODEL}/embeddings")
    assert sent.headers["api-key"] == azure["api_keys"][0] and "api-version" in sent.query


@pytest.mark.parametrize("model, provider_type", [("mockanthropic:claude-3-5-sonnet-20241022", "anthropic"),
                                                  ("claude-3-5-sonnet-20241022", "anthropic"),
                                                  (f"mockrouter:{MODEL}", "openrouter")])
def test_unsupported_provider_types_are_400(cortex, mock, model, provider_type):
    with pytest.raises(openai.BadRequestError) as excinfo:
        cortex.openai().embeddings.create(model=model, input="hi")
    error = excinfo.value.body
    assert error["type"] == "invalid_request_error" and error["code"] == "unsupported_provider"
    assert "Embeddings are not supported" in error["message"] and f"type {provider_type}" in error["message"]
    assert mock.calls("/v1/embeddings") == 0 and mock.calls("/v1/messages") == 0


def test_virtual_model_with_one_enabled_candidate(cortex):
    reply = cortex.openai().embeddings.with_raw_response.create(model="embed-one", input="hi", encoding_format="float")
    assert reply.parse().model == "embed-one"
    assert reply.headers["x-cortex-provider"] == "mockai"


@pytest.mark.parametrize("model, count", [("embed-two", 2), ("embed-none", 0)])
def test_virtual_model_needs_exactly_one_enabled_candidate(cortex, mock, model, count):
    with pytest.raises(openai.BadRequestError) as excinfo:
        cortex.openai().embeddings.create(model=model, input="hi")
    message = excinfo.value.body["message"]
    assert f"{count} enabled candidates" in message and "exactly one" in message
    assert mock.calls("/v1/embeddings") == 0


@pytest.mark.parametrize("body, field", [
    ({"model": "", "input": "hi"}, "model"),
    ({"input": "hi"}, "model"),
    ({"model": MODEL, "input": ""}, "input"),
    ({"model": MODEL, "input": []}, "input"),
    ({"model": MODEL}, "input"),
    ({"model": MODEL, "input": ["ok", ""]}, "input"),
    ({"model": MODEL, "input": ["text", 5]}, "input"),
    ({"model": MODEL, "input": [[1], []]}, "input"),
    ({"model": MODEL, "input": "hi", "encoding_format": "int8"}, "encoding_format"),
    ({"model": MODEL, "input": "hi", "dimensions": 0}, "dimensions"),
])
def test_bad_bodies_are_400(cortex, mock, body, field):
    response = post_embeddings(cortex, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == field
    assert mock.calls("/v1/embeddings") == 0


@pytest.mark.parametrize("model, code", [("no-such-embedding-model", "model_not_found"),
                                         ("nosuchprovider:text-embedding-3-small", "model_not_found")])
def test_unknown_model_or_provider_is_404(cortex, model, code):
    with pytest.raises(openai.NotFoundError) as excinfo:
        cortex.openai().embeddings.create(model=model, input="hi")
    assert excinfo.value.body["type"] == "invalid_request_error" and excinfo.value.body["code"] == code


def test_upstream_failure_is_502_provider_error(cortex, mock):
    mock.script("/v1/embeddings", Fail(500, "embedding backend down"))
    with pytest.raises(openai.APIStatusError) as excinfo:
        cortex.openai().embeddings.create(model=MODEL, input="hi")
    assert excinfo.value.status_code == 502
    assert excinfo.value.body["type"] == "provider_error" and "embedding backend down" in excinfo.value.body["message"]


def test_usage_records_prompt_tokens(cortex):
    result = cortex.openai().embeddings.create(model="embed-small", input=["one two", "three"],
                                               extra_headers={"x-request-id": "emb-usage-1"})
    row = cortex.usage_row("emb-usage-1")
    assert row["endpoint"] == "/v1/embeddings" and row["status"] == "success"
    assert (row["provider"], row["model"], row["requested_model"]) == ("mockai", MODEL, "embed-small")
    assert row["input_tokens"] == row["total_tokens"] == result.usage.prompt_tokens == 3
    assert row["output_tokens"] == 0
