"""Virtual models (fallback, round robin), provider key rotation and provider health, under real gunicorn.

One worker, so that per-worker state (round-robin turn, key cool-downs, provider health) is
the state every request of the test meets.
"""
import itertools

import anthropic
import openai
import pytest
import requests

from tests.cortex_server import ADMIN_KEY, INFERENCE_KEY, base_config, free_port
from tests.mocks import Fail, ResetMidStream
from tests.mocks.openai_wire import chat_completion_chunks

CHAT_PATH = "/v1/chat/completions"
MESSAGES = [{"role": "user", "content": "which one answers"}]


def provider(name: str, base_url: str, *keys: str) -> dict:
    return {"name": name, "type": "openai", "base_url": base_url, "api_keys": list(keys) or [f"sk-{name}"],
            "timeout_secs": 5, "connect_timeout_secs": 2, "models": [{"id": "gpt-4o"}]}


def virtual(name: str, *providers: str, strategy: str = "fallback") -> dict:
    return {"name": name, "strategy": strategy,
            "candidates": [{"provider": provider_name, "model": "gpt-4o"} for provider_name in providers]}


def failover_config(mock_url: str, db_path) -> dict:
    closed = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there: connections are refused
    config = base_config(mock_url, db_path)
    config["providers"] += [
        provider("primary", f"{mock_url}/v1"), provider("secondary", f"{mock_url}/v1"),
        provider("unreachable", closed), provider("flaky", closed), provider("doomed", closed),
        provider("rotating401", f"{mock_url}/v1", "sk-rot-a", "sk-rot-b"),
        provider("rotating429", f"{mock_url}/v1", "sk-429-a", "sk-429-b"),
    ]
    config["virtual_models"] = [
        virtual("pair", "primary", "secondary"),
        virtual("spread", "primary", "secondary", strategy="round_robin"),
        virtual("via-unreachable", "unreachable", "secondary"),
        virtual("via-flaky", "flaky", "secondary"),
        virtual("doomed-only", "doomed"),
    ]
    return config


@pytest.fixture(scope="module")
def cortex(start_cortex):
    return start_cortex(failover_config, workers=1)


def keys_used(mock) -> list[str]:
    return [request.api_key for request in mock.requests_to(CHAT_PATH)]


def ask(server, model: str, **extra):
    return server.openai().chat.completions.with_raw_response.create(model=model, messages=MESSAGES, **extra)


def health_of(server, name: str) -> dict:
    response = requests.get(server.url + "/api/admin/providers/health", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert response.status_code == 200
    return next(entry for entry in response.json()["providers"] if entry["provider"] == name)


# --- fallback ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("behaviour", [Fail(500, "primary is down"),
                                       Fail(503),
                                       Fail(429, "slow down", headers={"Retry-After": "1"})],
                         ids=["500", "503", "429"])
def test_fallback_to_the_next_candidate(cortex, mock, behaviour):
    mock.script(CHAT_PATH, behaviour)
    reply = ask(cortex, "pair", extra_headers={"x-request-id": f"fallback-{behaviour.status}"})
    assert reply.parse().choices[0].message.content == "echo: which one answers"
    assert reply.parse().model == "pair"
    assert reply.headers["x-cortex-provider"] == "secondary"
    assert keys_used(mock) == ["sk-primary", "sk-secondary"]
    row = cortex.usage_row(f"fallback-{behaviour.status}")
    assert (row["provider"], row["requested_model"], row["status"]) == ("secondary", "pair", "success")


def test_fallback_on_refused_connection(cortex, mock):
    reply = ask(cortex, "via-unreachable")
    assert reply.headers["x-cortex-provider"] == "secondary"
    assert keys_used(mock) == ["sk-secondary"]


def test_fallback_before_the_first_streamed_byte(cortex, mock):
    mock.script(CHAT_PATH, Fail(502))
    with cortex.openai().chat.completions.with_streaming_response.create(
            model="pair", messages=MESSAGES, stream=True) as reply:
        assert reply.headers["x-cortex-provider"] == "secondary"
        text = "".join(chunk.choices[0].delta.content or "" for chunk in reply.parse() if chunk.choices)
    assert text == "echo: which one answers"
    assert keys_used(mock) == ["sk-primary", "sk-secondary"]


@pytest.mark.parametrize("status", [400, 404, 413, 422])
def test_a_client_error_is_not_retried_elsewhere(cortex, mock, status):
    mock.script(CHAT_PATH, Fail(status, "messages[0] is invalid"))
    with pytest.raises(openai.APIStatusError) as excinfo:
        ask(cortex, "pair")
    assert excinfo.value.status_code == status and excinfo.value.body["code"] == f"upstream_{status}"
    assert keys_used(mock) == ["sk-primary"]
    assert health_of(cortex, "primary")["consecutive_failures"] == 0, "the provider answered: no outage"


def test_the_official_sdks_do_not_resend_a_rejected_request(cortex, mock):
    """Both SDKs retry 5xx (twice by default); a rejection passed on as 502 was sent three times."""
    mock.script(CHAT_PATH, Fail(400, "messages[0] is invalid"), Fail(400, "messages[0] is invalid"))
    retrying_openai = openai.OpenAI(base_url=cortex.url + "/v1", api_key=ADMIN_KEY)  # max_retries: the default
    with pytest.raises(openai.BadRequestError) as excinfo:
        retrying_openai.chat.completions.create(model="pair", messages=MESSAGES)
    assert excinfo.value.body["type"] == "invalid_request_error"
    assert "messages[0] is invalid" in excinfo.value.body["message"]
    assert mock.calls(CHAT_PATH) == 1
    retrying_anthropic = anthropic.Anthropic(base_url=cortex.url + "/anthropic", api_key=ADMIN_KEY)
    with pytest.raises(anthropic.BadRequestError) as excinfo:
        retrying_anthropic.messages.create(model="pair", max_tokens=16, messages=MESSAGES)
    assert excinfo.value.body["error"]["type"] == "invalid_request_error"
    assert mock.calls(CHAT_PATH) == 2


