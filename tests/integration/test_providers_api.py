"""Provider management (`/api/providers/{name}/models` and `/auth`) under real gunicorn."""
import pytest
import requests

from tests.cortex_server import ADMIN_KEY, INFERENCE_KEY, CortexServer, base_config
from tests.mocks import Fail, Reply

LONG_KEY = "sk-proj-abcdefghijklmnopqrstuvwxh7YZ"
SHORT_KEY = "sk-short-12"


@pytest.fixture(scope="module")
def cortex(mock, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("cortex-providers")
    openai_type = {"type": "openai", "base_url": f"{mock.url}/v1", "timeout_secs": 5, "api_keys": [LONG_KEY]}
    providers = [
        {"name": "listed", **openai_type, "api_keys": [LONG_KEY, SHORT_KEY], "default_model": "gpt-4o-mini",
         "models": [{"id": "gpt-4o", "display_name": "GPT-4o"}, {"id": "gpt-4o-mini"},
                    {"id": "gpt-old", "display_name": "Retired", "enabled": False}]},
        {"name": "claude", "type": "anthropic", "base_url": mock.url, "api_keys": ["sk-ant-mock-secret-2"],
         "models": [{"id": "claude-3-5-sonnet-20241022", "display_name": "Configured name"}]},
        {"name": "groq", **openai_type, "type": "groq", "models": [{"id": "mixtral-8x7b-32768"}]},
        {"name": "flaky", **openai_type, "models": [{"id": "flaky-model", "display_name": "Flaky Model"}]},
        {"name": "cached", **openai_type},
        {"name": "dead", "type": "openai", "base_url": "http://127.0.0.1:9/v1", "api_keys": [LONG_KEY],
         "connect_timeout_secs": 1},
        {"name": "deployments", "type": "azure", "base_url": f"{mock.url}/azure", "api_keys": [LONG_KEY],
         "models": [{"id": "my-deployment"}]},
        {"name": "subscription", "type": "anthropic", "base_url": mock.url, "auth_method": "auto",
         "api_keys": [SHORT_KEY], "oauth": {"client_id": "own-client"}},
    ]
    config = base_config(mock.url, workdir / "cortex.db", providers=providers,
                         provider_patterns={"groq": "groq/"})
    server = CortexServer(config, workdir).start()
    yield server
    server.stop()


def get(server, path, key=ADMIN_KEY) -> requests.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return requests.get(server.url + path, headers={**headers, "Connection": "close"}, timeout=30)


def test_models_merge_the_config_with_the_providers_list(cortex, mock):
    mock.models = ["gpt-4o", "gpt-4o-mini", "o1-preview"]
    response = get(cortex, "/api/providers/listed/models")
    assert response.status_code == 200
    assert response.json() == {
        "provider": "listed",
        "models": [
            {"id": "gpt-4o", "display_name": "GPT-4o", "enabled": True},
            {"id": "gpt-4o-mini", "display_name": "gpt-4o-mini", "enabled": True},
            {"id": "gpt-old", "display_name": "Retired", "enabled": False},
            {"id": "o1-preview", "display_name": "o1-preview", "enabled": True},  # listed by the provider only
        ],
        "default_model": "gpt-4o-mini",
    }
    models_call = mock.requests_to("/v1/models")[0]
    assert models_call.method == "GET" and models_call.headers["authorization"] in (
        f"Bearer {LONG_KEY}", f"Bearer {SHORT_KEY}")


def test_display_names_come_from_the_providers_own_list(cortex, mock):
    listing = {"data": [{"type": "model", "id": "claude-3-5-sonnet-20241022", "display_name": "Claude 3.5 Sonnet",
                         "created_at": "2024-10-22T00:00:00Z"}], "has_more": False}
    mock.script("/v1/models", Reply(listing), Reply(listing))  # one listing per worker
    body = get(cortex, "/api/providers/claude/models").json()
    assert body["models"] == [{"id": "claude-3-5-sonnet-20241022", "display_name": "Claude 3.5 Sonnet",
                               "enabled": True}]
    assert body["default_model"] == "claude-3-5-sonnet-20241022"
    assert mock.requests_to("/v1/models")[0].headers["x-api-key"] == "sk-ant-mock-secret-2"


def test_the_routing_prefix_is_applied(cortex, mock):
    mock.models = ["mixtral-8x7b-32768", "llama-3.1-70b-versatile"]
    body = get(cortex, "/api/providers/groq/models").json()
    assert [m["id"] for m in body["models"]] == ["groq/mixtral-8x7b-32768", "groq/llama-3.1-70b-versatile"]
    assert body["default_model"] == "groq/mixtral-8x7b-32768"
    reply = cortex.openai().chat.completions.create(model=body["models"][1]["id"],
                                                    messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content  # the listed id routes


def test_a_failing_model_list_falls_back_to_the_config(cortex, mock):
    mock.script("/v1/models", Fail(503), Fail(503))
    body = get(cortex, "/api/providers/flaky/models").json()
    assert body["models"] == [{"id": "flaky-model", "display_name": "Flaky Model", "enabled": True}]


def test_nothing_to_list_is_a_500(cortex):
    response = get(cortex, "/api/providers/dead/models")
    assert response.status_code == 500
    assert response.json()["error"]["message"].startswith("Failed to retrieve models for provider 'dead'")


def test_providers_without_a_model_list_answer_from_the_config(cortex, mock):
    body = get(cortex, "/api/providers/deployments/models").json()
    assert [m["id"] for m in body["models"]] == ["my-deployment"]
    assert not mock.requests  # Azure lists deployments elsewhere: not asked


def test_the_model_list_is_cached(cortex, mock):
    for _ in range(6):
        assert get(cortex, "/api/providers/cached/models").status_code == 200
    assert 1 <= mock.calls("/v1/models") <= len(cortex.worker_pids())  # at most once per worker


def test_auth_masks_keys_and_reports_oauth(cortex):
    assert get(cortex, "/api/providers/listed/auth").json() == {
        "provider": "listed",
        "auth_method": "api_key",
        "api_keys": [{"masked": "sk-p****...****h7YZ", "index": 0}, {"masked": "****...****", "index": 1}],
        "oauth": {"configured": False, "authenticated": False},
    }
    subscription = get(cortex, "/api/providers/subscription/auth").json()
    assert subscription["auth_method"] == "auto"
    assert subscription["oauth"] == {"configured": True, "authenticated": False}


def test_secrets_never_leave_in_full(cortex):
    for name in ("listed", "subscription"):
        text = get(cortex, f"/api/providers/{name}/auth").text
        assert LONG_KEY not in text and SHORT_KEY not in text


@pytest.mark.parametrize("path, status, message", [
    ("/api/providers/nosuch/models", 404, "Provider 'nosuch' not found"),
    ("/api/providers/nosuch/auth", 404, "Provider 'nosuch' not found"),
    ("/api/providers/%20/models", 400, "Provider name is required"),
    ("/api/providers/%20/auth", 400, "Provider name is required"),
])
def test_unknown_or_empty_provider_names(cortex, path, status, message):
    response = get(cortex, path)
    assert response.status_code == status
    assert response.json()["error"]["message"] == message


def test_provider_management_needs_an_admin_key(cortex):
    assert get(cortex, "/api/providers/listed/auth", key=None).status_code == 401
    assert get(cortex, "/api/providers/listed/auth", key=INFERENCE_KEY).status_code == 403
    assert get(cortex, "/api/providers/listed/models", key=INFERENCE_KEY).status_code == 403
