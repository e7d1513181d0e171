"""Cortex benchmark: every arm against the same loopback mock upstream, in one run.

    python bench/run.py                      # direct and cortex, ~1.5 minutes
    python bench/run.py --arms direct,cortex,litellm --duration 5
    python bench/run.py --smoke              # CI: tiny durations, no thresholds

The gateway is pinned to one core, wrk and the mocks to the other; each measurement runs
every arm back to back so they share the machine's mood. Prints a Markdown table and writes
bench/results/latest.md and latest.json. See bench/README.md.
"""
import argparse
import datetime
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson

import wire
from arms import ARMS, Arm
from load import Request, StreamHolder, Wrk, WrkSummary, percentile, time_streams
from processes import Pinning
from report import markdown
from results import BASELINE, LoadRow, MemoryRow, Results, SlowStreamsRow, StreamRow
from upstream import Pace, Upstreams

BENCH = Path(__file__).resolve().parent
CHAT_FORMATS = (wire.OPENAI, wire.ANTHROPIC)
# (client surface, upstream format): per upstream, the pass-through first, then the translation into it;
# then the Responses API passed through, and translated to each chat format.
PAIRS = tuple((surface, upstream) for upstream in CHAT_FORMATS
              for surface in (upstream, *(other for other in CHAT_FORMATS if other is not upstream))) \
    + ((wire.RESPONSES, wire.RESPONSES), (wire.RESPONSES, wire.OPENAI), (wire.RESPONSES, wire.ANTHROPIC))
PLAIN = Request(wire.OPENAI, wire.OPENAI, "json", stream=False)
SOAK_CHECKPOINT = 100_000  # the soak's first RSS reading
RAMP_LIMIT_S = 30   # to open the slow streams; a slower gateway is reported with fewer held
DRAIN_LIMIT_S = 5   # for the upstream streams to close once their clients left


@dataclass(frozen=True)
class Plan:
    """How long and how hard each measurement runs."""

    seconds: int                  # per wrk run and per stream-timing run
    concurrencies: tuple          # 1 gives the latency table, the others the throughput table
    requests: tuple               # request kinds of the latency and throughput tables
    paced: Pace                   # stream timing: first token after first_ms, then every interval_ms
    slow: Pace                    # slow streams: long enough to outlast the ramp and the window
    slow_streams: int
    slow_seconds: int             # plain requests timed while the slow streams are held
    soak_requests: int
    stream_max: int = 1000        # streams per stream-timing run, at most

    @classmethod
    def full(cls, seconds: int, slow_streams: int, soak_requests: int) -> "Plan":
        kinds = tuple(Request(surface, upstream, kind, stream)
                      for surface, upstream in PAIRS for kind, stream in (("json", False), ("sse", True)))
        return cls(seconds, (1, 32, 128), kinds, Pace(0, 5, 10), Pace(100, 1000, 60, stamped=True), slow_streams,
                   slow_seconds=5, soak_requests=soak_requests)

    @classmethod
    def smoke(cls) -> "Plan":
        # The plain request, and the streamed relays besides the OpenAI pass-through (timed in the paced streams).
        kinds = (PLAIN, Request(wire.ANTHROPIC, wire.OPENAI, "sse", stream=True),
                 Request(wire.ANTHROPIC, wire.ANTHROPIC, "sse", stream=True),
                 Request(wire.OPENAI, wire.ANTHROPIC, "sse", stream=True),
                 Request(wire.RESPONSES, wire.RESPONSES, "sse", stream=True),
                 Request(wire.RESPONSES, wire.ANTHROPIC, "sse", stream=True))
        return cls(1, (1, 32, 128), kinds, Pace(0, 5, 5), Pace(100, 1000, 40, stamped=True), slow_streams=20,
                   slow_seconds=1,
                   soak_requests=1000, stream_max=20)

    @property
    def paces(self) -> dict[str, Pace]:
        return {"paced": self.paced, "slow": self.slow}


