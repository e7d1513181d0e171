"""Token refresh under a lease: in the background before tokens expire, and on demand.

Every worker runs the background loop; the lease row in the shared store decides who
refreshes. A background claim also requires that nobody attempted the token during the
last `check_interval_secs`, so a token is refreshed at most once per cycle across all
workers and instances, whatever the timing of their loops. Settings are read from
`RuntimeSettings` each cycle, so a runtime change applies from the next one.
"""
import logging
import os
import secrets
import socket
import time

import gevent

from app.oauth.errors import NotRefreshable, RefreshFailed, TokenNotFound
from app.oauth.flows import AuthorizationServerError
from app.oauth.tokens import TokenSet, TokenStore
from app.usage import STORE_ERRORS

log = logging.getLogger("cortex.oauth")

LEASE_SECS = 60.0           # longer than a token request may take (flows.TIMEOUT)
EXPIRY_MARGIN_SECS = 30.0   # a token this close to expiry is refreshed before it is sent upstream
WAIT_SECS = 10.0            # how long a caller waits for another worker's refresh
WAIT_STEP_SECS = 0.2


def iso_time(timestamp: float | None) -> str | None:
    return None if timestamp is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


class TokenRefresher:
    def __init__(self, tokens: TokenStore, flows: dict, settings):
        self._tokens = tokens
        self._flows = flows
        self._settings = settings
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._loop = None

    def start(self) -> None:
        self._loop = gevent.spawn(self._run)

    def close(self) -> None:
        if self._loop is not None:
            self._loop.kill(block=False)

    def _run(self) -> None:
        while True:
            gevent.sleep(self._settings.token_refresh().check_interval_secs)
            try:
                self.run_cycle()
            except STORE_ERRORS as exc:  # the next cycle retries; no traceback per cycle for an outage
                log.warning("token refresh cycle skipped: store unavailable (%s)", type(exc).__name__)
            except Exception:  # noqa: BLE001 - the loop must outlive a bad cycle
                log.exception("token refresh cycle failed")

    def run_cycle(self) -> list[str]:
        """Refresh the tokens expiring within the threshold; returns the providers refreshed here."""
        settings = self._settings.token_refresh()
        if not settings.enabled:
            return []
        now = time.time()
        expiring_before = now + settings.refresh_threshold_secs
        refreshed = []
        for name in self._tokens.expiring(expiring_before):
            flow = self._flows.get(name)
            if flow is None or not flow.configured:
                continue
            if not self._tokens.claim(name, self.holder, LEASE_SECS, expiring_before=expiring_before,
                                      attempted_before=now - settings.check_interval_secs):
                continue  # another worker has it, or already tried it this cycle
            try:
                self._refresh_claimed(name, "background")
                refreshed.append(name)
            except (RefreshFailed, NotRefreshable, TokenNotFound):
                pass  # logged; the user sees it in /status and on the next request
            finally:
                self._tokens.release(name, self.holder)
        return refreshed

    def refresh(self, name: str, *, only_if_expiring: bool) -> TokenSet:
        """Refresh now under the lease; waits for (and uses) a refresh another worker is doing."""
        deadline = time.monotonic() + WAIT_SECS
        while True:
            expiring_before = time.time() + EXPIRY_MARGIN_SECS if only_if_expiring else None
            if self._tokens.claim(name, self.holder, LEASE_SECS, expiring_before=expiring_before):
                try:
                    return self._refresh_claimed(name, "on demand" if only_if_expiring else "manual")
                finally:
                    self._tokens.release(name, self.holder)
            tokens = self._tokens.load(name)
            if tokens is None:
                raise TokenNotFound(f"No OAuth token is stored for provider '{name}'")
            if only_if_expiring and tokens.valid_at(time.time() + EXPIRY_MARGIN_SECS):
                return tokens  # refreshed by another worker meanwhile
            if time.monotonic() > deadline:
                raise RefreshFailed("Failed to refresh token: another worker's refresh did not finish in time")
            gevent.sleep(WAIT_STEP_SECS)

    def _refresh_claimed(self, name: str, reason: str) -> TokenSet:
        tokens = self._tokens.load(name)
        if tokens is None:
            raise TokenNotFound(f"No OAuth token is stored for provider '{name}'")
        if tokens.permanent or not tokens.refresh_token:
            raise NotRefreshable(f"The '{name}' token has no refresh token: log in again when it expires")
        try:
            refreshed = self._flows[name].refresh(tokens)
        except AuthorizationServerError as exc:
            log.warning("oauth: %s refresh of the %s token failed (worker %d): %s", reason, name, os.getpid(), exc)
            raise RefreshFailed(f"Failed to refresh token: {exc}") from None
        self._tokens.save(name, refreshed)
        log.info("oauth: %s refresh of the %s token (worker %d): expires %s, refresh token %s", reason, name,
                 os.getpid(), iso_time(refreshed.expires_at) or "never",
                 "rotated" if refreshed.refresh_token != tokens.refresh_token else "kept")
        return refreshed
