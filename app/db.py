"""The store: peewee models on SQLite (WAL) by default, PostgreSQL by `database_url`."""
import fcntl
import os
import sqlite3
from contextlib import contextmanager
from urllib.parse import urlparse

import peewee
from gevent import monkey
from playhouse.db_url import connect
from playhouse.migrate import SchemaMigrator, migrate
from psycogreen.gevent import patch_psycopg

from app.config import StorageConfig


class BaseModel(peewee.Model):
    class Meta:
        database = None  # bound to the app's database by Store


class UsageRecord(BaseModel):
    request_id = peewee.CharField(max_length=64, index=True)
    timestamp = peewee.DoubleField()  # unix seconds, UTC
    api_key_name = peewee.CharField(max_length=200, null=True)
    model = peewee.CharField(max_length=200, null=True)
    requested_model = peewee.CharField(max_length=200, null=True)
    provider = peewee.CharField(max_length=100, null=True)
    endpoint = peewee.CharField(max_length=100)
    stream = peewee.BooleanField(default=False)
    input_tokens = peewee.IntegerField(default=0)
    output_tokens = peewee.IntegerField(default=0)
    total_tokens = peewee.IntegerField(default=0)
    cache_read_tokens = peewee.IntegerField(default=0)
    cache_creation_tokens = peewee.IntegerField(default=0)
    latency_ms = peewee.IntegerField(default=0)
    ttft_ms = peewee.IntegerField(null=True)
    status = peewee.CharField(max_length=16)  # success | error
    http_status = peewee.IntegerField(default=200)
    error_code = peewee.CharField(max_length=100, null=True)
    cost_usd = peewee.DoubleField(null=True)
    audio_seconds = peewee.DoubleField(null=True)  # transcriptions billed by duration
    cached = peewee.BooleanField(default=False)

    class Meta:
        table_name = "usage_records"
        indexes = (
            (("api_key_name", "timestamp"), False),
            (("provider", "timestamp"), False),
            (("model", "timestamp"), False),
            (("timestamp",), False),
        )


class Setting(BaseModel):
    """A runtime override of a cortex.yaml section (caching, token_refresh); wins over the file."""

    section = peewee.CharField(max_length=64, primary_key=True)
    value = peewee.TextField()  # JSON object of the overridden fields
    updated_at = peewee.DoubleField()

    class Meta:
        table_name = "settings"


class CachedResponse(BaseModel):
    key = peewee.CharField(max_length=64, primary_key=True)  # sha256 of scope, route and body
    expires_at = peewee.DoubleField(index=True)
    stream = peewee.BooleanField()
    body = peewee.BlobField()  # the client-format JSON body, or the SSE bytes to replay
    provider = peewee.CharField(max_length=100)
    model = peewee.CharField(max_length=200)
    input_tokens = peewee.IntegerField(default=0)
    output_tokens = peewee.IntegerField(default=0)

    class Meta:
        table_name = "response_cache"


class OAuthToken(BaseModel):
    """A provider login. The token set is only ever stored encrypted (app.oauth.crypto)."""

    provider = peewee.CharField(max_length=100, primary_key=True)
    ciphertext = peewee.BlobField()            # nonce + AES-256-GCM ciphertext and tag
    expires_at = peewee.DoubleField(null=True)  # unix seconds; NULL: never expires
    refreshable = peewee.BooleanField(default=False)
    updated_at = peewee.DoubleField()
    # The refresh lease: one refresher per token across workers and instances.
    lease_until = peewee.DoubleField(default=0)
    lease_holder = peewee.CharField(max_length=200, default="")
    refresh_attempted_at = peewee.DoubleField(default=0)

    class Meta:
        table_name = "oauth_tokens"


class OAuthState(BaseModel):
    """A pending authorization-code login, found again by its single-use state token."""

    state_digest = peewee.CharField(max_length=64, primary_key=True)  # sha256 hex of the state
    provider = peewee.CharField(max_length=100)
    ciphertext = peewee.BlobField()  # the encrypted PKCE code verifier
    redirect_uri = peewee.TextField()           # sent to the provider; repeated in the exchange
    redirect_url = peewee.TextField(default="")  # where the user goes afterwards (validated)
    expires_at = peewee.DoubleField(index=True)

    class Meta:
        table_name = "oauth_states"