class Bench:
    def __init__(self, plan: Plan, arms: list[Arm], upstreams: Upstreams, workdir: Path):
        self.plan = plan
        self.arms = arms
        self.upstreams = upstreams
        self.workdir = workdir
        self.gateways = [arm for arm in arms if arm.name != BASELINE]

    def wrk(self, arm: Arm, request: Request, connections: int, seconds: int) -> Wrk:
        return Wrk(arm.url(request), arm.dressed(request), connections, seconds, self.workdir)

    def _serves(self, arm: Arm, request: Request) -> bool:
        return arm.url(request) is not None

    def warm_up(self) -> None:
        """Imports, connection pools and caches of every arm, before anything is measured."""
        paced = tuple(Request(surface, upstream, "paced", stream=True) for surface, upstream in PAIRS)
        for arm in self.arms:
            for request in self.plan.requests + paced:
                if self._serves(arm, request):
                    self.wrk(arm, request, 8, 1).run()

    def memory(self, after: str, requests: int = 0) -> list[MemoryRow]:
        rows = []
        for arm in self.gateways:
            usage = arm.usage()
            rows.append(MemoryRow(arm.name, after, requests, usage.largest_rss_mb, usage.rss_mb))
        return rows

    def load(self, arm: Arm, request: Request, connections: int) -> LoadRow:
        before = arm.usage()
        summary = self.wrk(arm, request, connections, self.plan.seconds).run()
        after = arm.usage()
        cpu = (after.cpu_seconds - before.cpu_seconds) * 1000 / summary.requests if before and summary.requests \
            else None
        return LoadRow(arm.name, request.surface.name, request.upstream.name, request.stream, connections,
                       summary.requests, summary.seconds, summary.rps, summary.p50_ms, summary.p99_ms, summary.errors,
                       cpu)

    def load_matrix(self) -> list[LoadRow]:
        """Every concurrency level in turn, lowest first: the latency runs are not made right after
        another request kind's run at 128 connections, nor far apart in time from each other."""
        return [self.load(arm, request, connections)
                for connections in self.plan.concurrencies for request in self.plan.requests
                for arm in self.arms if self._serves(arm, request)]

    def stream_timing(self) -> list[StreamRow]:
        rows = []
        for surface, upstream in PAIRS:
            request = Request(surface, upstream, "paced", stream=True)
            for arm in (a for a in self.arms if self._serves(a, request)):
                timings = time_streams(arm.url(request), arm.dressed(request), self.plan.seconds,
                                       self.plan.stream_max)
                rows.append(StreamRow(arm.name, surface.name, upstream.name, timings.streams,
                                      percentile(timings.first_token_ms, 50), percentile(timings.first_token_ms, 99),
                                      percentile(timings.gaps_ms, 50), percentile(timings.gaps_ms, 99),
                                      timings.errors))
        return rows

    def slow_streams(self, arm: Arm) -> SlowStreamsRow:
        """Open many slow streams; once the upstream sees them all, time plain requests meanwhile."""
        plan = self.plan
        slow = Request(wire.OPENAI, wire.OPENAI, "slow", stream=True)
        streams = StreamHolder(arm.url(slow), arm.dressed(slow), plan.slow_streams).start()
        ramp_s, opened = self.wait_for_open_streams(lambda count: count >= plan.slow_streams, RAMP_LIMIT_S)
        plain = self.wrk(arm, PLAIN, 1, plan.slow_seconds).run()
        held = min(opened, self.upstreams.open_streams())
        usage = arm.usage()
        streams_seen = streams.stop()
        _, left_open = self.wait_for_open_streams(lambda count: count == 0, DRAIN_LIMIT_S)
        return SlowStreamsRow(arm.name, plan.slow_streams, ramp_s, held, left_open, streams_seen.errors,
                              streams_seen.first_byte_p50_ms, streams_seen.first_byte_max_ms,
                              streams_seen.first_byte_late, plain.requests, plain.p50_ms, plain.p99_ms, plain.errors,
                              usage.largest_rss_mb if usage else None)

    def wait_for_open_streams(self, done, limit_s: float) -> tuple[float, int]:
        """(seconds waited, open streams at the upstream) once `done(open)` holds or after `limit_s`."""
        started = time.monotonic()
        while True:
            count = self.upstreams.open_streams()
            waited = time.monotonic() - started
            if done(count) or waited >= limit_s:
                return waited, count
            time.sleep(0.1)

    def soak(self, arm: Arm, total: WrkSummary, until: int) -> WrkSummary:
        """Plain requests at concurrency 32, in runs of at most 30 s, until `until` in all."""
        while total.requests < until:
            left = until - total.requests
            seconds = max(1, min(30, int(left / max(total.rps, 1000)) + 1))
            run = self.wrk(arm, PLAIN, 32, seconds).run()
            total = WrkSummary(total.requests + run.requests, total.seconds + run.seconds, run.p50_ms, run.p99_ms,
                               total.errors + run.errors)
        return total

    def run(self, meta: dict) -> Results:
        results = Results(meta)
        step("warm-up")
        self.warm_up()
        results.memory += self.memory("warm-up")
        step("latency and throughput")
        results.load = self.load_matrix()
        step("stream timing")
        results.streams = self.stream_timing()
        step(f"{self.plan.slow_streams} slow streams")
        results.slow_streams = [self.slow_streams(arm) for arm in self.arms]
        if self.plan.soak_requests:
            step(f"soak: {self.plan.soak_requests:,} requests per gateway")
            # RSS is read at the first checkpoint too: growth is judged from there to the end.
            checkpoints = sorted({min(SOAK_CHECKPOINT, self.plan.soak_requests), self.plan.soak_requests})
            for arm in self.gateways:
                soaked = WrkSummary(0, 0.0, 0.0, 0.0, 0)
                for checkpoint in checkpoints:
                    soaked = self.soak(arm, soaked, checkpoint)
                    results.memory += [row for row in self.memory("soak", soaked.requests) if row.arm == arm.name]
                meta.setdefault("soak", {})[arm.name] = asdict(soaked)
        return results


