"""OAuth logins under real gunicorn with 2 workers, against a loopback authorization server:
the code flow with PKCE up to an upstream request carrying the token, state and redirect
safety, encryption at rest, background refresh across workers, OpenRouter's permanent key,
the device flow, refresh/delete/status, and the CLI."""
import base64
import hashlib
import itertools
import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import anthropic
import openai
import pytest
import requests
import yaml

from tests.cortex_server import ADMIN_KEY, INFERENCE_KEY, REPO, CortexServer, base_config
from tests.mocks.oauth_server import MockOAuthServer, s256

CLIENT = "cortex-test-client"
AUTO_CLIENT = "auto-client"
SHORT_LIVED_CLIENT = "short-lived-client"
QWEN_CLIENT = "qwen-client"
GEMINI_CLIENT = "gemini-client"
FALLBACK_KEY = "sk-mock-fallback-key-0001"
REFRESH_INTERVAL = 1
CLAUDE = "claude:claude-3-5-sonnet-20241022"
HELLO = [{"role": "user", "content": "hello"}]


def code_flow(auth, client_id, **extra) -> dict:
    return {"client_id": client_id, "authorize_url": f"{auth.url}/authorize", "token_url": f"{auth.url}/token",
            "scopes": ["user:inference"], **extra}


@pytest.fixture(scope="module")
def auth():
    with MockOAuthServer() as server:
        server.lifetimes[SHORT_LIVED_CLIENT] = 30  # inside the refresh threshold: due every cycle
        yield server


