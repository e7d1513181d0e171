"""Access control and secret hygiene, under real gunicorn (2 workers).

Every protected operation of `/openapi.json` is tried with no key and with keys that lack its
permission; a run of ordinary and failing traffic (including an OAuth login) is then searched
for every configured secret: in the log, in every response (headers and body), in `/metrics`
and in the usage records. CSRF and open-redirect safety of the OAuth callback are tested in
test_oauth.py; key comparison in tests/unit/test_keys.py.
"""
import hashlib
import os
import sqlite3
import subprocess
import sys
import stat
import time
from pathlib import Path

import pytest
import requests

from tests.cortex_server import ADMIN_KEY, INFERENCE_KEY, LIMITED_KEY, REPO, CortexServer, base_config, free_port
from tests.mocks import Fail, Stream
from tests.mocks.oauth_server import MockOAuthServer
from tests.mocks.openai_wire import chat_completion_chunks

HASHED_KEY = "test-hashed-usage-key-0004"  # configured only as its sha256
USAGE_ONLY_KEY = "test-usage-only-key-0006"
OAUTH_CLIENT = "security-client"
OAUTH_CLIENT_SECRET = "oauth-client-secret-0005"
PROVIDER_KEYS = ("sk-mock-openai-secret-1", "sk-ant-mock-secret-2", "azure-mock-secret-3")
PATH_VALUES = {"provider": "claude-oauth", "name": "mockai", "section": "caching", "model_id": "gpt-4o",
               "key_id": "config:admin", "model": "gpt-4o", "response_id": "resp_unknown"}
HELLO = [{"role": "user", "content": "hello"}]


@pytest.fixture(scope="module")
def auth():
    with MockOAuthServer() as server:
        yield server


