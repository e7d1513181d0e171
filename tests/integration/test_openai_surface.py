"""The OpenAI surface under real gunicorn, driven by the official `openai` SDK."""
import json

import openai
import pytest
import requests

from tests.cortex_server import ADMIN_KEY, INFERENCE_KEY
from tests.mocks import Fail, Malformed, ResetConnection

WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather in a city",
    "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}}


def test_chat_non_stream(cortex, mock):
    client = cortex.openai()
    reply = client.chat.completions.with_raw_response.create(
        model="gpt-4", messages=[{"role": "user", "content": "hello there"}], max_tokens=50, temperature=0.3,
        extra_body={"seed": 7, "vendor_field": {"x": 1}})
    completion = reply.parse()
    assert completion.choices[0].message.content == "echo: hello there"
    assert completion.model == "gpt-4"  # what the client asked for, not the upstream id
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens
    assert reply.headers["x-cortex-provider"] == "mockai" and reply.headers["x-cortex-model"] == "gpt-4o"
    assert reply.headers["x-request-id"]
    sent = mock.requests_to("/v1/chat/completions")[-1]
    assert sent.json["model"] == "gpt-4o"
    assert sent.json["seed"] == 7 and sent.json["vendor_field"] == {"x": 1}  # unknown fields pass through
    assert sent.headers["Authorization"] == "Bearer sk-mock-openai-secret-1"


def test_chat_stream_without_usage_request(cortex, mock):
    stream = cortex.openai().chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "one two three"}], stream=True)
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: one two three"
    assert all(c.choices for c in chunks), "the usage chunk Cortex asked for must not reach this client"
    assert {c.model for c in chunks} == {"gpt-4o"}
    sent = mock.requests_to("/v1/chat/completions")[-1].json
    assert sent["stream_options"] == {"include_usage": True}


def test_chat_stream_with_usage(cortex):
    chunks = list(cortex.openai().chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "count me"}], stream=True,
        stream_options={"include_usage": True}))
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0


def test_tool_call_stream_assembled_by_sdk(cortex):
    client = cortex.openai()
    with client.chat.completions.stream(
            model="gpt-4o", messages=[{"role": "user", "content": "weather in Paris?"}],
            tools=[WEATHER_TOOL], tool_choice="auto") as stream:
        final = stream.get_final_completion()
    call = final.choices[0].message.tool_calls[0]
    assert final.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"location": "Paris"}