@pytest.fixture(scope="module")
def cortex(mock, auth, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("cortex-oauth")
    openai_type = {"type": "openai", "base_url": f"{mock.url}/v1", "timeout_secs": 5}
    providers = [
        {"name": "claude", "type": "anthropic", "base_url": mock.url, "auth_method": "oauth",
         "oauth": code_flow(auth, CLIENT, allowed_redirect_origins=["http://localhost:3000"]),
         "models": [{"id": "claude-3-5-sonnet-20241022"}]},
        {"name": "gpt", **openai_type, "auth_method": "auto", "api_keys": [FALLBACK_KEY],
         "oauth": code_flow(auth, AUTO_CLIENT), "models": [{"id": "gpt-4o"}]},
        {"name": "shortlived", **openai_type, "auth_method": "oauth", "oauth": code_flow(auth, SHORT_LIVED_CLIENT)},
        {"name": "router", **openai_type, "type": "openrouter", "auth_method": "oauth",
         "oauth": {"authorize_url": f"{auth.url}/openrouter/auth", "token_url": f"{auth.url}/openrouter/keys"}},
        {"name": "qwen", **openai_type, "type": "qwen", "auth_method": "oauth",
         "oauth": {"client_id": QWEN_CLIENT, "device_authorization_url": f"{auth.url}/device/code",
                   "token_url": f"{auth.url}/token"}},
        {"name": "plain", **openai_type, "api_keys": ["sk-plain-key-000001"]},
        {"name": "google", "type": "gemini", "base_url": f"{mock.url}/v1beta", "auth_method": "oauth",
         "oauth": code_flow(auth, GEMINI_CLIENT), "models": [{"id": "gemini-2.5-flash"}]},
    ]
    config = base_config(mock.url, workdir / "cortex.db", providers=providers,
                         token_refresh={"enabled": True, "refresh_threshold_secs": 60,
                                        "check_interval_secs": REFRESH_INTERVAL})
    server = CortexServer(config, workdir).start()
    yield server
    server.stop()


def call(server, method, path, key=ADMIN_KEY, headers=None, **kwargs) -> requests.Response:
    headers = {"Connection": "close", **({"Authorization": f"Bearer {key}"} if key else {}), **(headers or {})}
    return requests.request(method, server.url + path, headers=headers, allow_redirects=False, timeout=30, **kwargs)


def approve_url(authorize_url: str) -> str:
    """The browser's part: the mock approves at once and sends it back to Cortex's callback."""
    approved = requests.get(authorize_url, allow_redirects=False, timeout=10)
    assert approved.status_code == 302
    return approved.headers["Location"]


def approve(start: requests.Response) -> str:
    assert start.status_code == 302, start.text
    return approve_url(start.headers["Location"])


def login(server, provider, **query) -> requests.Response:
    callback = approve(call(server, "GET", f"/oauth/{provider}/authorize", params=query))
    return requests.get(callback, allow_redirects=False, headers={"Connection": "close"}, timeout=30)


def wait_for(condition, timeout=15.0, step=0.1):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(step)
    return result


def error_message(response) -> str:
    return response.json()["error"]["message"]


def test_code_flow_ends_in_an_upstream_request_carrying_the_token(cortex, mock, auth):
    start = call(cortex, "GET", "/oauth/claude/authorize", headers={"x-request-id": "login-start"})
    authorize = urlsplit(start.headers["Location"])
    query = {name: values[0] for name, values in parse_qs(authorize.query).items()}
    assert f"{authorize.scheme}://{authorize.netloc}{authorize.path}" == f"{auth.url}/authorize"
    assert query["client_id"] == CLIENT and query["response_type"] == "code"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert len(query["state"]) == 43  # 32 random bytes
    assert query["redirect_uri"] == f"{cortex.url}/oauth/claude/callback"

    callback = approve(start)
    # The callback must work on the worker that did not start the login: the state is shared.
    with cortex.frozen(cortex.worker_for("login-start")):
        done = requests.get(callback, headers={"x-request-id": "login-done", "Connection": "close"}, timeout=30)
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["success"] is True and body["provider"] == "claude"
    assert time.strptime(body["expires_at"], "%Y-%m-%dT%H:%M:%SZ")
    assert cortex.worker_for("login-done") != cortex.worker_for("login-start")

    token = auth.tokens_for(CLIENT)[-1].access_token
    with cortex.frozen(cortex.worker_for("login-done")):  # the other worker sends it upstream
        reply = cortex.anthropic().messages.create(model=CLAUDE, max_tokens=20, messages=HELLO)
        completion = cortex.openai().chat.completions.create(model=CLAUDE, messages=HELLO)
    assert reply.content[0].text and completion.choices[0].message.content
    sent = mock.requests_to("/v1/messages")
    assert len(sent) == 2
    for request in sent:
        assert request.headers["authorization"] == f"Bearer {token}"
        assert "x-api-key" not in request.headers
        assert "oauth-2025-04-20" in request.headers["anthropic-beta"].split(",")

    status = call(cortex, "GET", "/oauth/claude/status").json()
    assert status == {"provider": "claude", "configured": True, "authenticated": True,
                      "expires_at": body["expires_at"], "scopes": ["user:inference"]}


def test_client_beta_flags_are_kept_next_to_the_oauth_one(cortex, mock):
    assert login(cortex, "claude").status_code == 200
    client = cortex.anthropic(default_headers={"anthropic-beta": "prompt-caching-2024-07-31"})
    client.messages.create(model=CLAUDE, max_tokens=20, messages=HELLO)
    beta = mock.requests_to("/v1/messages")[-1].headers["anthropic-beta"].split(",")
    assert beta == ["prompt-caching-2024-07-31", "oauth-2025-04-20"]


def test_a_state_works_once(cortex):
    callback = approve(call(cortex, "GET", "/oauth/claude/authorize"))
    assert requests.get(callback, timeout=30).status_code == 200
    replay = requests.get(callback, timeout=30)
    assert replay.status_code == 400
    assert "already used OAuth state" in error_message(replay)


def test_forged_and_foreign_states_are_rejected(cortex):
    forged = call(cortex, "GET", "/oauth/claude/callback", key=None, params={"code": "x", "state": "forged"})
    assert forged.status_code == 400 and "state" in error_message(forged)
    missing = call(cortex, "GET", "/oauth/claude/callback", key=None, params={"code": "x"})
    assert missing.status_code == 400 and "no state" in error_message(missing)
    # A state issued for another provider does not log this one in.
    callback = urlsplit(approve(call(cortex, "GET", "/oauth/gpt/authorize")))
    crossed = call(cortex, "GET", "/oauth/claude/callback", key=None, params=parse_qs(callback.query))
    assert crossed.status_code == 400 and "state" in error_message(crossed)


def test_an_expired_state_is_rejected(cortex):
    start = call(cortex, "GET", "/oauth/claude/authorize")
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    with sqlite3.connect(cortex.config["storage"]["database_url"][len("sqlite:///"):]) as db:
        updated = db.execute("UPDATE oauth_states SET expires_at = ? WHERE state_digest = ?",
                             (time.time() - 1, hashlib.sha256(state.encode()).hexdigest())).rowcount
    assert updated == 1  # stored by digest, never in the clear
    late = requests.get(approve(start), timeout=30)
    assert late.status_code == 400 and "expired" in error_message(late)


def test_provider_errors_and_failed_exchanges_are_readable_400s(cortex, auth):
    auth.deny_next = True
    denied = login(cortex, "claude")
    assert denied.status_code == 400
    assert error_message(denied) == "OAuth error: access_denied - User denied access"
    # A code the authorization server does not know: the exchange fails.
    state_only = parse_qs(urlsplit(approve(call(cortex, "GET", "/oauth/claude/authorize"))).query)["state"][0]
    failed = call(cortex, "GET", "/oauth/claude/callback", key=None, params={"code": "bogus", "state": state_only})
    assert failed.status_code == 400
    assert error_message(failed).startswith("OAuth token exchange failed: invalid_grant")


def test_the_mock_authorization_server_checks_pkce(auth):
    verifier = "v" * 43
    approved = requests.get(f"{auth.url}/authorize", allow_redirects=False, timeout=10, params={
        "response_type": "code", "client_id": "pkce-check", "redirect_uri": "http://x/cb", "state": "s",
        "code_challenge": s256(verifier), "code_challenge_method": "S256"})
    code = parse_qs(urlsplit(approved.headers["Location"]).query)["code"][0]
    exchange = {"grant_type": "authorization_code", "client_id": "pkce-check", "code": code,
                "redirect_uri": "http://x/cb", "code_verifier": "w" * 43}
    wrong = requests.post(f"{auth.url}/token", data=exchange, timeout=10)
    assert wrong.status_code == 400 and wrong.json()["error_description"] == "PKCE verification failed"


@pytest.mark.parametrize("target", [
    "https://evil.example.com/steal", "//evil.example.com/steal", "http://localhost:3000.evil.com/",
    "http://localhost:3000@evil.com/", "/\\evil.example.com",
])
def test_open_redirects_are_refused_before_the_login_starts(cortex, target):
    response = call(cortex, "GET", "/oauth/claude/authorize", params={"redirect_url": target})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_redirect_url"


@pytest.mark.parametrize("target", ["http://localhost:3000/success?from=cortex", "/health"])
def test_a_validated_redirect_url_ends_the_login(cortex, target):
    done = login(cortex, "claude", redirect_url=target)
    assert done.status_code == 302 and done.headers["Location"] == target


def test_tokens_are_stored_only_encrypted_in_a_0600_database(cortex, auth):
    assert login(cortex, "claude").status_code == 200
    db_path = Path(cortex.config["storage"]["database_url"][len("sqlite:///"):])
    with sqlite3.connect(db_path) as db:
        rows = db.execute("SELECT provider, ciphertext FROM oauth_tokens").fetchall()
    assert rows
    secrets = [value.encode() for tokens in auth.issued for value in (tokens.access_token, tokens.refresh_token)
               if value]
    stored = b"".join(path.read_bytes() for path in db_path.parent.glob(db_path.name + "*"))
    for secret in secrets:
        assert secret not in stored
        assert all(secret not in bytes(ciphertext) for _, ciphertext in rows)
        assert secret.decode() not in cortex.log()  # nor in the logs
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
    key_file = db_path.parent / "cortex.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_background_refresh_happens_once_per_cycle_across_workers(cortex, auth, mock):
    assert login(cortex, "shortlived").status_code == 200
    try:
        refreshes = wait_for(lambda: (g := auth.grants_of("refresh_token", SHORT_LIVED_CLIENT)) and len(g) >= 4 and g)
    finally:
        assert call(cortex, "DELETE", "/oauth/shortlived/token").status_code == 200
    assert [grant.error for grant in refreshes] == [""] * len(refreshes)  # no refresh token was used twice
    assert len({grant.refresh_token for grant in refreshes}) == len(refreshes)
    issued = [tokens.refresh_token for tokens in auth.tokens_for(SHORT_LIVED_CLIENT)]
    assert [grant.refresh_token for grant in refreshes] == issued[:len(refreshes)]  # each used the rotated one
    gaps = [b.received_at - a.received_at for a, b in itertools.pairwise(refreshes)]
    assert min(gaps) > 0.8 * REFRESH_INTERVAL  # one refresh per cycle, not one per worker per cycle
    logged = [line for line in cortex.log().splitlines() if "background refresh of the shortlived token" in line]
    assert len(logged) >= len(refreshes) and all("mock-" not in line for line in logged)


def test_runtime_settings_pause_and_resume_background_refresh(cortex, auth):
    def refreshes() -> int:
        return len(auth.grants_of("refresh_token", SHORT_LIVED_CLIENT))

    paused = call(cortex, "PUT", "/api/config/token-refresh", json={"enabled": False})
    assert paused.status_code == 200 and paused.json()["enabled"] is False
    try:
        assert login(cortex, "shortlived").status_code == 200
        before = refreshes()
        time.sleep(3 * REFRESH_INTERVAL)  # three cycles of every worker, none of which may refresh
        assert refreshes() == before
        assert call(cortex, "PUT", "/api/config/token-refresh", json={"enabled": True}).status_code == 200
        wait_for(lambda: refreshes() > before)  # no restart needed
    finally:
        call(cortex, "PUT", "/api/config/token-refresh", json={"enabled": True})
        call(cortex, "DELETE", "/oauth/shortlived/token")


def test_a_request_uses_the_refreshed_token(cortex, auth, mock):
    assert login(cortex, "claude").status_code == 200
    refreshed = call(cortex, "POST", "/oauth/claude/refresh")
    assert refreshed.status_code == 200, refreshed.text
    assert set(refreshed.json()) == {"success", "provider", "expires_at"}
    grants = auth.grants_of("refresh_token", CLIENT)
    issued = auth.tokens_for(CLIENT)
    assert grants[-1].error == "" and grants[-1].refresh_token == issued[-2].refresh_token
    # Again: the second refresh must present the rotated refresh token saved by the first.
    assert call(cortex, "POST", "/oauth/claude/refresh").status_code == 200
    assert auth.grants_of("refresh_token", CLIENT)[-1].error == ""
    cortex.anthropic().messages.create(model=CLAUDE, max_tokens=20, messages=HELLO)
    assert mock.requests_to("/v1/messages")[-1].headers["authorization"] == \
        f"Bearer {auth.tokens_for(CLIENT)[-1].access_token}"


def test_refresh_errors(cortex):
    assert call(cortex, "GET", "/oauth/claude/refresh").status_code == 405
    not_configured = call(cortex, "POST", "/oauth/plain/refresh")
    assert not_configured.status_code == 400 and "not configured" in error_message(not_configured)
    assert call(cortex, "POST", "/oauth/nosuch/refresh").status_code == 404
    call(cortex, "DELETE", "/oauth/gpt/token")
    no_token = call(cortex, "POST", "/oauth/gpt/refresh")
    assert no_token.status_code == 400 and "No OAuth token" in error_message(no_token)


def test_openrouter_login_yields_a_permanent_key(cortex, auth, mock):
    done = login(cortex, "router")
    assert done.status_code == 200, done.text
    assert done.json() == {"success": True, "provider": "router", "token_type": "permanent"}
    status = call(cortex, "GET", "/oauth/router/status").json()
    assert status == {"provider": "router", "configured": True, "authenticated": True, "token_type": "permanent"}
    cortex.openai().chat.completions.create(model="router:some/model", messages=HELLO)
    key = auth.tokens_for("openrouter")[-1].access_token
    assert mock.requests_to("/v1/chat/completions")[-1].headers["authorization"] == f"Bearer {key}"
    not_applicable = call(cortex, "POST", "/oauth/router/refresh")
    assert not_applicable.status_code == 400 and "permanent" in error_message(not_applicable)


def test_device_flow_end_to_end(cortex, auth, mock):
    assert call(cortex, "GET", "/oauth/qwen/device").status_code == 405
    started = call(cortex, "POST", "/oauth/qwen/device")
    assert started.status_code == 200, started.text
    device = started.json()
    assert set(device) == {"device_code", "user_code", "verification_uri", "verification_uri_complete",
                           "expires_in", "interval"}
    assert device["verification_uri_complete"].startswith(f"{auth.url}/device?user_code=")
    assert call(cortex, "POST", "/oauth/qwen/device/poll").json()["status"] == "pending"
    # The poller started with the login asks the provider, which says authorization_pending.
    wait_for(lambda: [g for g in auth.grants_of("urn:ietf:params:oauth:grant-type:device_code", QWEN_CLIENT)
                      if g.error == "authorization_pending"])
    requests.get(device["verification_uri_complete"], timeout=10)  # the user approves
    final = wait_for(lambda: (state := call(cortex, "POST", "/oauth/qwen/device/poll").json())["status"] != "pending"
                     and state)
    assert final["status"] == "complete"
    polls = auth.grants_of("urn:ietf:params:oauth:grant-type:device_code", QWEN_CLIENT)
    assert all(g.error != "slow_down" for g in polls)  # the interval was honoured across workers
    status = call(cortex, "GET", "/oauth/qwen/status").json()
    assert status["authenticated"] is True
    assert status["scopes"] == ["openid", "profile", "email", "model.completion"]  # qwen's defaults
    cortex.openai().chat.completions.create(model="qwen:qwen3-coder-plus", messages=HELLO)
    token = auth.tokens_for(QWEN_CLIENT)[-1].access_token
    assert mock.requests_to("/v1/chat/completions")[-1].headers["authorization"] == f"Bearer {token}"


def test_device_flow_slows_down_when_told(cortex, auth):
    assert call(cortex, "POST", "/oauth/qwen/device").status_code == 200
    auth.slow_down_next = True
    state = wait_for(lambda: (s := call(cortex, "POST", "/oauth/qwen/device/poll").json())["interval"] > 1 and s)
    assert state == {**state, "status": "pending", "interval": 6}


def test_device_errors(cortex):
    no_device = call(cortex, "POST", "/oauth/claude/device")
    assert no_device.status_code == 400 and "device" in error_message(no_device)
    assert call(cortex, "POST", "/oauth/plain/device").status_code == 400


def test_delete_then_status_then_a_request_needs_a_login(cortex, mock):
    assert login(cortex, "claude").status_code == 200
    deleted = call(cortex, "DELETE", "/oauth/claude/token")
    assert deleted.status_code == 200
    assert deleted.json() == {"success": True, "provider": "claude", "message": "Token revoked successfully"}
    assert call(cortex, "GET", "/oauth/claude/status").json() == {
        "provider": "claude", "configured": True, "authenticated": False}
    again = call(cortex, "DELETE", "/oauth/claude/token")
    assert again.status_code == 500
    assert error_message(again) == "Failed to delete token: token not found for provider: claude"
    assert call(cortex, "GET", "/oauth/claude/token").status_code == 405
    assert call(cortex, "POST", "/oauth/claude/status").status_code == 405

    with pytest.raises(anthropic.AuthenticationError) as caught:
        cortex.anthropic().messages.create(model=CLAUDE, max_tokens=20, messages=HELLO)
    assert "cortex oauth login claude" in caught.value.body["error"]["message"]
    with pytest.raises(openai.AuthenticationError) as caught:
        cortex.openai().chat.completions.create(model=CLAUDE, messages=HELLO)
    assert caught.value.code == "oauth_login_required"
    assert not mock.requests_to("/v1/messages")


def test_auto_prefers_the_login_and_falls_back_to_keys(cortex, auth, mock):
    call(cortex, "DELETE", "/oauth/gpt/token")
    cortex.openai().chat.completions.create(model="gpt:gpt-4o", messages=HELLO)
    assert mock.requests_to("/v1/chat/completions")[-1].headers["authorization"] == f"Bearer {FALLBACK_KEY}"
    assert login(cortex, "gpt").status_code == 200
    cortex.openai().chat.completions.create(model="gpt:gpt-4o", messages=HELLO)
    token = auth.tokens_for(AUTO_CLIENT)[-1].access_token
    assert mock.requests_to("/v1/chat/completions")[-1].headers["authorization"] == f"Bearer {token}"


def test_oauth_endpoints_need_an_admin_key_but_the_callback_does_not(cortex):
    assert call(cortex, "GET", "/oauth/claude/status", key=None).status_code == 401
    assert call(cortex, "GET", "/oauth/claude/status", key=INFERENCE_KEY).status_code == 403
    assert call(cortex, "GET", "/oauth/claude/authorize", key=None).status_code == 401
    assert call(cortex, "POST", "/oauth/qwen/device", key=None).status_code == 401
    # No key, no 401: the state is what guards the callback.
    assert call(cortex, "GET", "/oauth/claude/callback", key=None, params={"state": "x", "code": "y"}).status_code == 400
    assert call(cortex, "GET", "/oauth/nosuch/status").status_code == 404
    assert call(cortex, "GET", "/oauth/plain/status").json() == {
        "provider": "plain", "configured": False, "authenticated": False}


def cli(cortex, *args, config_path=None, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "CORTEX_CONFIG": str(config_path or cortex.config_path), "CORTEX_PORT": str(cortex.port)}
    env.pop("CORTEX_SHM_DIR", None)
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "cortex", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)


