"""Load generators: wrk (C) for request rates and latencies, a small client for stream timing.

wrk gets its POST from a generated Lua script whose `done` hook prints one JSON line
(requests, p50/p99 in µs, error counts), so nothing is scraped from its human output.
Stream timing needs the arrival time of each chunk, which wrk cannot give: a plain
`http.client` loop reads the stream and notes when each numbered token (bench/wire.py) lands,
and bench/stream_holder.py holds the slow streams and times each one's first token.
"""
import http.client
import json
import math
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import wire

RESULT_MARK = "WRK_RESULT "
LUA_TEMPLATE = """wrk.method = "POST"
wrk.body = [==[{body}]==]
{headers}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{mark}{{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


@dataclass(frozen=True)
class Request:
    """One kind of request: the client's surface, the upstream's format and kind of answer
    (which together make the model name), streamed or not."""

    surface: wire.Surface
    upstream: wire.Surface
    kind: str  # "json", "sse", "paced", "slow" (bench/upstream.py)
    stream: bool
    arm_headers: tuple = ()  # (name, value) pairs an arm adds or overrides (Portkey: provider and host)

    @property
    def model(self) -> str:
        return self.upstream.mock_model(self.kind)

    def headers(self) -> dict:
        return {**self.surface.all_headers(), **dict(self.arm_headers)}

    @property
    def translated(self) -> bool:
        return self.surface is not self.upstream

    def lua(self) -> str:
        headers = "\n".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}"
                            for k, v in self.headers().items())
        return LUA_TEMPLATE.format(body=self.surface.body(self.model, self.stream).decode(), headers=headers,
                                   mark=RESULT_MARK)


@dataclass(frozen=True)
class WrkSummary:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


class Wrk:
    """One wrk process; `start` then `result`, so two can run at once."""

    def __init__(self, url: str, request: Request, connections: int, seconds: int, workdir: Path):
        script = workdir / f"wrk-{request.surface.name}-{request.model}-{int(request.stream)}.lua"
        script.write_text(request.lua())
        self.command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout=10s",
                        "-s", str(script), url]
        self.process: subprocess.Popen | None = None

    def start(self) -> "Wrk":
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        return self

    def result(self) -> WrkSummary:
        output, _ = self.process.communicate()
        line = next((line for line in output.splitlines() if line.startswith(RESULT_MARK)), None)
        if line is None:
            raise RuntimeError(f"wrk printed no result ({' '.join(self.command)}):\n{output}")
        raw = json.loads(line[len(RESULT_MARK):])
        answered = raw["requests"] > 0  # else wrk's percentiles are zeros, not latencies
        return WrkSummary(
            requests=raw["requests"], seconds=raw["duration_us"] / 1e6,
            p50_ms=raw["p50_us"] / 1000 if answered else math.nan,
            p99_ms=raw["p99_us"] / 1000 if answered else math.nan,
            errors=sum(raw[kind] for kind in ("connect", "read", "write", "status", "timeout")),
        )

    def run(self) -> WrkSummary:
        return self.start().result()


@dataclass(frozen=True)
class HeldSummary:
    """What bench/stream_holder.py saw of the streams it held."""

    errors: int                      # connect, status, streams that broke or ended while held
    first_byte_p50_ms: float | None  # upstream sent the first token → it was read, per stream
    first_byte_max_ms: float | None
    first_byte_late: int             # first token more than 1 s after the upstream's, or never


class StreamHolder:
    """bench/stream_holder.py in its own process: `start`, then `stop` for its summary."""

    def __init__(self, url: str, request: Request, streams: int):
        self.command = [sys.executable, str(Path(__file__).resolve().parent / "stream_holder.py"), url,
                        request.surface.name, request.model, str(streams), json.dumps(request.headers())]
        self.process: subprocess.Popen | None = None

    def start(self) -> "StreamHolder":
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, text=True)
        return self

    def stop(self) -> HeldSummary:
        self.process.send_signal(signal.SIGINT)
        output, _ = self.process.communicate()
        if self.process.returncode != 0 or not output.strip():
            raise RuntimeError(f"stream holder failed ({' '.join(self.command)}): exit {self.process.returncode}")
        return HeldSummary(**json.loads(output.strip().splitlines()[-1]))


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


@dataclass
class StreamTimings:
    """Client-side arrival times of streamed tokens, over many sequential streams."""

    first_token_ms: list[float]  # request sent → first token read
    gaps_ms: list[float]         # token k-1 read → token k read
    errors: int = 0

    @property
    def streams(self) -> int:
        return len(self.first_token_ms)


def _read_stream(connection: http.client.HTTPConnection, path: str, request: Request,
                 timings: StreamTimings) -> None:
    started = time.perf_counter()
    connection.request("POST", path, body=request.surface.body(request.model, True),
                       headers=request.headers())
    response = connection.getresponse()
    if response.status != 200:
        response.read()
        timings.errors += 1
        return
    received, arrivals = b"", []
    while chunk := response.read1(65536):
        now = time.perf_counter()
        received += chunk
        # Distinct tokens: a Responses stream repeats the whole text in its closing events.
        arrivals += [now] * (len(set(wire.TOKEN.findall(received))) - len(arrivals))
    if not arrivals:
        timings.errors += 1
        return
    timings.first_token_ms.append((arrivals[0] - started) * 1000)
    timings.gaps_ms.extend((b - a) * 1000 for a, b in zip(arrivals, arrivals[1:]))


def time_streams(url: str, request: Request, seconds: float, max_streams: int) -> StreamTimings:
    """Sequential streams over one keep-alive connection (concurrency 1) for `seconds`."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    timings = StreamTimings([], [])
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline and timings.streams < max_streams:
            try:
                _read_stream(connection, parts.path, request, timings)
            except (OSError, http.client.HTTPException):
                timings.errors += 1
                connection.close()  # reconnects on the next request
    finally:
        connection.close()
    return timings
