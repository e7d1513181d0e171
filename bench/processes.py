"""Child processes of the benchmark: start pinned to a core, wait until they answer, stop.

Also reads what a process tree costs from /proc: CPU seconds (utime + stime) and RSS.
"""
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Pinning:
    """Which core the gateway gets and which the load generator and mocks share."""

    gateway: str | None   # a taskset core list, or None when the machine has a single core
    load: str | None

    @classmethod
    def detect(cls) -> "Pinning":
        cores = sorted(os.sched_getaffinity(0))
        if len(cores) < 2:
            return cls(None, None)
        return cls(str(cores[0]), str(cores[1]))

    def pin_self_to_load_core(self) -> None:
        """The orchestrator (and so wrk, nginx and the mocks it starts) runs on the load core."""
        if self.load is not None:
            os.sched_setaffinity(0, {int(self.load)})

    def gateway_command(self, command: list[str]) -> list[str]:
        return ["taskset", "-c", self.gateway, *command] if self.gateway is not None else command


class Service:
    """One long-running child process with its log in the run's work folder."""

    def __init__(self, name: str, command: list[str], workdir: Path, health_url: str, env: dict | None = None,
                 cwd: Path | None = None):
        self.name = name
        self.command = command
        self.health_url = health_url
        self.env = {**os.environ, **(env or {})}
        self.cwd = cwd
        self.log_path = workdir / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float) -> "Service":
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.command, env=self.env, cwd=self.cwd, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            if self._answers():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer {self.health_url} within {timeout:.0f}s:\n{self.log_tail()}")

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.health_url, timeout=1) as response:
                return response.status < 500
        except urllib.error.HTTPError as error:
            return error.code < 500  # up, even if the path wants a key
        except OSError:
            return False

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # its own session: only this service's tree
            self.process.wait()

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    @property
    def pid(self) -> int:
        return self.process.pid


@dataclass(frozen=True)
class Usage:
    """A process tree at one instant."""

    cpu_seconds: float
    rss_mb: float          # the whole tree (for gunicorn: master and worker)
    largest_rss_mb: float  # the biggest process in it (the serving worker)


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # exited meanwhile
            children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def tree(pid: int) -> list[int]:
    children, found, todo = _children_map(), [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, ()))
    return found


def _process_usage(pid: int) -> tuple[float, float]:
    """(cpu seconds, rss MB) of one process; zeros if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    # Split after the command name, field 3 (state) is index 0: utime 14, stime 15, rss 24.
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return cpu, int(fields[21]) * PAGE_SIZE / 2**20


def usage(pid: int) -> Usage:
    measured = [_process_usage(p) for p in tree(pid)]
    return Usage(cpu_seconds=sum(cpu for cpu, _ in measured), rss_mb=sum(rss for _, rss in measured),
                 largest_rss_mb=max((rss for _, rss in measured), default=0.0))