def test_when_every_candidate_fails_the_last_error_is_reported(cortex, mock):
    mock.script(CHAT_PATH, Fail(500), Fail(503, "secondary is down too"))
    with pytest.raises(openai.APIStatusError) as excinfo:
        ask(cortex, "pair", extra_headers={"x-request-id": "fallback-all"})
    assert excinfo.value.status_code == 502 and excinfo.value.body["code"] == "upstream_503"
    assert "secondary is down too" in excinfo.value.body["message"]
    row = cortex.usage_row("fallback-all")
    assert (row["provider"], row["status"], row["error_code"]) == ("secondary", "error", "upstream_503")


def test_round_robin_spreads_requests(cortex, mock):
    served = [ask(cortex, "spread").headers["x-cortex-provider"] for _ in range(6)]
    assert sorted(served) == ["primary"] * 3 + ["secondary"] * 3
    assert all(first != second for first, second in itertools.pairwise(served)), served


def test_round_robin_still_skips_a_failing_candidate(cortex, mock):
    mock.script(CHAT_PATH, Fail(500))
    served = ask(cortex, "spread").headers["x-cortex-provider"]
    failed, answered = keys_used(mock)
    assert failed != answered and answered == f"sk-{served}"


# --- after the first byte ----------------------------------------------------------------------------

def broken_stream() -> ResetMidStream:
    chunks = chat_completion_chunks({"messages": MESSAGES, "stream": True}, "gpt-4o")
    return ResetMidStream(chunks, after=3)


def test_mid_stream_failure_is_an_openai_error_event(cortex, mock):
    mock.script(CHAT_PATH, broken_stream())
    stream = cortex.openai().chat.completions.create(model="pair", messages=MESSAGES, stream=True,
                                                     extra_headers={"x-request-id": "midstream-openai"})
    received = []
    with pytest.raises(openai.APIError) as excinfo:
        for chunk in stream:
            received.append(chunk)  # noqa: PERF402 - what arrived before the error
    assert len(received) == 3, "what was sent before the failure reached the client"
    assert excinfo.value.body["type"] == "provider_error"
    assert keys_used(mock) == ["sk-primary"], "no fallback once bytes have gone out"
    row = cortex.usage_row("midstream-openai")
    assert (row["provider"], row["status"], row["error_code"]) == ("primary", "error", "upstream_connection_error")


def test_mid_stream_failure_is_an_anthropic_error_event(cortex, mock):
    mock.script(CHAT_PATH, broken_stream())
    client = anthropic.Anthropic(base_url=cortex.url + "/anthropic", api_key=ADMIN_KEY, max_retries=0)
    events = []
    with pytest.raises(anthropic.APIError):
        for event in client.messages.create(model="pair", max_tokens=50, messages=MESSAGES, stream=True):
            events.append(event.type)
    assert events[0] == "message_start" and "message_stop" not in events
    assert keys_used(mock) == ["sk-primary"]


# --- key rotation ------------------------------------------------------------------------------------

def test_a_rejected_key_cools_down_and_the_next_one_serves(cortex, mock):
    mock.reject_keys = {"sk-rot-a"}
    for _ in range(3):
        assert ask(cortex, "rotating401:gpt-4o").parse().choices[0].message.content
    assert keys_used(mock) == ["sk-rot-a", "sk-rot-b", "sk-rot-b", "sk-rot-b"], "sk-rot-a is tried once"


def test_a_rate_limited_key_rests_for_retry_after(cortex, mock):
    mock.script(CHAT_PATH, Fail(429, "key quota", headers={"Retry-After": "30"}))
    for _ in range(3):
        assert ask(cortex, "rotating429:gpt-4o").parse().choices[0].message.content
    assert keys_used(mock) == ["sk-429-a", "sk-429-b", "sk-429-b", "sk-429-b"]


# --- provider health ---------------------------------------------------------------------------------

def test_a_failing_provider_leaves_the_rotation(cortex, mock):
    for _ in range(8):
        assert ask(cortex, "via-flaky").headers["x-cortex-provider"] == "secondary"
    flaky = health_of(cortex, "flaky")
    assert flaky["state"] == "open" and flaky["last_error"] == "upstream_unreachable"
    assert flaky["failures"] == flaky["consecutive_failures"] == 5, "not tried again once out of rotation"
    assert 0 < flaky["retry_in_secs"] <= flaky["cool_down_secs"]
    assert health_of(cortex, "secondary")["state"] == "closed"


def test_a_virtual_model_with_no_candidate_left_is_503(cortex):
    for _ in range(5):
        with pytest.raises(openai.APIStatusError) as excinfo:
            ask(cortex, "doomed-only")
        assert excinfo.value.status_code == 502 and excinfo.value.body["code"] == "upstream_unreachable"
    response = requests.post(cortex.url + CHAT_PATH, json={"model": "doomed-only", "messages": MESSAGES},
                             headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "candidates_unavailable"
    assert 1 <= int(response.headers["Retry-After"]) <= health_of(cortex, "doomed")["cool_down_secs"]
    assert health_of(cortex, "doomed")["failures"] == 5


def test_health_view_needs_the_admin_key(cortex):
    response = requests.get(cortex.url + "/api/admin/providers/health",
                            headers={"Authorization": f"Bearer {INFERENCE_KEY}"})
    assert response.status_code == 403