class DeviceAuthorization(BaseModel):
    """A pending RFC 8628 device login; whoever claims `next_poll_at` polls the provider next."""

    provider = peewee.CharField(max_length=100, primary_key=True)
    ciphertext = peewee.BlobField()  # the encrypted device code and PKCE verifier
    interval = peewee.IntegerField()
    expires_at = peewee.DoubleField()
    next_poll_at = peewee.DoubleField()
    status = peewee.CharField(max_length=16)  # pending | complete | expired | denied | failed
    message = peewee.TextField(default="")

    class Meta:
        table_name = "oauth_device_authorizations"


class ApiKeyRecord(BaseModel):
    """A client key created at run time (/api/keys); cortex.yaml's keys are not stored."""

    id = peewee.CharField(max_length=40, primary_key=True)  # key_<hex>, public
    name = peewee.CharField(max_length=200, unique=True)
    key_sha256 = peewee.CharField(max_length=64, unique=True)  # the plaintext is never stored
    key_prefix = peewee.CharField(max_length=16)  # the first characters, to recognise a key by
    settings = peewee.TextField()  # JSON: permissions, allowed models/providers, limits, budget, metadata
    expires_at = peewee.DoubleField(null=True)
    disabled = peewee.BooleanField(default=False)
    created_at = peewee.DoubleField()
    updated_at = peewee.DoubleField()

    class Meta:
        table_name = "api_keys"


class StoredResponse(BaseModel):
    """A `store: true` Responses API answer: whole when Cortex translated it; when a provider
    serving the API natively keeps it, only whose it is and where (`provider`)."""

    id = peewee.CharField(max_length=100, primary_key=True)  # the response's id, resp_...
    api_key_name = peewee.CharField(max_length=200)  # only this key may read or chain it
    created_at = peewee.DoubleField()
    expires_at = peewee.DoubleField(index=True)
    conversation = peewee.TextField()  # JSON: the items before this request's input (previous_response_id)
    input_items = peewee.TextField()   # JSON: this request's input items, with ids
    response = peewee.TextField()      # JSON: the response object as the client got it
    provider = peewee.CharField(max_length=100, default="")  # the native provider holding it; "" = Cortex

    class Meta:
        table_name = "stored_responses"


MODELS = [UsageRecord, Setting, CachedResponse, OAuthToken, OAuthState, DeviceAuthorization, ApiKeyRecord,
          StoredResponse]

# PostgreSQL, per worker process. Two instances of two workers hold at most 64 connections,
# under the server's default max_connections of 100.
POOL_CONNECTIONS = 16
POOL_STALE_SECS = 300
POOL_WAIT_SECS = 10
CONNECT_TIMEOUT_SECS = 5
SCHEMA_LOCK_ID = 0x636F72746578  # "cortex": serialises schema changes of concurrent workers


def _sqlite_path(url: str) -> str:
    return url[len("sqlite:///"):]


def open_database(storage: StorageConfig) -> peewee.Database:
    url = storage.database_url
    if url.startswith("sqlite:///"):
        path = _sqlite_path(url)
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        # Create the file ourselves so it is 0600 from the first byte; SQLite gives its
        # -wal and -shm files the same mode.
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
        os.chmod(path, 0o600)
        # journal_mode=wal is a property of the file, set once by Store; these are per connection.
        return peewee.SqliteDatabase(path, pragmas={"synchronous": "normal", "busy_timeout": 5000, "foreign_keys": 1})
    if monkey.is_module_patched("socket"):
        # A gunicorn gevent worker: psycopg2 waits on its sockets through gevent instead of
        # blocking the hub. Process-wide and idempotent.
        patch_psycopg()
    # Connections are per greenlet under gevent: a bounded pool reuses them; a request that
    # finds the pool exhausted waits up to POOL_WAIT_SECS for one.
    return connect(urlparse(url)._replace(scheme="postgresql+pool").geturl(), max_connections=POOL_CONNECTIONS,
                   stale_timeout=POOL_STALE_SECS, timeout=POOL_WAIT_SECS, connect_timeout=CONNECT_TIMEOUT_SECS)


