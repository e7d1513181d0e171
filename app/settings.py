"""Runtime-tunable settings (caching, token refresh): the file's values, overridden at run time.

Overrides are stored in the `settings` table, so they survive a restart and win over the
file. A write bumps a version counter shared by the instance's workers (in Redis with
`redis_url`, by every instance's); each worker checks that counter at most every
`RECHECK_SECS` and reloads from the store when it moved, so a change reaches every worker
within a second without a DB read per request.
"""
import dataclasses
import logging
import time

import orjson

from app.config import CortexConfig
from app.db import Setting
from app.usage import STORE_ERRORS

log = logging.getLogger("cortex.settings")

RECHECK_SECS = 0.25
VERSION_KEY = "settings-version"


class RuntimeSettings:
    def __init__(self, config: CortexConfig, store, counters):
        self._defaults = {"caching": config.caching, "token_refresh": config.token_refresh}
        self._store = store
        self._counters = counters
        self._values = dict(self._defaults)
        self._version = None
        self._checked_at = 0.0
        self._refresh(force=True)

    def _refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked_at < RECHECK_SECS:
            return
        self._checked_at = now
        version = self._counters.get(VERSION_KEY)[0]
        if version == self._version and not force:
            return
        try:
            with self._store.database.connection_context():
                overrides = {row.section: orjson.loads(row.value) for row in Setting.select()}
        except STORE_ERRORS as exc:
            # Keep serving with the values we have; the next check retries.
            log.warning("could not reload runtime settings: %s", type(exc).__name__)
            return
        self._values = {section: dataclasses.replace(default, **overrides.get(section, {}))
                        for section, default in self._defaults.items()}
        self._version = version

    def caching(self):
        self._refresh()
        return self._values["caching"]

    def token_refresh(self):
        self._refresh()
        return self._values["token_refresh"]

    def update(self, section: str, changes: dict):
        """Store a partial update of one section and tell every worker; returns the effective values."""
        stored = {**self._stored_overrides(section), **changes}
        with self._store.database.connection_context():
            fields = {Setting.value: orjson.dumps(stored).decode(), Setting.updated_at: time.time()}
            # An upsert both SQLite and PostgreSQL speak (peewee's replace() is SQLite/MySQL only).
            (Setting.insert({Setting.section: section, **fields})
             .on_conflict(conflict_target=[Setting.section], update=fields).execute())
        self._counters.incr(VERSION_KEY)
        self._refresh(force=True)
        return self._values[section]

    def _stored_overrides(self, section: str) -> dict:
        with self._store.database.connection_context():
            row = Setting.get_or_none(Setting.section == section)
        return orjson.loads(row.value) if row else {}