def printed_url(process: subprocess.Popen, prefix: str) -> str:
    for line in process.stdout:
        if line.strip().startswith(prefix):
            return line.strip()
    raise AssertionError(f"no {prefix} URL printed")


def test_cli_device_login_status_and_logout(cortex, auth):
    process = cli(cortex, "oauth", "login", "qwen", "--no-browser")
    requests.get(printed_url(process, f"{auth.url}/device?user_code="), timeout=10)  # the user approves
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert '"authenticated": true' in output
    assert call(cortex, "GET", "/oauth/qwen/status").json()["authenticated"] is True
    logout = cli(cortex, "oauth", "logout", "qwen")
    assert logout.wait(timeout=60) == 0
    status = cli(cortex, "oauth", "status", "qwen")
    output, _ = status.communicate(timeout=60)
    assert status.returncode == 0 and '"authenticated": false' in output


def test_cli_code_login_waits_for_the_callback(cortex, auth):
    process = cli(cortex, "oauth", "login", "claude", "--no-browser")
    callback = approve_url(printed_url(process, f"{auth.url}/authorize"))
    assert callback.startswith(f"{cortex.url}/oauth/claude/callback")
    assert requests.get(callback, timeout=30).status_code == 200
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0 and '"authenticated": true' in output, output


def test_cli_check_config(cortex):
    process = cli(cortex, "check-config")
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "store reachable, stored OAuth tokens decrypt" in output