def step(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _output(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10)
    except OSError:
        return "unavailable"
    return (done.stdout + done.stderr).strip().splitlines()[0] if (done.stdout + done.stderr).strip() else ""


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")),
                 platform.processor() or "unknown CPU")
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def metadata(plan: Plan, pinning: Pinning, arms: list[str]) -> dict:
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "commit": _output(["git", "-C", str(BENCH.parent), "rev-parse", "--short", "HEAD"]),
        "pinning": {"gateway": pinning.gateway or "any", "load": pinning.load or "any"},
        "arms": arms,
        "seconds_per_run": plan.seconds,
        "paces": {kind: f"first token after {pace.first_ms} ms, then one every {pace.interval_ms} ms, "
                        f"{pace.chunks} chunks" for kind, pace in plan.paces.items()},
        "versions": {"wrk": _output(["wrk", "-v"]), "nginx": _output(["nginx", "-v"])},
    }


def raise_open_file_limit() -> None:
    """Thousands of held streams need as many sockets in wrk, the gateway and the mock."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arms", default="direct,cortex",
                        help="comma-separated: direct,cortex,litellm,portkey (direct is always run: it is the baseline)")
    parser.add_argument("--duration", type=int, default=3, help="seconds per measurement (default 3)")
    parser.add_argument("--slow-streams", type=int, default=2000, help="streams held at once (default 2000)")
    parser.add_argument("--soak", type=int, default=0, metavar="REQUESTS",
                        help="requests per gateway before the last RSS reading (e.g. 1000000; default off)")
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI; all other sizes ignored")
    parser.add_argument("--output", type=Path, default=BENCH / "results", help="where latest.md/json go")
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.arms.split(",") if name.strip()]
    unknown = set(names) - set(ARMS)
    if unknown:
        parser.error(f"unknown arm(s): {', '.join(sorted(unknown))}; choose from {', '.join(ARMS)}")
    args.arms = [BASELINE] + [name for name in dict.fromkeys(names) if name != BASELINE]
    return args


def require_tools() -> None:
    missing = [tool for tool in ("wrk", "nginx", "taskset") if not shutil.which(tool) and not
               Path(f"/usr/sbin/{tool}").exists()]
    if missing:
        sys.exit(f"bench: missing {', '.join(missing)}: apt-get install -y nginx wrk util-linux")


def main(argv=None) -> int:
    args = parse_args(argv)
    require_tools()
    plan = Plan.smoke() if args.smoke else Plan.full(args.duration, args.slow_streams, args.soak)
    pinning = Pinning.detect()
    pinning.pin_self_to_load_core()
    raise_open_file_limit()
    with tempfile.TemporaryDirectory(prefix="cortex-bench-") as tmp:
        workdir = Path(tmp)
        upstreams = Upstreams(workdir, plan.paces).start()
        arms = [ARMS[name](upstreams.models) for name in args.arms]
        try:
            for arm in arms:
                step(f"starting {arm.name}")
                arm.start(workdir, pinning)
            results = Bench(plan, arms, upstreams, workdir).run(metadata(plan, pinning, args.arms))
        finally:
            for arm in arms:
                arm.stop()
            upstreams.stop()
    table = markdown(results)
    print(table)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "latest.md").write_text(table + "\n")
    (args.output / "latest.json").write_bytes(orjson.dumps(results.to_dict(), option=orjson.OPT_INDENT_2))
    broken = unanswered(results)
    for row in broken:
        step(f"WARNING: {row.arm} answered no {row.surface} → {row.upstream} request successfully "
             f"({row.errors} errors)")
    # Not a speed threshold: the smoke run fails only when an arm does not work at all.
    return 1 if broken and args.smoke else 0


def unanswered(results: Results) -> list[LoadRow]:
    return [row for row in results.load if row.requests == 0 or row.errors >= row.requests]


if __name__ == "__main__":
    sys.exit(main())
