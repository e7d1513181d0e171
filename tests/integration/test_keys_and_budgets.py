"""Runtime keys (/api/keys) and budgets under gunicorn with 2 workers.

Time is the file named by CORTEX_TEST_CLOCK_FILE (app.clock): the tests move it across a
budget boundary instead of sleeping.
"""
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

import pytest
import requests

from tests.cortex_server import ADMIN_KEY, INFERENCE_KEY, REPO

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}", "Connection": "close"}
START = datetime(2026, 1, 31, 22, 0, tzinfo=timezone.utc).timestamp()
CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "What is the capital of France?"}]}


def unix(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@pytest.fixture(scope="module")
def clock_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("clock") / "now"
    path.write_text(str(START))
    return path


@pytest.fixture
def clock(clock_file):
    def set_time(timestamp: float) -> None:
        clock_file.write_text(repr(timestamp))
    set_time(START)
    yield set_time
    set_time(START)


@pytest.fixture(scope="module")
def server(start_cortex, clock_file):
    return start_cortex(env={"CORTEX_TEST_CLOCK_FILE": str(clock_file)})


def create_key(server, request_id: str = "", **fields) -> dict:
    response = requests.post(server.url + "/api/keys", json={"permissions": ["inference"], **fields},
                             headers={**ADMIN, "x-request-id": request_id} if request_id else ADMIN)
    assert response.status_code == 201, response.text
    return response.json()


def chat(server, key: str, request_id: str = "", surface: str = "openai", stream: bool = False):
    headers = {"Authorization": f"Bearer {key}", "Connection": "close"}
    if request_id:
        headers["x-request-id"] = request_id
    if surface == "anthropic":
        return requests.post(server.url + "/anthropic/v1/messages", headers={**headers, "anthropic-version": "2023-06-01"},
                             json={**CHAT, "max_tokens": 100, "stream": stream})
    return requests.post(server.url + "/v1/chat/completions", headers=headers, json={**CHAT, "stream": stream})


def show(server, key_id: str) -> dict:
    response = requests.get(f"{server.url}/api/keys/{key_id}", headers=ADMIN)
    assert response.status_code == 200
    return response.json()


def spend(server, key_id: str) -> float:
    return show(server, key_id)["budget"]["spend_usd"]


# Keys -----------------------------------------------------------------------------------------

def test_a_created_key_works_at_once_on_the_other_worker(server):
    created = create_key(server, "key-create", name="teammate")
    assert created["key"].startswith("sk-cortex-") and created["source"] == "api"
    with server.frozen(server.worker_for("key-create")):
        reply = chat(server, created["key"], "key-first-use")
        assert reply.status_code == 200, reply.text
    assert server.worker_for("key-first-use") != server.worker_for("key-create")
    assert server.usage_row("key-first-use")["api_key_name"] == "teammate"


def test_a_revoked_key_fails_on_both_workers(server):
    created = create_key(server, name="leaked")
    for _ in range(4):  # every worker has used (and cached) the key
        assert chat(server, created["key"]).status_code == 200
    revoked = requests.delete(f"{server.url}/api/keys/{created['id']}", headers={**ADMIN, "x-request-id": "key-revoke"})
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    handler = server.worker_for("key-revoke")
    with server.frozen(handler):
        time.sleep(1.0)  # the contract: every worker within a second
        refused = chat(server, created["key"], "key-after-revoke")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_api_key"
    assert server.worker_for("key-after-revoke") != handler
    assert requests.get(f"{server.url}/api/keys/{created['id']}", headers=ADMIN).status_code == 404


def test_the_plaintext_is_shown_once_and_only_a_hash_is_stored(server):
    created = create_key(server, name="shown-once")
    shown = show(server, created["id"])
    assert "key" not in shown and created["key"].startswith(shown["key_prefix"]) and len(shown["key_prefix"]) == 14
    listed = requests.get(server.url + "/api/keys", headers=ADMIN).json()["data"]
    assert created["key"] not in str(listed)
    database = server.config["storage"]["database_url"][len("sqlite:///"):]
    assert created["key"].encode() not in open(database, "rb").read()


def test_yaml_keys_are_listed_read_only(server):
    listed = {key["name"]: key for key in requests.get(server.url + "/api/keys", headers=ADMIN).json()["data"]}
    assert listed["admin"]["read_only"] is True and listed["admin"]["source"] == "config"
    response = requests.delete(f"{server.url}/api/keys/{listed['admin']['id']}", headers=ADMIN)
    assert response.status_code == 403 and "cortex.yaml" in response.json()["error"]["message"]
    taken = requests.post(server.url + "/api/keys", json={"name": "admin"}, headers=ADMIN)
    assert taken.status_code == 409


def test_disabled_expired_and_restricted_keys(server, clock):
    created = create_key(server, name="restricted", allowed_models=["gpt-4o-mini"],
                         expires_at="2026-02-01T00:00:00Z", metadata={"team": "search"})
    assert created["metadata"] == {"team": "search"} and created["expires_at"] == "2026-02-01T00:00:00Z"
    assert chat(server, created["key"]).status_code == 403  # gpt-4o is not allowed
    update = requests.patch(f"{server.url}/api/keys/{created['id']}", json={"allowed_models": ["*"]}, headers=ADMIN)
    assert update.status_code == 200 and update.json()["allowed_models"] == ["*"]
    time.sleep(1.0)
    assert chat(server, created["key"]).status_code == 200
    requests.patch(f"{server.url}/api/keys/{created['id']}", json={"disabled": True}, headers=ADMIN)
    time.sleep(1.0)
    assert "disabled" in chat(server, created["key"]).json()["error"]["message"]
    requests.patch(f"{server.url}/api/keys/{created['id']}", json={"disabled": False}, headers=ADMIN)
    clock(unix("2026-02-01T00:00:00Z"))
    time.sleep(1.0)
    assert "expired" in chat(server, created["key"]).json()["error"]["message"]


@pytest.mark.parametrize("body, field", [
    ({"name": ""}, "name"), ({"name": "x", "budget_duration": "2w"}, "budget_duration"),
    ({"name": "x", "max_budget_usd": -1}, "max_budget_usd"), ({"name": "x", "permissions": ["root"]}, "permissions"),
    ({"name": "x", "expires_at": "tomorrow"}, "expires_at"), ({"name": "x", "rate_limit": "lots"}, "rate_limit"),
    ({"name": "x", "colour": "blue"}, "colour"),
])
def test_key_validation(server, body, field):
    response = requests.post(server.url + "/api/keys", json=body, headers=ADMIN)
    assert response.status_code == 400 and field in response.json()["error"]["message"]


def test_keys_need_admin(server):
    response = requests.get(server.url + "/api/keys", headers={"Authorization": f"Bearer {INFERENCE_KEY}"})
    assert response.status_code == 403


# Budgets --------------------------------------------------------------------------------------

def test_spend_is_exact_under_concurrent_requests_on_both_workers(server, mock):
    created = create_key(server, name="busy", max_budget_usd=100)
    ids = [f"busy-{n}" for n in range(24)]
    threads = [threading.Thread(target=chat, args=(server, created["key"], request_id)) for request_id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    rows = [server.usage_row(request_id) for request_id in ids]
    assert len({row["request_id"] for row in rows}) == 24
    assert len({server.worker_for(request_id) for request_id in ids}) == 2
    assert spend(server, created["id"]) == pytest.approx(sum(row["cost_usd"] for row in rows), abs=1e-9)
    # A budget set to exactly what was spent: refused on both workers, before any provider call.
    spent = spend(server, created["id"])
    requests.patch(f"{server.url}/api/keys/{created['id']}", json={"max_budget_usd": spent},
                   headers={**ADMIN, "x-request-id": "busy-patch"})
    calls = mock.calls("/v1/chat/completions")
    with server.frozen(server.worker_for("busy-patch")):
        time.sleep(1.0)
        refused = chat(server, created["key"])
    assert refused.status_code == 429
    assert refused.json()["error"]["type"] == "insufficient_quota"
    assert refused.json()["error"]["code"] == "insufficient_quota"
    refused_anthropic = chat(server, created["key"], surface="anthropic")
    assert refused_anthropic.status_code == 400 and refused_anthropic.json()["error"]["type"] == "invalid_request_error"
    assert "budget" in refused_anthropic.json()["error"]["message"]
    assert mock.calls("/v1/chat/completions") == calls
    assert spend(server, created["id"]) == spent


def test_a_budget_refuses_once_reached(server):
    created = create_key(server, name="tiny", max_budget_usd=0.000001)
    assert chat(server, created["key"]).status_code == 200  # nothing spent yet
    refused = chat(server, created["key"])
    assert refused.status_code == 429 and "budget" in refused.json()["error"]["message"]


def test_a_stream_counts_when_it_ends(server):
    created = create_key(server, name="streamer", max_budget_usd=100)
    reply = chat(server, created["key"], "stream-cost", stream=True)
    assert reply.status_code == 200 and reply.content.endswith(b"data: [DONE]\n\n")
    cost = server.usage_row("stream-cost")["cost_usd"]
    assert cost > 0 and spend(server, created["id"]) == pytest.approx(cost, abs=1e-9)


def test_a_daily_budget_resets_at_midnight_once_and_not_before(server, clock):
    clock(unix("2026-01-31T23:59:00Z"))
    created = create_key(server, name="daily", max_budget_usd=0.000001, budget_duration="1d")
    budget = created["budget"]
    assert budget["resets_at"] == "2026-02-01T00:00:00Z" and budget["window_start"] == "2026-01-31T00:00:00Z"
    assert chat(server, created["key"], "daily-1").status_code == 200
    first_cost = server.usage_row("daily-1")["cost_usd"]
    # Spend recorded right after the key was created stays in its window (LiteLLM #22013).
    assert chat(server, created["key"]).status_code == 429
    clock(unix("2026-01-31T23:59:59Z"))
    assert chat(server, created["key"]).status_code == 429 and spend(server, created["id"]) == first_cost
    clock(unix("2026-02-01T00:00:00Z"))  # the boundary: a fresh window, nothing carried over
    assert spend(server, created["id"]) == 0
    assert show(server, created["id"])["budget"]["resets_at"] == "2026-02-02T00:00:00Z"
    assert chat(server, created["key"], "daily-2").status_code == 200
    assert spend(server, created["id"]) == server.usage_row("daily-2")["cost_usd"]  # counted once
    assert chat(server, created["key"]).status_code == 429


def test_a_monthly_budget_follows_the_calendar(server, clock):
    clock(unix("2026-02-27T12:00:00Z"))
    created = create_key(server, name="monthly", max_budget_usd=0.000001, budget_duration="month")
    assert created["budget"]["resets_at"] == "2026-03-01T00:00:00Z"
    assert chat(server, created["key"]).status_code == 200
    assert chat(server, created["key"]).status_code == 429
    clock(unix("2026-03-01T00:00:00Z"))
    assert chat(server, created["key"]).status_code == 200
    assert show(server, created["id"])["budget"]["resets_at"] == "2026-04-01T00:00:00Z"


def test_applying_a_duration_to_a_spent_key_starts_a_fresh_window(server):
    # LiteLLM #34270: the spend of a key without a duration was carried into the first window.
    created = create_key(server, name="lifetime", max_budget_usd=0.000001)
    assert chat(server, created["key"]).status_code == 200
    assert chat(server, created["key"]).status_code == 429
    updated = requests.patch(f"{server.url}/api/keys/{created['id']}", json={"budget_duration": "7d"}, headers=ADMIN)
    assert updated.json()["budget"]["spend_usd"] == 0
    time.sleep(1.0)
    assert chat(server, created["key"]).status_code == 200


def test_raising_a_budget_keeps_the_spend(server):
    created = create_key(server, name="raised", max_budget_usd=0.000001, budget_duration="30d")
    assert chat(server, created["key"]).status_code == 200
    spent = spend(server, created["id"])
    updated = requests.patch(f"{server.url}/api/keys/{created['id']}", json={"max_budget_usd": 1}, headers=ADMIN)
    assert updated.json()["budget"]["spend_usd"] == spent


def test_a_soft_budget_logs_and_counts_once(server):
    created = create_key(server, name="soft", soft_budget_usd=0.000001)
    for _ in range(3):
        assert chat(server, created["key"]).status_code == 200
    metrics = requests.get(server.url + "/metrics", headers=ADMIN).text
    assert 'cortex_soft_budget_exceeded_total{api_key="soft"} 1.0' in metrics
    assert server.log().count("API key soft passed its soft budget") == 1


def cli(server, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, "CORTEX_CONFIG": str(server.config_path), "CORTEX_PORT": str(server.port)}
    env.pop("CORTEX_SHM_DIR", None)
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "cortex", "keys", *args], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=60)


