"""The store: peewee models on SQLite (WAL) by default, PostgreSQL by `database_url`."""
import os
from urllib.parse import urlparse

import peewee
from playhouse.db_url import connect

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
    cached = peewee.BooleanField(default=False)

    class Meta:
        table_name = "usage_records"
        indexes = (
            (("api_key_name", "timestamp"), False),
            (("provider", "timestamp"), False),
            (("model", "timestamp"), False),
            (("timestamp",), False),
        )


MODELS = [UsageRecord]


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
        return peewee.SqliteDatabase(path, pragmas={
            "journal_mode": "wal", "synchronous": "normal", "busy_timeout": 5000, "foreign_keys": 1,
        })
    return connect(urlparse(url)._replace(scheme="postgresql").geturl())


class Store:
    """Owns the database connection and the schema; app-wide, on `app.extensions`."""

    def __init__(self, storage: StorageConfig):
        self.database = open_database(storage)
        self.database.bind(MODELS, bind_refs=False, bind_backrefs=False)
        with self.database.connection_context():
            self.database.create_tables(MODELS, safe=True)

    def ping(self) -> bool:
        try:
            with self.database.connection_context():
                self.database.execute_sql("SELECT 1")
            return True
        except (peewee.PeeweeException, OSError):
            return False
