"""The token store, its refresh lease and the device-flow state machine, on a real SQLite
file and on real PostgreSQL with Redis, with a scripted flow instead of an authorization server."""
import os
import time
from functools import partial

import peewee
import pytest

from app.config import StorageConfig, TokenRefreshConfig
from app.db import DeviceAuthorization, OAuthToken, Store
from app.oauth import pkce
from app.oauth.crypto import TokenCipher
from app.oauth.device import DeviceLogins
from app.oauth.errors import RefreshFailed, TokenKeyMismatch
from app.oauth.flows import AuthorizationServerError, DeviceCode, FlowSettings
from app.oauth.refresh import TokenRefresher
from app.oauth.tokens import TokenSet, TokenStore
from app.redis_state import RedisCounters, redis_client
from app.shm import SharedCounters


class ScriptedFlow:
    """Answers refresh and device polls from a script of TokenSets and error codes."""

    def __init__(self, provider="p", script=()):
        self.provider = provider
        self.settings = FlowSettings(client_id="c", token_url="http://t", device_authorization_url="http://d")
        self.configured = True
        self.script = list(script)
        self.calls = []

    def _next(self, *args):
        self.calls.append(args)
        answer = self.script.pop(0)
        if isinstance(answer, str):
            raise AuthorizationServerError(answer, "scripted")
        return answer

    def refresh(self, tokens):
        return self._next("refresh", tokens.refresh_token)

    def request_device_code(self, challenge):
        self.calls.append(("device", challenge))
        return DeviceCode("dev-code", "ABCD-1234", "http://v", "http://v?c", expires_in=60, interval=1)

    def poll_device_token(self, device_code, verifier):
        return self._next("poll", device_code, verifier)


