"""ProviderHealth: the circuit breaker that takes failing providers out of virtual-model rotation."""
from dataclasses import dataclass

import pytest

from app.errors import (
    ProviderNotConfigured,
    UpstreamAuthFailed,
    UpstreamError,
    UpstreamRateLimited,
    UpstreamTimeout,
)
from app.health import ProviderHealth

UNREACHABLE = UpstreamError("down", retryable=True, code="upstream_unreachable")
SERVER_ERROR = UpstreamError("boom", upstream_status=500, retryable=True)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@dataclass(frozen=True)
class Provider:
    name: str


@dataclass(frozen=True)
class Route:
    provider: Provider


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def health(clock):
    return ProviderHealth(["a", "b"], clock=clock, threshold=3, cool_down=10, max_cool_down=25)


def state(health, name):
    return next(entry for entry in health.snapshot() if entry["provider"] == name)


def fail(health, name, times, error=UNREACHABLE):
    for _ in range(times):
        health.observe(name, error)


def test_opens_after_threshold_consecutive_failures(health):
    fail(health, "a", 2)
    assert health.admit("a") and state(health, "a")["state"] == "closed"
    fail(health, "a", 1)
    assert state(health, "a")["state"] == "open"
    assert not health.admit("a")
    assert health.admit("b"), "other providers are not affected"


def test_a_reply_resets_the_count(health):
    fail(health, "a", 2)
    health.observe("a")
    fail(health, "a", 2)
    assert state(health, "a")["state"] == "closed" and state(health, "a")["consecutive_failures"] == 2


@pytest.mark.parametrize("error", [UpstreamRateLimited("slow", upstream_status=429, retryable=True),
                                   UpstreamAuthFailed("key", upstream_status=401, retryable=True),
                                   ProviderNotConfigured("no key", code="provider_not_configured")])
def test_rate_limits_and_key_problems_are_not_outages(health, error):
    fail(health, "a", 10, error)
    assert state(health, "a")["state"] == "closed" and state(health, "a")["failures"] == 0


def test_a_client_error_means_the_provider_answered(health):
    fail(health, "a", 2)
    health.observe("a", UpstreamError("bad request", upstream_status=400, retryable=False))
    assert state(health, "a")["consecutive_failures"] == 0


def test_timeouts_and_5xx_count(health):
    health.observe("a", UpstreamTimeout("slow", retryable=True, code="upstream_timeout"))
    health.observe("a", SERVER_ERROR)
    health.observe("a", UNREACHABLE)
    assert state(health, "a")["state"] == "open" and state(health, "a")["last_error"] == "upstream_unreachable"


def test_half_open_lets_exactly_one_trial_through(health, clock):
    fail(health, "a", 3)
    clock.now += 10
    assert health.admit("a"), "the cool-down is over: this request is the trial"
    assert state(health, "a")["state"] == "half_open"
    assert not health.admit("a"), "only one trial at a time"
    health.observe("a")
    assert state(health, "a")["state"] == "closed"
    assert health.admit("a") and health.admit("a")


def test_failed_trial_doubles_the_cool_down_up_to_the_cap(health, clock):
    fail(health, "a", 3)
    for expected in (20, 25, 25):
        clock.now += state(health, "a")["cool_down_secs"]
        assert health.admit("a")
        fail(health, "a", 1)
        assert state(health, "a")["state"] == "open" and state(health, "a")["cool_down_secs"] == expected
        clock.now += expected - 0.5
        assert not health.admit("a")
        clock.now += 0.5
    health.admit("a")
    health.observe("a")
    assert state(health, "a")["cool_down_secs"] == 10, "recovery resets the backoff"


def test_failures_of_requests_admitted_before_opening_do_not_extend_the_cool_down(health, clock):
    fail(health, "a", 3)
    clock.now += 5
    fail(health, "a", 2)  # stragglers
    assert state(health, "a")["retry_in_secs"] == 5 and state(health, "a")["cool_down_secs"] == 10


def test_an_unanswered_trial_is_given_up_after_a_cool_down(health, clock):
    fail(health, "a", 3)
    clock.now += 10
    assert health.admit("a")
    clock.now += 9.9
    assert not health.admit("a")
    clock.now += 0.1
    assert health.admit("a"), "the first trial never reported back: another one may go"


def test_unavailable_names_the_soonest_retry(health, clock):
    fail(health, "a", 3)
    clock.now += 4
    fail(health, "b", 3)
    error = health.unavailable("smart", [Route(Provider("a")), Route(Provider("b"))])
    assert error.status == 503 and error.headers == {"Retry-After": "6"}
    assert "smart" in error.message