def test_tool_call_round_trip_non_stream(cortex, mock):
    client = cortex.openai()
    first = client.chat.completions.create(model="gpt-4o", tools=[WEATHER_TOOL],
                                           messages=[{"role": "user", "content": "weather?"}])
    call = first.choices[0].message.tool_calls[0]
    second = client.chat.completions.create(model="gpt-4o", tools=[WEATHER_TOOL], messages=[
        {"role": "user", "content": "weather?"},
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"}])
    assert second.choices[0].finish_reason == "stop"
    assert mock.requests_to("/v1/chat/completions")[-1].json["messages"][-1]["tool_call_id"] == call.id


def test_models_list(cortex):
    ids = [m.id for m in cortex.openai().models.list()]
    assert {"gpt-4o", "gpt-4", "gpt-4o-mini", "claude-3-5-sonnet-20241022"} <= set(ids)
    limited = [m.id for m in cortex.openai(INFERENCE_KEY).models.list()]
    assert "gpt-4o" in limited


def test_wrong_key_is_401(cortex):
    with pytest.raises(openai.AuthenticationError) as excinfo:
        cortex.openai("wrong-key").chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    assert excinfo.value.body["type"] == "authentication_error"


def test_missing_key_is_401(cortex):
    response = requests.post(cortex.url + "/v1/chat/completions", json={})
    assert response.status_code == 401
    assert response.json()["error"] == {
        "message": "Missing API key: send 'Authorization: Bearer <key>' or 'x-api-key: <key>'",
        "type": "authentication_error", "param": None, "code": "invalid_api_key"}


def test_x_api_key_header_accepted(cortex):
    response = requests.get(cortex.url + "/v1/models", headers={"x-api-key": ADMIN_KEY})
    assert response.status_code == 200


def test_model_not_allowed_is_403(cortex):
    with pytest.raises(openai.PermissionDeniedError) as excinfo:
        cortex.openai(INFERENCE_KEY).chat.completions.create(
            model="mockai:o1-preview", messages=[{"role": "user", "content": "x"}])
    assert excinfo.value.body["type"] == "permission_error"


def test_inference_key_cannot_reach_admin(cortex):
    response = requests.get(cortex.url + "/api/admin/inflight", headers={"Authorization": f"Bearer {INFERENCE_KEY}"})
    assert response.status_code in (403, 404)


def test_unknown_model_is_404(cortex):
    with pytest.raises(openai.NotFoundError) as excinfo:
        cortex.openai().chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
    assert excinfo.value.body["code"] == "model_not_found"


@pytest.mark.parametrize("body, fragment", [
    (b"{not json", "not valid JSON"),
    (b"[1, 2]", "Expected a JSON object"),
    (b'{"model": "gpt-4o"}', "messages"),
    (b'{"model": "gpt-4o", "messages": []}', "messages"),
    (b'{"model": 5, "messages": [{"role": "user", "content": "x"}]}', "model"),
    (b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}', "stream"),
    (b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "max_tokens": 1.5}', "max_tokens"),
    (b'{"model": "gpt-4o", "messages": [{"content": "x"}]}', "messages.0.role"),
])
def test_bad_bodies_are_400_naming_the_field(cortex, body, fragment):
    response = requests.post(cortex.url + "/v1/chat/completions", data=body,
                             headers={"Authorization": f"Bearer {ADMIN_KEY}", "Content-Type": "application/json"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and fragment in error["message"]


def test_oversize_body_is_413(cortex):
    response = requests.post(cortex.url + "/v1/chat/completions", data=b"x" * (31 * 1024 * 1024),
                             headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


def test_unknown_route_and_method_in_envelope(cortex):
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    missing = requests.get(cortex.url + "/v1/nothing-here", headers=headers)
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "invalid_request_error"
    wrong_method = requests.delete(cortex.url + "/v1/chat/completions", headers=headers)
    assert wrong_method.status_code == 405 and "error" in wrong_method.json()


@pytest.mark.parametrize("behaviour, status, error_type, code", [
    (Fail(500, "upstream exploded"), 502, "provider_error", "upstream_500"),
    (Fail(400, "bad parameter"), 400, "invalid_request_error", "upstream_400"),
    (Fail(422, "unprocessable"), 422, "invalid_request_error", "upstream_422"),
    (Fail(429, "slow down", headers={"Retry-After": "7"}), 429, "rate_limit_error", "upstream_429"),
    (Malformed(), 502, "provider_error", "upstream_bad_response"),
    (ResetConnection(), 502, "provider_error", "upstream_connection_error"),
])
def test_upstream_errors_map_to_status_and_type(cortex, mock, behaviour, status, error_type, code):
    mock.script("/v1/chat/completions", behaviour)
    response = requests.post(cortex.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                             json={"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]})
    assert response.status_code == status
    error = response.json()["error"]
    assert (error["type"], error["code"], error["param"]) == (error_type, code, None)
    assert "sk-mock-openai-secret-1" not in response.text
    if status == 429:
        assert response.headers["Retry-After"] == "7"


def test_upstream_message_kept(cortex, mock):
    mock.script("/v1/chat/completions", Fail(500, "the model is overloaded"))
    with pytest.raises(openai.APIStatusError) as excinfo:
        cortex.openai().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    assert excinfo.value.status_code == 502
    assert "the model is overloaded" in excinfo.value.body["message"]
    assert excinfo.value.body["type"] == "provider_error"


def test_azure_deployment_path_and_api_key_header(cortex, mock):
    completion = cortex.openai().chat.completions.create(
        model="azure-gpt-deployment", messages=[{"role": "user", "content": "hi azure"}])
    assert completion.choices[0].message.content == "echo: hi azure"
    sent = mock.requests[-1]
    assert sent.path == "/openai/deployments/azure-gpt-deployment/chat/completions"
    assert sent.query["api-version"] == "2024-10-21"
    assert sent.headers["api-key"] == "azure-mock-secret-3" and "Authorization" not in sent.headers


def test_provider_without_key_names_the_variable(cortex, mock):
    with pytest.raises(openai.APIStatusError) as excinfo:
        cortex.openai().chat.completions.create(model="keyless-model", messages=[{"role": "user", "content": "x"}])
    assert excinfo.value.status_code == 502
    assert excinfo.value.body["code"] == "provider_not_configured"
    assert "CORTEX_TEST_UNSET_KEY" in excinfo.value.body["message"]
    assert mock.calls("/v1/chat/completions") == 0


def test_health_and_ready_need_no_key(cortex):
    assert requests.get(cortex.url + "/health").json() == {"status": "ok"}
    assert requests.get(cortex.url + "/ready").status_code == 200


def test_request_id_echoed(cortex):
    response = requests.get(cortex.url + "/health", headers={"x-request-id": "trace-123"})
    assert response.headers["x-request-id"] == "trace-123"