class Store:
    """Owns the database connection and the schema; app-wide, on `app.extensions`."""

    def __init__(self, storage: StorageConfig):
        self.database = open_database(storage)
        self.database.bind(MODELS, bind_refs=False, bind_backrefs=False)
        self._wal_keeper = None
        sqlite = isinstance(self.database, peewee.SqliteDatabase)
        # psycopg waits through gevent (psycogreen): PostgreSQL queries yield to the hub by themselves.
        self.yields = not sqlite
        with self.database.connection_context(), self._schema_lock():
            if sqlite:
                self.database.execute_sql("PRAGMA journal_mode=wal")
            self.database.create_tables(MODELS, safe=True)
            self._add_missing_columns()
        if sqlite:
            # peewee guards connect() and close() with threading.Lock, which gevent turns into a
            # greenlet lock; request greenlets take it on the hub and the usage and cache writers
            # in gevent's thread pool. While another process held the write lock, a request was
            # never answered (tests/integration/test_faults.py::test_store_locked, 2 of 6 full
            # runs on one host), just as the pool threads gave up: a greenlet's wake-up lost when
            # a pool thread released this lock is the suspect. SQLite's connect and close never
            # yield to the hub, so an OS lock, held only while a connection opens or closes,
            # cannot deadlock two greenlets of one thread.
            self.database._lock = monkey.get_original("threading", "Lock")()
            # Held open for the worker's life: SQLite checkpoints (an fsync) and deletes the
            # WAL file when its last connection closes, which was once per usage batch.
            self._wal_keeper = sqlite3.connect(self.database.database, check_same_thread=False)
            # SQLite opens the file on a connection's first statement: until then it holds nothing open.
            self._wal_keeper.execute("PRAGMA schema_version").fetchone()

    def close(self) -> None:
        if self._wal_keeper is not None:
            self._wal_keeper.close()

    @contextmanager
    def _schema_lock(self):
        """One worker (of any instance) at a time sets up the store. On PostgreSQL concurrent
        CREATE TABLE IF NOT EXISTS of the same table fails (pg_type key); on SQLite switching a
        new file to WAL answers "database is locked" at once, busy timeout or not, while another
        worker's connection has it open (seen when two workers boot together on a loaded host).
        Start-up only: the file lock blocks the worker before it serves anything."""
        if isinstance(self.database, peewee.SqliteDatabase):
            with open(f"{self.database.database}.setup-lock", "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
                yield
            return
        if not isinstance(self.database, peewee.PostgresqlDatabase):
            yield
            return
        self.database.execute_sql("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK_ID,))
        try:
            yield
        finally:
            self.database.execute_sql("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK_ID,))

    def _add_missing_columns(self) -> None:
        """Columns added to a model since the table was created (all nullable or defaulted)."""
        migrator = SchemaMigrator.from_database(self.database)
        for model in MODELS:
            table = model._meta.table_name
            existing = {column.name for column in self.database.get_columns(table)}
            missing = [f for f in model._meta.sorted_fields if f.column_name not in existing]
            if missing:
                migrate(*(migrator.add_column(table, f.column_name, f) for f in missing))

    def optimize(self) -> None:
        """Refresh SQLite's planner statistics (bounded work): without them, time-window
        aggregates over a large usage table scan whole indexes."""
        if isinstance(self.database, peewee.SqliteDatabase):
            self.database.execute_sql("PRAGMA analysis_limit=1000")
            self.database.execute_sql("PRAGMA optimize")

    def ping(self) -> bool:
        try:
            with self.database.connection_context():
                self.database.execute_sql("SELECT 1")
            return True
        except (peewee.PeeweeException, OSError):
            return False