def test_cli_create_list_revoke(server):
    created = cli(server, "create", "from-cli", "--budget", "5", "--duration", "month", "--model", "gpt-*")
    assert created.returncode == 0, created.stderr
    key_id, plaintext = created.stdout.split()[1], created.stdout.strip().splitlines()[-1]
    assert plaintext.startswith("sk-cortex-")
    time.sleep(1.5)  # the workers see another process's write on their next look at the store
    assert chat(server, plaintext).status_code == 200
    listed = cli(server, "list")
    assert "from-cli\tapi\tinference spent $" in listed.stdout and "admin\tconfig" in listed.stdout
    assert cli(server, "revoke", key_id).returncode == 0
    refused = cli(server, "revoke", "config:admin")
    assert refused.returncode != 0 and "read-only" in refused.stderr
    time.sleep(1.5)
    assert chat(server, plaintext).status_code == 401


def test_a_budget_survives_a_restart_of_the_instance(start_cortex):
    """Spend lives in shared memory, gone with the instance: a restart reads it back from the usage records."""
    server = start_cortex()  # its own: it is restarted, on the real clock
    created = create_key(server, name="restarted", max_budget_usd=100, budget_duration="1d")
    for n in range(3):
        assert chat(server, created["key"], f"before-restart-{n}").status_code == 200
    spent = sum(server.usage_row(f"before-restart-{n}")["cost_usd"] for n in range(3))
    assert spend(server, created["id"]) == pytest.approx(spent, abs=1e-9)
    server.stop()
    server.start()
    assert spend(server, created["id"]) == pytest.approx(spent, abs=1e-9)
    assert chat(server, created["key"], "after-restart").status_code == 200
    spent += server.usage_row("after-restart")["cost_usd"]
    assert spend(server, created["id"]) == pytest.approx(spent, abs=1e-9)
