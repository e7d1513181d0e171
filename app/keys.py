"""Client keys created at run time through /api/keys, beside the read-only ones of cortex.yaml.

Only a key's sha256 is stored. A write bumps a version counter shared by the instance's
workers (in Redis with `redis_url`, by every instance's); each worker checks it at most
every `RECHECK_SECS` on a request and then reloads the keys (off the gevent hub), so a new
or revoked key takes effect everywhere within a second without a store read per request
(the same mechanism as app.settings). The CLI (`flask cortex keys`) runs in a process of
its own, outside the instance's shared memory: each worker also looks at the table's
fingerprint every `STORE_POLL_SECS`, in the background.
"""
import dataclasses
import hashlib
import logging
import secrets
import time

import gevent
import orjson
import peewee

from app.config import ApiKeyConfig
from app.db import ApiKeyRecord
from app.errors import Conflict, NotFound, PermissionDenied
from app.usage import STORE_ERRORS, off_hub_for

log = logging.getLogger("cortex.keys")

RECHECK_SECS = 0.25
STORE_POLL_SECS = 1.0
VERSION_KEY = "keys-version"
SECRET_PREFIX = "sk-cortex-"
SHOWN_PREFIX_CHARS = len(SECRET_PREFIX) + 4
# What a key's `settings` JSON holds: everything but identity, secret and the indexed columns.
SETTINGS = ("permissions", "allowed_models", "allowed_providers", "rate_limit", "max_budget_usd",
            "soft_budget_usd", "budget_duration", "budget_anchor", "metadata")
TUPLES = ("allowed_models", "allowed_providers")