@pytest.fixture(scope="module")
def server(mock, auth, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("security")
    config = base_config(mock.url, workdir / "cortex.db")
    config["api_keys"].append({"name": "hashed-usage", "key_sha256": hashlib.sha256(HASHED_KEY.encode()).hexdigest(),
                               "permissions": ["usage", "inference"]})
    config["api_keys"].append({"name": "auditor", "key": USAGE_ONLY_KEY, "permissions": ["usage"]})
    config["providers"].append({
        "name": "claude-oauth", "type": "anthropic", "base_url": mock.url, "auth_method": "oauth",
        "oauth": {"client_id": OAUTH_CLIENT, "client_secret": OAUTH_CLIENT_SECRET,
                  "authorize_url": f"{auth.url}/authorize", "token_url": f"{auth.url}/token"},
        "models": [{"id": "claude-oauth-model"}]})
    server = CortexServer(config, workdir).start()
    yield server
    server.stop()


class Recorder(requests.Session):
    """A session that keeps every response it got, to be searched for secrets afterwards."""

    def __init__(self, key: str | None = ADMIN_KEY):
        super().__init__()
        self.seen: list[requests.Response] = []
        if key:
            self.headers["Authorization"] = f"Bearer {key}"
        self.headers["Connection"] = "close"
        self.hooks["response"].append(lambda response, *args, **kwargs: self.seen.append(response))


def operations(server) -> list[tuple[str, str, str]]:
    """(method, concrete path, permission) of every protected operation in the served document."""
    document = requests.get(server.url + "/openapi.json", timeout=10).json()
    found = []
    for template, methods in document["paths"].items():
        for method, operation in methods.items():
            if operation.get("x-cortex-permission"):
                path = template.format(**PATH_VALUES)
                found.append((method.upper(), path, operation["x-cortex-permission"]))
    return found


# --- permissions ------------------------------------------------------------------------------------

def test_every_protected_operation_checks_its_permission(server):
    protected = operations(server)
    assert {permission for _, _, permission in protected} == {"inference", "usage", "admin"}
    lacking = {"admin": [INFERENCE_KEY, HASHED_KEY, USAGE_ONLY_KEY], "usage": [INFERENCE_KEY],
               "inference": [USAGE_ONLY_KEY]}
    for method, path, permission in protected:
        anonymous = requests.request(method, server.url + path, json={}, timeout=10)
        assert anonymous.status_code == 401, (method, path)
        for key in lacking[permission]:
            denied = requests.request(method, server.url + path, json={}, timeout=10,
                                      headers={"Authorization": f"Bearer {key}"})
            assert denied.status_code == 403, (method, path, key)
            error = denied.json()["error"]
            assert (error["status"] == "PERMISSION_DENIED") if path.startswith("/gemini/") \
                else error["type"] == "permission_error"


def test_an_inference_key_cannot_read_the_usage_of_others(server):
    for query in ({}, {"api_key": "admin"}):
        response = requests.get(server.url + "/usage", params=query, timeout=10,
                                headers={"Authorization": f"Bearer {INFERENCE_KEY}"})
        assert response.status_code == 403
    own_only = requests.get(server.url + "/usage", params={"api_key": "admin"}, timeout=10,
                            headers={"Authorization": f"Bearer {HASHED_KEY}"})
    assert own_only.status_code == 403, "a usage key sees its own records only"


def test_metrics_refuse_a_key_without_admin(server):
    for key in (INFERENCE_KEY, HASHED_KEY, USAGE_ONLY_KEY):
        response = requests.get(server.url + "/metrics", headers={"Authorization": f"Bearer {key}"}, timeout=10)
        assert response.status_code == 403


# --- keys stored as digests ---------------------------------------------------------------------------

def test_a_key_sha256_key_works_and_the_config_holds_no_plaintext(server):
    assert HASHED_KEY not in server.config_path.read_text()
    bearer = requests.post(server.url + "/v1/chat/completions", timeout=10,
                           headers={"Authorization": f"Bearer {HASHED_KEY}"}, json={"model": "gpt-4o", "messages": HELLO})
    assert bearer.status_code == 200
    x_api_key = requests.post(server.url + "/anthropic/v1/messages", timeout=10, headers={"x-api-key": HASHED_KEY},
                              json={"model": "gpt-4o", "max_tokens": 8, "messages": HELLO})
    assert x_api_key.status_code == 200
    assert requests.get(server.url + "/usage", headers={"x-api-key": HASHED_KEY}, timeout=10).status_code == 200
    almost = HASHED_KEY[:-1] + "5"
    assert requests.get(server.url + "/v1/models", headers={"x-api-key": almost}, timeout=10).status_code == 401


# --- secrets never shown ----------------------------------------------------------------------------

def admin_usage_rows(server, count: int, timeout: float = 10.0) -> list[dict]:
    """The admin key's usage records, once all `count` of them are written."""
    deadline = time.monotonic() + timeout
    while True:
        rows = [row for row in server.usage_rows() if row["api_key_name"] == "admin"]
        if len(rows) >= count or time.monotonic() > deadline:
            assert len(rows) == count, "one usage record per inference request"
            return rows
        time.sleep(0.1)


def drive_traffic(server, mock, auth) -> list[requests.Response]:
    """Successes and failures on every surface, with upstream errors that echo the provider key."""
    admin, outsider = Recorder(), Recorder(key=None)
    chat = server.url + "/v1/chat/completions"
    # An OAuth login, and a call that carries its token upstream.
    start = admin.get(server.url + "/oauth/claude-oauth/authorize", allow_redirects=False, timeout=10)
    callback = requests.get(start.headers["Location"], allow_redirects=False, timeout=10).headers["Location"]
    assert admin.get(callback, allow_redirects=False, timeout=30).status_code == 200
    assert admin.post(chat, json={"model": "claude-oauth-model", "messages": HELLO}, timeout=10).status_code == 200
    admin.get(server.url + "/oauth/claude-oauth/status", timeout=10)
    admin.post(server.url + "/oauth/claude-oauth/refresh", timeout=10)
    # Upstream errors whose messages quote Cortex's credentials, before and during a stream.
    leaky = f"Incorrect API key provided: {PROVIDER_KEYS[0]}"
    # The 400 is passed on as the client's error, the provider's message kept: scrubbed all the same.
    mock.script("/v1/chat/completions", Fail(401, leaky), Fail(500, leaky), Fail(400, leaky))
    for _ in range(3):
        admin.post(chat, json={"model": "gpt-4o", "messages": HELLO}, timeout=10)
    chunks = chat_completion_chunks({"messages": HELLO}, "gpt-4o")
    mock.script("/v1/chat/completions", Stream([chunks[0], {"error": {"message": leaky, "type": "server_error"}}]))
    admin.post(chat, json={"model": "gpt-4o", "messages": HELLO, "stream": True}, timeout=10)
    mock.script("/v1/messages", Stream([("error", {"type": "error", "error": {"type": "api_error",
                                                                              "message": leaky}})]))
    admin.post(server.url + "/anthropic/v1/messages", timeout=10,
               json={"model": "claude-3-5-sonnet-20241022", "max_tokens": 8, "messages": HELLO, "stream": True})
    # Wrong and missing keys, with secrets as the attempted key.
    for attempt in (*PROVIDER_KEYS, OAUTH_CLIENT_SECRET, ADMIN_KEY + "x"):
        outsider.get(server.url + "/v1/models", headers={"Authorization": f"Bearer {attempt}"}, timeout=10)
    # The operator's views.
    for path in ("/usage", "/usage/summary", "/metrics", "/api/admin/inflight", "/api/providers/mockai/auth",
                 "/api/providers/claude-oauth/auth", "/api/config/caching", "/openapi.json"):
        assert admin.get(server.url + path, timeout=10).status_code == 200, path
    return admin.seen + outsider.seen


def test_secrets_never_appear_in_logs_responses_metrics_or_usage(server, mock, auth):
    responses = drive_traffic(server, mock, auth)
    tokens = [value for issued in auth.issued for value in (issued.access_token, issued.refresh_token) if value]
    assert tokens, "the OAuth login issued tokens"
    key_file = Path(server.config["storage"]["database_url"][len("sqlite:///"):]).parent / "cortex.key"
    secrets = [*PROVIDER_KEYS, ADMIN_KEY, INFERENCE_KEY, LIMITED_KEY, HASHED_KEY, USAGE_ONLY_KEY, OAUTH_CLIENT_SECRET,
               *tokens, key_file.read_text().strip()]
    inference = [r for r in responses if "/v1/" in r.url and "/models" not in r.url and r.status_code != 401]
    usage_records = repr(admin_usage_rows(server, len(inference)))
    for response in responses:
        shown = str(response.headers) + response.text
        for secret in secrets:
            assert secret not in shown, (response.request.method, response.url, secret)
    log = server.log()
    for secret in secrets:
        assert secret not in log, secret
        assert secret not in usage_records, secret
    assert "[redacted]" in "".join(response.text for response in responses), "the upstream's echo was scrubbed"


def test_database_and_key_files_are_private(server):
    db_path = Path(server.config["storage"]["database_url"][len("sqlite:///"):])
    files = [db_path, db_path.with_name(db_path.name + "-wal"), db_path.with_name(db_path.name + "-shm"),
             db_path.with_name("cortex.key")]
    existing = [path for path in files if path.exists()]
    assert db_path in existing and db_path.with_name("cortex.key") in existing
    for path in existing:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    with sqlite3.connect(db_path) as db:  # still readable by its owner
        assert db.execute("SELECT count(*) FROM usage_records").fetchone()[0] > 0


def test_gunicorn_refuses_the_development_key_on_a_reachable_address(tmp_path):
    """The shipped config, bound to every interface with no CORTEX_ADMIN_KEY: no start, and why."""
    (tmp_path / "cortex.yaml").write_text((REPO / "cortex.yaml").read_text())
    env = {**os.environ, "CORTEX_CONFIG": str(tmp_path / "cortex.yaml"), "CORTEX_HOST": "0.0.0.0",
           "CORTEX_PORT": str(free_port())}
    env.pop("CORTEX_ADMIN_KEY", None)
    run = subprocess.run([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"], cwd=REPO,
                         env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert "refusing to start" in run.stderr and "CORTEX_ADMIN_KEY" in run.stderr
