"""Provider health: a circuit breaker per provider, deciding which virtual-model candidates to try.

A provider whose calls keep failing (FAILURE_THRESHOLD consecutive connect errors, timeouts,
5xx or unusable replies) is taken out of virtual-model rotation ("open") for a cool-down. When
the cool-down ends, one request is let through as a trial ("half_open"): a reply puts the
provider back ("closed"); another failure reopens it with the cool-down doubled, up to
MAX_COOL_DOWN_SECS, so a provider that stays down costs one request per cool-down, not one
per client request. Rate limits and rejected keys are the key pool's business, not an outage.

State is per gunicorn worker: each worker learns from its own traffic. Nothing here yields to
the gevent hub, so no lock is needed.
"""
import math
import time
from dataclasses import dataclass

from app.errors import (
    ProviderNotConfigured,
    ServiceUnavailable,
    UpstreamAuthFailed,
    UpstreamError,
    UpstreamRateLimited,
)

FAILURE_THRESHOLD = 5
COOL_DOWN_SECS = 30.0
MAX_COOL_DOWN_SECS = 600.0
NOT_AN_OUTAGE = (UpstreamRateLimited, UpstreamAuthFailed, ProviderNotConfigured)

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


@dataclass
class Circuit:
    cool_down: float
    state: str = CLOSED
    consecutive_failures: int = 0
    failures: int = 0
    successes: int = 0
    # monotonic time when the next trial may start (open), or when an unanswered trial is
    # given up and another one allowed (half_open)
    retry_at: float = 0.0
    last_error: str | None = None


class ProviderHealth:
    def __init__(self, provider_names, *, clock=time.monotonic, threshold: int = FAILURE_THRESHOLD,
                 cool_down: float = COOL_DOWN_SECS, max_cool_down: float = MAX_COOL_DOWN_SECS):
        self._clock = clock
        self._threshold = threshold
        self._base_cool_down = cool_down
        self._max_cool_down = max_cool_down
        self._circuits = {name: Circuit(cool_down) for name in provider_names}

    def admit(self, name: str) -> bool:
        """Whether a virtual-model request may try this provider now; may make it the trial request."""
        circuit = self._circuits[name]
        if circuit.state == CLOSED:
            return True
        now = self._clock()
        if now < circuit.retry_at:
            return False
        circuit.state = HALF_OPEN
        circuit.retry_at = now + circuit.cool_down
        return True

    def observe(self, name: str, error: UpstreamError | None = None) -> None:
        """Record how a call to the provider went: `error` None (or a non-retryable one) means it answered."""
        if isinstance(error, NOT_AN_OUTAGE):
            return
        circuit = self._circuits[name]
        if error is None or not error.retryable:
            circuit.successes += 1
            circuit.state, circuit.consecutive_failures, circuit.cool_down = CLOSED, 0, self._base_cool_down
            return
        circuit.failures += 1
        circuit.consecutive_failures += 1
        circuit.last_error = error.code
        if circuit.state == HALF_OPEN:
            circuit.cool_down = min(circuit.cool_down * 2, self._max_cool_down)
            self._open(circuit)
        elif circuit.state == CLOSED and circuit.consecutive_failures >= self._threshold:
            self._open(circuit)
        # Already open: a request admitted before it opened; the running cool-down stands.

    def _open(self, circuit: Circuit) -> None:
        circuit.state = OPEN
        circuit.retry_at = self._clock() + circuit.cool_down

    def retry_in(self, name: str) -> float:
        """Seconds until the provider may be tried again (0 when it is in rotation)."""
        circuit = self._circuits[name]
        return 0.0 if circuit.state == CLOSED else max(0.0, circuit.retry_at - self._clock())

    def unavailable(self, requested: str, routes) -> ServiceUnavailable:
        """The error for a virtual model all of whose candidates are out of rotation."""
        wait = math.ceil(min(self.retry_in(route.provider.name) for route in routes)) or 1
        return ServiceUnavailable(
            f"Every candidate of '{requested}' is out of rotation after repeated failures; retry in {wait} s",
            code="candidates_unavailable", headers={"Retry-After": str(wait)})

    def snapshot(self) -> list[dict]:
        return [{"provider": name, "state": circuit.state, "consecutive_failures": circuit.consecutive_failures,
                 "failures": circuit.failures, "successes": circuit.successes, "last_error": circuit.last_error,
                 "cool_down_secs": circuit.cool_down, "retry_in_secs": round(self.retry_in(name), 1)}
                for name, circuit in self._circuits.items()]
