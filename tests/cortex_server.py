"""Run Cortex for real: gunicorn with gevent workers, on a free loopback port, from a config dict."""
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests
import yaml

REPO = Path(__file__).resolve().parent.parent

ADMIN_KEY = "test-admin-key-0001"
INFERENCE_KEY = "test-inference-key-0002"
LIMITED_KEY = "test-limited-key-0003"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_config(mock_url: str, db_path: Path, **sections) -> dict:
    """A config with an OpenAI-type and an Anthropic-type provider, both on the mock upstream."""
    config = {
        "server": {"host": "127.0.0.1", "port": 8090, "workers": 2},
        "storage": {"database_url": f"sqlite:///{db_path}"},
        "api_keys": [
            {"name": "admin", "key": ADMIN_KEY, "permissions": ["inference", "usage", "admin"]},
            {"name": "inference-only", "key": INFERENCE_KEY, "permissions": ["inference"],
             "allowed_models": ["gpt-*", "mock-*", "claude-*"], "allowed_providers": ["mockai", "mockanthropic"]},
            {"name": "limited", "key": LIMITED_KEY, "permissions": ["inference"], "rate_limit": "3/minute"},
        ],
        "providers": [
            {"name": "mockai", "type": "openai", "base_url": f"{mock_url}/v1", "api_keys": ["sk-mock-openai-secret-1"],
             "timeout_secs": 5, "connect_timeout_secs": 2,
             "models": [{"id": "gpt-4o", "aliases": ["gpt-4"], "input_cost_per_mtok": 2.5, "output_cost_per_mtok": 10},
                        {"id": "gpt-4o-mini"}]},
            {"name": "mockanthropic", "type": "anthropic", "base_url": mock_url,
             "api_keys": ["sk-ant-mock-secret-2"], "timeout_secs": 5, "connect_timeout_secs": 2,
             "models": [{"id": "claude-3-5-sonnet-20241022", "display_name": "Claude 3.5 Sonnet",
                         "created_at": "2024-10-22T00:00:00Z"}]},
            {"name": "mockazure", "type": "azure", "base_url": mock_url, "api_version": "2024-10-21",
             "api_keys": ["azure-mock-secret-3"], "models": [{"id": "azure-gpt-deployment"}]},
            {"name": "keyless", "type": "openai", "base_url": f"{mock_url}/v1",
             "api_keys": ["${CORTEX_TEST_UNSET_KEY}"], "models": [{"id": "keyless-model"}]},
        ],
    }
    config.update(sections)
    return config


class CortexServer:
    def __init__(self, config: dict, workdir: Path, workers: int = 2, env: dict | None = None,
                 command: list[str] | None = None):
        self.config = config
        self.command = command or [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
        self.workdir = workdir
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_path = workdir / "cortex.yaml"
        self.log_path = workdir / "cortex.log"
        self.extra_env = env or {}
        self.process = None

    def start(self, timeout: float = 20.0) -> "CortexServer":
        self.config_path.write_text(yaml.safe_dump(self.config))
        env = {**os.environ, "CORTEX_CONFIG": str(self.config_path), "CORTEX_PORT": str(self.port),
               "CORTEX_WORKERS": str(self.workers), "CORTEX_GRACEFUL_TIMEOUT": "3", **self.extra_env}
        env.pop("CORTEX_SHM_DIR", None)
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            self.command, cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"cortex exited with {self.process.returncode}:\n{self.log()}")
            try:
                if requests.get(self.url + "/health", timeout=0.5).status_code == 200 and self._workers_up():
                    return self
            except requests.RequestException:
                pass  # not listening, or a worker still booting
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"cortex did not become healthy:\n{self.log()}")

    def _workers_up(self) -> bool:
        """Every worker has built its app and answered: "Booting worker" comes before the app is
        loaded, and a test that takes a service away meanwhile would fail that worker's boot."""
        answered = {entry["worker"] for entry in self.access_log() if entry["path"] == "/health"}
        return len(answered) >= self.workers

    def stop(self, sig=signal.SIGTERM, timeout: float = 30.0) -> int | None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process:
            self._log.close()
            return self.process.returncode
        return None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def worker_pids(self) -> set[int]:
        return {int(pid) for pid in re.findall(r"Booting worker with pid: (\d+)", self.log())}

    def access_log(self) -> list[dict]:
        """The structured request lines Cortex logged, oldest first."""
        return [json.loads(line.split(" ", 4)[-1]) for line in self.log().splitlines() if " cortex.access " in line]

    def access_entry(self, request_id: str, timeout: float = 5.0) -> dict:
        """The access log line of the request with this x-request-id, once it is written."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for entry in self.access_log():
                if entry["request_id"] == request_id:
                    return entry
            time.sleep(0.05)
        raise AssertionError(f"no log line for request {request_id}")

    def worker_for(self, request_id: str, timeout: float = 5.0) -> int:
        """The pid of the worker that served (or is serving) the request with this x-request-id."""
        return self.access_entry(request_id, timeout)["worker"]

    @contextmanager
    def frozen(self, pid: int):
        """SIGSTOP a worker so that new connections are accepted by the others."""
        os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(pid, signal.SIGCONT)

    # Clients ---------------------------------------------------------------------------------
    def openai(self, key: str = ADMIN_KEY, **kwargs):
        import openai
        return openai.OpenAI(base_url=self.url + "/v1", api_key=key, max_retries=0, **kwargs)

    def anthropic(self, key: str = ADMIN_KEY, **kwargs):
        import anthropic
        return anthropic.Anthropic(base_url=self.url + "/anthropic", api_key=key, max_retries=0, **kwargs)

    # The store -------------------------------------------------------------------------------
    def usage_rows(self) -> list[dict]:
        db = self.config["storage"]["database_url"][len("sqlite:///"):]
        with sqlite3.connect(db) as connection:
            connection.row_factory = sqlite3.Row
            try:
                return [dict(row) for row in connection.execute("SELECT * FROM usage_records ORDER BY id")]
            except sqlite3.OperationalError:
                return []

    def usage_row(self, request_id: str, timeout: float = 10.0) -> dict:
        """The usage record of one request, once the batched writer has stored it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = [row for row in self.usage_rows() if row["request_id"] == request_id]
            if rows:
                return rows[0]
            time.sleep(0.1)
        raise AssertionError(f"no usage record for {request_id}")