def test_a_wrong_encryption_key_is_reported_never_used(cortex, tmp_path):
    assert login(cortex, "claude").status_code == 200
    config = yaml.safe_load(cortex.config_path.read_text())
    config["storage"]["encryption_key"] = base64.b64encode(os.urandom(32)).decode()
    wrong = tmp_path / "wrong-key.yaml"
    wrong.write_text(yaml.safe_dump(config))
    process = cli(cortex, "check-config", config_path=wrong)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 1, output
    assert "error: provider claude: Stored OAuth data (token:claude) cannot be decrypted with the configured key" \
        in output
    status = cli(cortex, "oauth", "status", "claude", config_path=wrong)
    output, _ = status.communicate(timeout=60)
    assert status.returncode == 1 and "cannot be decrypted" in output and "mock-at-" not in output


def test_a_google_login_authenticates_the_native_gemini_api(cortex, auth, mock):
    assert login(cortex, "google").status_code == 200
    token = auth.tokens_for(GEMINI_CLIENT)[-1].access_token
    reply = call(cortex, "POST", "/gemini/v1beta/models/gemini-2.5-flash:generateContent",
                 json={"contents": [{"role": "user", "parts": [{"text": "hello"}]}]})
    assert reply.status_code == 200, reply.text
    sent = mock.requests_to("/v1beta/models/gemini-2.5-flash:generateContent")[-1]
    assert sent.headers["authorization"] == f"Bearer {token}" and "x-goog-api-key" not in sent.headers
