"""The device authorization grant (RFC 8628), polled by one worker at a time.

`start` asks the provider for a device code and stores it (encrypted) with the polling
schedule; the worker that started it runs a poller greenlet, and `advance` (the
/device/poll endpoint, or the CLI) moves it on from anywhere. Whoever claims `next_poll_at`
in the shared store polls next, so the provider sees one request per interval whatever
the number of workers; `slow_down` adds 5 seconds to the interval (section 3.5).
"""
import logging
import time

import gevent
import orjson

from app.db import DeviceAuthorization
from app.oauth import pkce
from app.oauth.errors import DeviceAuthorizationFailed, OAuthNotConfigured
from app.oauth.flows import AuthorizationServerError, CodeFlow, DeviceCode

log = logging.getLogger("cortex.oauth")

SLOW_DOWN_SECS = 5
PENDING = "pending"
# RFC 8628 section 3.5 errors that end the login, and the status each leaves behind.
FINAL_ERRORS = {
    "expired_token": ("expired", "The device code expired before the login was approved: start again"),
    "access_denied": ("denied", "The login was denied"),
}
TRANSIENT_ERRORS = {"authorization_pending", "server_unreachable"}  # poll again next interval


def _context(provider: str) -> str:
    return f"device:{provider}"


class DeviceLogins:
    def __init__(self, store, cipher, tokens, background: bool):
        self._database = store.database
        self._cipher = cipher
        self._tokens = tokens
        self._background = background
        self._pollers = {}  # provider -> this worker's poller greenlet

    def start(self, flow: CodeFlow) -> DeviceCode:
        if not flow.settings.device_authorization_url:
            raise OAuthNotConfigured(f"Provider '{flow.provider}' has no device login "
                                     "(providers[].oauth.device_authorization_url)")
        verifier = pkce.new_verifier()
        try:
            code = flow.request_device_code(pkce.challenge(verifier))
        except AuthorizationServerError as exc:
            raise DeviceAuthorizationFailed(f"Device authorization request failed: {exc}") from None
        now = time.time()
        secret = orjson.dumps({"device_code": code.device_code, "code_verifier": verifier})
        fields = {DeviceAuthorization.ciphertext: self._cipher.encrypt(secret, _context(flow.provider)),
                  DeviceAuthorization.interval: code.interval, DeviceAuthorization.expires_at: now + code.expires_in,
                  DeviceAuthorization.next_poll_at: now + code.interval, DeviceAuthorization.status: PENDING,
                  DeviceAuthorization.message: ""}
        with self._database.connection_context():
            # A new login replaces the previous one (an upsert: PostgreSQL has no REPLACE).
            (DeviceAuthorization.insert({DeviceAuthorization.provider: flow.provider, **fields})
             .on_conflict(conflict_target=[DeviceAuthorization.provider], update=fields).execute())
        if self._background:
            self._spawn_poller(flow)
        log.info("oauth: device login for %s started; polling every %ds", flow.provider, code.interval)
        return code

    def state(self, provider: str) -> DeviceAuthorization | None:
        with self._database.connection_context():
            return DeviceAuthorization.get_or_none(DeviceAuthorization.provider == provider)

    def advance(self, flow: CodeFlow) -> DeviceAuthorization | None:
        """Poll the provider if it is time and nobody else is; returns the login's state."""
        name = flow.provider
        now = time.time()
        row = self.state(name)
        if row is None or row.status != PENDING:
            return row
        if now >= row.expires_at:
            self._finish(name, *FINAL_ERRORS["expired_token"])
        elif self._claim_turn(name, now):
            self._poll(flow, row)
        return self.state(name)

    def _claim_turn(self, name: str, now: float) -> bool:
        with self._database.connection_context():
            claimed = (DeviceAuthorization
                       .update(next_poll_at=now + DeviceAuthorization.interval)
                       .where(DeviceAuthorization.provider == name, DeviceAuthorization.status == PENDING,
                              DeviceAuthorization.next_poll_at <= now)
                       .execute())
        return claimed == 1

    def _poll(self, flow: CodeFlow, row: DeviceAuthorization) -> None:
        name = flow.provider
        secret = orjson.loads(self._cipher.decrypt(row.ciphertext, _context(name)))
        try:
            tokens = flow.poll_device_token(secret["device_code"], secret["code_verifier"])
        except AuthorizationServerError as exc:
            if exc.error == "slow_down":
                self._slow_down(name)
            elif exc.error in FINAL_ERRORS:
                self._finish(name, *FINAL_ERRORS[exc.error])
            elif exc.error not in TRANSIENT_ERRORS:
                self._finish(name, "failed", f"Device login failed: {exc}")
            return
        self._tokens.save(name, tokens)
        self._finish(name, "complete", "")
        log.info("oauth: device login for %s completed", name)

    def _slow_down(self, name: str) -> None:
        interval = DeviceAuthorization.interval + SLOW_DOWN_SECS
        with self._database.connection_context():
            (DeviceAuthorization.update(interval=interval, next_poll_at=time.time() + interval)
             .where(DeviceAuthorization.provider == name).execute())

    def _finish(self, name: str, status: str, message: str) -> None:
        with self._database.connection_context():
            # The device code is useless from here on: drop it.
            (DeviceAuthorization.update(status=status, message=message, ciphertext=b"")
             .where(DeviceAuthorization.provider == name, DeviceAuthorization.status == PENDING).execute())
        if status != "complete":
            log.info("oauth: device login for %s ended: %s", name, status)

    def _spawn_poller(self, flow: CodeFlow) -> None:
        previous = self._pollers.pop(flow.provider, None)
        if previous is not None:
            previous.kill(block=False)
        self._pollers[flow.provider] = gevent.spawn(self._poll_until_done, flow)

    def _poll_until_done(self, flow: CodeFlow) -> None:
        try:
            while True:
                row = self.state(flow.provider)
                if row is None or row.status != PENDING:
                    return
                gevent.sleep(max(0.0, row.next_poll_at - time.time()))
                self.advance(flow)
        except Exception:  # noqa: BLE001 - the /device/poll endpoint can still move the login on
            log.exception("device login poller for %s stopped", flow.provider)

    def close(self) -> None:
        for poller in self._pollers.values():
            poller.kill(block=False)
