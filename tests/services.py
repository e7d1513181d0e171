"""Throwaway Redis and PostgreSQL servers for the tests that need real ones (the Debian
packages `redis-server` and `postgresql`, which .ci/run installs): each runs on a free
loopback port with its data in a temporary folder and goes away with the test session."""
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg2
import pytest
import redis

from tests.cortex_server import free_port

INSTALL_HINT = "apt-get install redis-server postgresql (.ci/run does)"
REDIS_DATABASES = 16


def _binary(name: str, *folders: str) -> str:
    found = shutil.which(name) or next((path for folder in folders for path in sorted(glob.glob(f"{folder}/{name}"),
                                                                                      reverse=True)), None)
    if found is None:
        pytest.fail(f"{name} not found: {INSTALL_HINT}", pytrace=False)
    return found


def _wait_until(ready, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start")
        time.sleep(0.05)


class RedisServer:
    def __init__(self):
        self.port = free_port()
        self._next_database = 0
        self._folder = tempfile.mkdtemp(prefix="cortex-redis-")
        self._process = subprocess.Popen(
            [_binary("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--databases", str(REDIS_DATABASES), "--dir", self._folder],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        _wait_until(self._answers, "redis-server")

    def _answers(self) -> bool:
        try:
            return redis.Redis(port=self.port).ping()
        except redis.ConnectionError:
            return False

    def fresh_url(self) -> str:
        """The URL of an emptied logical database (they are handed out in turn)."""
        database, self._next_database = self._next_database, (self._next_database + 1) % REDIS_DATABASES
        redis.Redis(port=self.port, db=database).flushdb()
        return f"redis://127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            self._process.wait(10)
        shutil.rmtree(self._folder, ignore_errors=True)


class PostgresServer:
    """A cluster of its own: initdb into a temporary folder, as the `postgres` user when run as
    root (the server refuses to run as root), trust authentication on loopback."""

    USER = "cortex"

    def __init__(self):
        self.port = free_port()
        self._databases = 0
        folders = ("/usr/lib/postgresql/*/bin",)
        initdb, self._pg_ctl = _binary("initdb", *folders), _binary("pg_ctl", *folders)
        self._folder = Path(tempfile.mkdtemp(prefix="cortex-pg-"))
        self._as_owner = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self._folder, owner.pw_uid, owner.pw_gid)
            self._as_owner = ["runuser", "-u", "postgres", "--"]
        self._data = self._folder / "data"
        self._run(initdb, "-D", str(self._data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        self._run(self._pg_ctl, "-D", str(self._data), "-l", str(self._folder / "server.log"), "-w", "start", "-o",
                  f"-p {self.port} -k {self._folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                  "-c synchronous_commit=off -c full_page_writes=off")
        self._admin(f"CREATE USER {self.USER} PASSWORD '{self.USER}'")

    def _run(self, *command: str) -> None:
        subprocess.run([*self._as_owner, *command], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def _admin(self, statement: str) -> None:
        connection = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres")
        connection.autocommit = True  # CREATE DATABASE cannot run in a transaction
        try:
            connection.cursor().execute(statement)
        finally:
            connection.close()

    def fresh_url(self) -> str:
        """The URL of a new, empty database owned by the Cortex user."""
        self._databases += 1
        name = f"cortex_{self._databases}"
        self._admin(f"CREATE DATABASE {name} OWNER {self.USER}")
        return f"postgresql://{self.USER}:{self.USER}@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self._data.exists():
            self._run(self._pg_ctl, "-D", str(self._data), "-m", "immediate", "stop")
        shutil.rmtree(self._folder, ignore_errors=True)