def digest_of(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()


def _principal(row: ApiKeyRecord) -> ApiKeyConfig:
    stored = orjson.loads(row.settings)
    values = {name: stored[name] for name in SETTINGS if name in stored}
    values["permissions"] = frozenset(values["permissions"])
    for name in TUPLES:
        values[name] = tuple(values[name])
    return ApiKeyConfig(name=row.name, key_digest=bytes.fromhex(row.key_sha256), id=row.id, source="api",
                        key_prefix=row.key_prefix, expires_at=row.expires_at, disabled=row.disabled, created_at=row.created_at, **values)


def _stored_settings(principal: ApiKeyConfig) -> str:
    values = {name: getattr(principal, name) for name in SETTINGS}
    values["permissions"] = sorted(values["permissions"])
    for name in TUPLES:
        values[name] = list(values[name])
    return orjson.dumps(values).decode()


class RuntimeKeys:
    def __init__(self, config_keys: tuple, store, counters, clock):
        self._config_keys = {key.id: key for key in config_keys}
        self._store = store
        self._counters = counters
        self._clock = clock
        self._by_digest = {}
        self._by_id = {}
        self._version = None
        self._fingerprint = None
        self._checked_at = 0.0
        self._load(self._counters.get(VERSION_KEY)[0])
        self._watcher = gevent.spawn(self._watch_store)  # the app is built in the worker (no preload)

    # Reading ---------------------------------------------------------------------------------
    def by_digest(self, digest: bytes) -> ApiKeyConfig | None:
        """The key with this digest. An unknown digest checks the version at once, so a key works
        on every worker as soon as it is created; a known one every RECHECK_SECS (revocations)."""
        key = self._by_digest.get(digest)
        if key is None or time.monotonic() - self._checked_at >= RECHECK_SECS:
            self._reload_if_changed()
            key = self._by_digest.get(digest)  # another greenlet may have reloaded meanwhile
        return key

    def by_id(self, key_id: str) -> ApiKeyConfig | None:
        """A runtime key by id (a dashboard session holds it), from this worker's copy, which
        revocations reach as they reach by_digest."""
        if time.monotonic() - self._checked_at >= RECHECK_SECS:
            self._reload_if_changed()
        return self._by_id.get(key_id)

    def _reload_if_changed(self) -> None:
        self._checked_at = time.monotonic()
        version = self._counters.get(VERSION_KEY)[0]
        if version != self._version:
            off_hub_for(self._store, self._load, version)

    def _load(self, version) -> None:
        try:
            with self._store.database.connection_context():
                keys = [_principal(row) for row in ApiKeyRecord.select()]
                fingerprint = self._read_fingerprint()
        except STORE_ERRORS as exc:
            log.warning("could not reload API keys: %s", type(exc).__name__)  # the next check retries
            return
        self._by_digest = {key.key_digest: key for key in keys}
        self._by_id = {key.id: key for key in keys}
        self._version, self._fingerprint = version, fingerprint

    @staticmethod
    def _read_fingerprint() -> tuple:
        """Changes with every create (a row), update (updated_at) and revoke (the count)."""
        return ApiKeyRecord.select(peewee.fn.COUNT(ApiKeyRecord.id), peewee.fn.MAX(ApiKeyRecord.updated_at)).tuples()[0]

    def _stored_fingerprint(self) -> tuple:
        with self._store.database.connection_context():
            return self._read_fingerprint()

    def _watch_store(self) -> None:
        while True:
            gevent.sleep(STORE_POLL_SECS)
            try:
                if off_hub_for(self._store, self._stored_fingerprint) != self._fingerprint:
                    off_hub_for(self._store, self._load, self._version)
            except STORE_ERRORS as exc:
                log.warning("could not check API keys: %s", type(exc).__name__)

    def close(self) -> None:
        self._watcher.kill(block=False)

    def all(self) -> list[ApiKeyConfig]:
        self._load(self._counters.get(VERSION_KEY)[0])  # an admin read: the store, not this worker's copy
        return [*self._config_keys.values(), *sorted(self._by_id.values(), key=lambda key: key.created_at)]

    def get(self, key_id: str) -> ApiKeyConfig:
        self._load(self._counters.get(VERSION_KEY)[0])
        key = self._config_keys.get(key_id) or self._by_id.get(key_id)
        if key is None:
            raise NotFound(f"API key '{key_id}' not found")
        return key

    # Writing ---------------------------------------------------------------------------------
    def create(self, fields: dict) -> tuple[ApiKeyConfig, str]:
        """A new key and its plaintext, which is shown this once."""
        if any(key.name == fields["name"] for key in self._config_keys.values()):
            raise Conflict(f"API key name '{fields['name']}' is taken by a key in cortex.yaml")
        plaintext = SECRET_PREFIX + secrets.token_urlsafe(32)
        now = self._clock()
        principal = ApiKeyConfig(
            name=fields["name"], key_digest=digest_of(plaintext), id="key_" + secrets.token_hex(12), source="api",
            key_prefix=plaintext[:SHOWN_PREFIX_CHARS],
            permissions=frozenset(fields["permissions"]), rate_limit=fields["rate_limit"],
            allowed_models=tuple(fields["allowed_models"]), allowed_providers=tuple(fields["allowed_providers"]),
            max_budget_usd=fields["max_budget_usd"], soft_budget_usd=fields["soft_budget_usd"],
            budget_duration=fields["budget_duration"], budget_anchor=now, expires_at=fields["expires_at"],
            disabled=fields["disabled"], metadata=fields["metadata"], created_at=now)
        try:
            with self._store.database.connection_context():
                ApiKeyRecord.create(id=principal.id, name=principal.name, key_sha256=principal.key_digest.hex(),
                                    key_prefix=principal.key_prefix, settings=_stored_settings(principal),
                                    expires_at=principal.expires_at, disabled=principal.disabled,
                                    created_at=now, updated_at=now)
        except peewee.IntegrityError:
            raise Conflict(f"API key name '{fields['name']}' is taken") from None
        self._announce()
        return principal, plaintext

    def update(self, key_id: str, changes: dict) -> ApiKeyConfig:
        current = self._writable(key_id)
        values = {**{name: getattr(current, name) for name in (*SETTINGS, "expires_at", "disabled")}, **changes}
        if values["budget_duration"] != current.budget_duration:
            values["budget_anchor"] = self._clock()  # a new duration starts a fresh window (LiteLLM #34270)
        values["permissions"] = frozenset(values["permissions"])
        for name in TUPLES:
            values[name] = tuple(values[name])
        updated = dataclasses.replace(current, **values)
        with self._store.database.connection_context():
            ApiKeyRecord.update(settings=_stored_settings(updated), expires_at=updated.expires_at,
                                disabled=updated.disabled, updated_at=time.time()).where(
                ApiKeyRecord.id == key_id).execute()
        self._announce()
        return updated

    def revoke(self, key_id: str) -> ApiKeyConfig:
        current = self._writable(key_id)
        with self._store.database.connection_context():
            ApiKeyRecord.delete().where(ApiKeyRecord.id == key_id).execute()
        self._announce()
        return current

    def _writable(self, key_id: str) -> ApiKeyConfig:
        key = self.get(key_id)
        if key.source != "api":
            raise PermissionDenied(f"API key '{key.name}' is defined in cortex.yaml and is read-only here: "
                                   "edit the file and restart to change it")
        return key

    def _announce(self) -> None:
        """Tell every worker (and instance) to reload; this one at once."""
        self._load(self._counters.incr(VERSION_KEY))
        self._checked_at = time.monotonic()