class Settings:
    def __init__(self, **values):
        self.values = TokenRefreshConfig(**{"enabled": True, "refresh_threshold_secs": 300,
                                            "check_interval_secs": 60, **values})

    def token_refresh(self):
        return self.values


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, tmp_path):
    """(store, counters_of_a_worker): one instance on SQLite and shared memory, or the
    scale-out setup, PostgreSQL and Redis. Each call of the second gives another worker's
    handle on the same counters."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/cortex.db"
        counters = partial(SharedCounters, str(tmp_path / "counters.shm"), slots=64)
    else:
        url = request.getfixturevalue("postgres_server").fresh_url()
        redis_url = request.getfixturevalue("redis_server").fresh_url()

        def counters():
            return RedisCounters(redis_client(redis_url))
    return Store(StorageConfig(database_url=url, encryption_key="", redis_url="")), counters


@pytest.fixture
def store(backend):
    return backend[0]


@pytest.fixture
def worker_counters(backend):
    return backend[1]


@pytest.fixture
def tokens(store, worker_counters):
    return TokenStore(store, TokenCipher(os.urandom(32)), worker_counters())


def expiring(access="at-1", refresh="rt-1", in_secs=10.0):
    return TokenSet(access, refresh, time.time() + in_secs, ("s",))


def test_tokens_are_stored_encrypted_and_read_back(tokens, store, tmp_path):
    tokens.save("p", expiring("at-secret-value", "rt-secret-value"))
    assert tokens.load("p").access_token == "at-secret-value"
    with store.database.connection_context():
        row = OAuthToken.get()
    assert b"secret-value" not in bytes(row.ciphertext) and row.refreshable
    if isinstance(store.database, peewee.SqliteDatabase):  # and nowhere in the database file
        assert b"secret-value" not in (tmp_path / "cortex.db").read_bytes()
        wal = tmp_path / "cortex.db-wal"
        assert not wal.exists() or b"secret-value" not in wal.read_bytes()


def test_another_key_cannot_read_the_tokens(tokens, store, worker_counters):
    tokens.save("p", expiring())
    other = TokenStore(store, TokenCipher(os.urandom(32)), worker_counters())
    with pytest.raises(TokenKeyMismatch):
        other.load("p")


def test_cached_tokens_follow_writes_of_other_workers(tokens, store, worker_counters):
    # Two TokenStores on the same counters are two workers (of one instance, or of two with Redis).
    other_worker = TokenStore(store, tokens._cipher, worker_counters())
    tokens.save("p", expiring("first"))
    assert other_worker.current("p").access_token == "first"
    tokens.save("p", expiring("second"))
    assert other_worker.current("p").access_token == "second"
    tokens.delete("p")
    assert other_worker.current("p") is None


def test_the_lease_admits_one_holder_at_a_time(tokens):
    tokens.save("p", expiring())
    assert tokens.claim("p", "worker-a", 60)
    assert not tokens.claim("p", "worker-b", 60)
    tokens.release("p", "worker-b")  # not the holder: no effect
    assert not tokens.claim("p", "worker-b", 60)
    tokens.release("p", "worker-a")
    assert tokens.claim("p", "worker-b", 60)


def test_a_claim_can_require_expiry_and_no_recent_attempt(tokens):
    tokens.save("p", expiring(in_secs=3600))
    assert not tokens.claim("p", "a", 60, expiring_before=time.time() + 300)  # not expiring yet
    tokens.save("p", expiring(in_secs=10))
    assert tokens.claim("p", "a", 0.01, expiring_before=time.time() + 300)
    time.sleep(0.02)
    # The lease ran out, but an attempt was made within the cycle.
    assert not tokens.claim("p", "b", 60, attempted_before=time.time() - 60)
    assert tokens.claim("p", "b", 60, attempted_before=time.time())


def test_background_refresh_happens_once_per_cycle_across_workers(tokens):
    tokens.save("p", expiring("at-0", "rt-0"))
    flow = ScriptedFlow(script=[expiring("at-1", "rt-1"), expiring("at-2", "rt-2")])
    workers = [TokenRefresher(tokens, {"p": flow}, Settings(check_interval_secs=60)) for _ in range(3)]
    results = [worker.run_cycle() for worker in workers] + [worker.run_cycle() for worker in workers]
    assert results == [["p"], [], [], [], [], []]
    assert flow.calls == [("refresh", "rt-0")]
    stored = tokens.load("p")
    assert (stored.access_token, stored.refresh_token) == ("at-1", "rt-1")


def test_background_refresh_obeys_runtime_settings(tokens):
    tokens.save("p", expiring(in_secs=600))
    flow = ScriptedFlow(script=[expiring("at-1", "rt-1", in_secs=600)])
    settings = Settings(refresh_threshold_secs=300, check_interval_secs=1)
    refresher = TokenRefresher(tokens, {"p": flow}, settings)
    assert refresher.run_cycle() == []  # expires in 600 s, threshold 300 s
    settings.values = TokenRefreshConfig(enabled=False, refresh_threshold_secs=900, check_interval_secs=1)
    assert refresher.run_cycle() == []
    settings.values = TokenRefreshConfig(enabled=True, refresh_threshold_secs=900, check_interval_secs=1)
    assert refresher.run_cycle() == ["p"]


def test_a_failed_refresh_keeps_the_token_and_says_why(tokens):
    tokens.save("p", expiring("at-0", "rt-0"))
    refresher = TokenRefresher(tokens, {"p": ScriptedFlow(script=["invalid_grant"])}, Settings())
    with pytest.raises(RefreshFailed, match="Failed to refresh token: invalid_grant - scripted"):
        refresher.refresh("p", only_if_expiring=False)
    assert tokens.load("p").access_token == "at-0"
    assert tokens.claim("p", "someone-else", 60)  # the lease was released


def test_on_demand_refresh_uses_a_token_another_worker_refreshed(tokens):
    tokens.save("p", expiring("at-fresh", "rt-0", in_secs=3600))
    flow = ScriptedFlow()
    assert TokenRefresher(tokens, {"p": flow}, Settings()).refresh("p", only_if_expiring=True).access_token == "at-fresh"
    assert flow.calls == []


# --- device flow ----------------------------------------------------------------------------------

def device_logins(store, tokens):
    return DeviceLogins(store, tokens._cipher, tokens, background=False)


def make_due(store):
    with store.database.connection_context():
        DeviceAuthorization.update(next_poll_at=0).execute()


def test_device_login_polls_until_approved(store, tokens):
    flow = ScriptedFlow(script=["authorization_pending", expiring("at-dev", "rt-dev")])
    logins = device_logins(store, tokens)
    logins.start(flow)
    assert logins.advance(flow).status == "pending" and flow.calls[1:] == []  # not yet its interval
    make_due(store)
    assert logins.advance(flow).status == "pending"
    assert logins.advance(flow).status == "pending"  # the claim moved next_poll_at on: no second poll
    make_due(store)
    row = logins.advance(flow)
    assert row.status == "complete" and bytes(row.ciphertext) == b""
    assert tokens.load("p").access_token == "at-dev"
    verifier = flow.calls[-1][2]
    assert flow.calls[0] == ("device", pkce.challenge(verifier))  # PKCE binds the polls to the request
    assert [call[0] for call in flow.calls] == ["device", "poll", "poll"]


def test_slow_down_adds_five_seconds(store, tokens):
    flow = ScriptedFlow(script=["slow_down"])
    logins = device_logins(store, tokens)
    logins.start(flow)
    make_due(store)
    row = logins.advance(flow)
    assert row.status == "pending" and row.interval == 6 and row.next_poll_at > time.time() + 5


@pytest.mark.parametrize("error, status", [("access_denied", "denied"), ("expired_token", "expired"),
                                           ("invalid_client", "failed")])
def test_final_device_errors_end_the_login(store, tokens, error, status):
    flow = ScriptedFlow(script=[error])
    logins = device_logins(store, tokens)
    logins.start(flow)
    make_due(store)
    row = logins.advance(flow)
    assert row.status == status and row.message
    make_due(store)
    assert logins.advance(flow).status == status and len(flow.calls) == 2  # no more polling
