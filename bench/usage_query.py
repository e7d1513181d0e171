"""Usage queries over a million records: `/usage/summary` and filtered `/usage` through the app.

Seeds a temporary SQLite store with 1,000,000 usage records (the app's own schema and
indexes, bulk-inserted in one transaction), starts Cortex under gunicorn with 1 gevent
worker on it and times each query over HTTP from a kept-alive connection.

    python bench/usage_query.py [--rows 1000000] [--repeat 20] [--analyze]

`--analyze` runs SQLite's ANALYZE after seeding (Cortex itself does not, yet): with
statistics the planner can skip-scan the (column, timestamp) indexes for time windows.
"""
import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.config import StorageConfig  # noqa: E402 - after the path fix: run as a script
from app.db import Store  # noqa: E402
from tests.cortex_server import ADMIN_KEY, CortexServer, base_config  # noqa: E402

DAYS = 30
KEYS = [f"key-{n:02d}" for n in range(20)]
ROUTES = [("openai", "gpt-4o"), ("openai", "gpt-4o-mini"), ("openai", "o3-mini"), ("anthropic", "claude-3-5-sonnet"),
          ("anthropic", "claude-3-5-haiku"), ("groq", "llama-3.3-70b"), ("groq", "mixtral-8x7b"),
          ("mistral", "mistral-large"), ("mistral", "mistral-small"), ("together", "qwen-2.5-72b")]
COLUMNS = ("request_id", "timestamp", "api_key_name", "model", "requested_model", "provider", "endpoint", "stream",
           "input_tokens", "output_tokens", "total_tokens", "cache_read_tokens", "cache_creation_tokens",
           "latency_ms", "ttft_ms", "status", "http_status", "error_code", "cost_usd", "cached")


def records(count: int, now: float):
    """Plausible traffic: skewed over keys and routes, 2% errors, over the last 30 days in time order
    (as the writer appends them)."""
    rng = random.Random(7)
    step = DAYS * 86400 / count
    key_weights = [1 / (rank + 1) for rank in range(len(KEYS))]
    for index in range(count):
        provider, model = rng.choices(ROUTES, weights=range(len(ROUTES), 0, -1))[0]
        failed = rng.random() < 0.02
        stream = rng.random() < 0.5
        input_tokens, output_tokens = (0, 0) if failed else (rng.randint(10, 4000), rng.randint(1, 1000))
        timestamp = now - (count - index - rng.random()) * step
        yield (f"req_{index:012x}", timestamp, rng.choices(KEYS, key_weights)[0], model, model, provider,
               "/v1/chat/completions", stream, input_tokens, output_tokens, input_tokens + output_tokens, 0, 0,
               rng.randint(80, 20000), rng.randint(50, 900) if stream else None,
               "error" if failed else "success", 502 if failed else 200, "upstream_500" if failed else None,
               None if failed else (input_tokens * 2.5 + output_tokens * 10) / 1e6, False)


def seed(db_path: Path, count: int, now: float, analyze: bool) -> float:
    Store(StorageConfig(database_url=f"sqlite:///{db_path}", encryption_key="", redis_url=""))  # schema + indexes
    started = time.perf_counter()
    with sqlite3.connect(db_path) as connection:
        connection.execute("PRAGMA synchronous=OFF")
        connection.executemany(f"INSERT INTO usage_records ({', '.join(COLUMNS)}) VALUES "
                               f"({', '.join('?' * len(COLUMNS))})", records(count, now))
        if analyze:
            connection.execute("ANALYZE")
    return time.perf_counter() - started


def rfc3339(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def queries(now: float) -> list[tuple[str, str, dict]]:
    day_ago, week_ago = rfc3339(now - 86400), rfc3339(now - 7 * 86400)
    return [
        ("summary, everything", "/usage/summary", {}),
        ("summary, last 24 h", "/usage/summary", {"start_time": day_ago}),
        ("summary, one key", "/usage/summary", {"api_key": "key-03"}),
        ("summary, one model, last 7 days", "/usage/summary", {"model": "gpt-4o-mini", "start_time": week_ago}),
        ("records, newest 100", "/usage", {}),
        ("records, one key, 100", "/usage", {"api_key": "key-03"}),
        ("records, provider+model+window, 100", "/usage",
         {"provider": "groq", "model": "mixtral-8x7b", "start_time": week_ago, "end_time": day_ago}),
        ("records, newest 1000", "/usage", {"limit": 1000}),
        ("records, offset 100000", "/usage", {"offset": 100_000}),
    ]


def measure(session: requests.Session, url: str, params: dict, repeat: int) -> tuple[float, float, int]:
    """(p50 ms, max ms, records or requests seen) over `repeat` timed calls after one warm-up."""
    timings = []
    for _ in range(repeat + 1):
        started = time.perf_counter()
        response = session.get(url, params=params)
        timings.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    body = response.json()
    size = len(body) if isinstance(body, list) else body["total_requests"]
    return statistics.median(timings[1:]), max(timings[1:]), size


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--analyze", action="store_true")
    args = parser.parse_args()
    now = time.time()
    with tempfile.TemporaryDirectory(prefix="cortex-usage-bench-") as workdir:
        workdir = Path(workdir)
        db_path = workdir / "cortex.db"
        seconds = seed(db_path, args.rows, now, args.analyze)
        print(f"seeded {args.rows:,} records in {seconds:.1f} s ({db_path.stat().st_size / 2**20:.0f} MiB)")
        server = CortexServer(base_config("http://127.0.0.1:9", db_path), workdir, workers=1).start()
        try:
            with requests.Session() as session:
                session.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
                print(f"{'query':40} {'p50 ms':>8} {'max ms':>8} {'rows/requests':>14}")
                for name, path, params in queries(now):
                    p50, worst, size = measure(session, server.url + path, params, args.repeat)
                    print(f"{name:40} {p50:8.1f} {worst:8.1f} {size:14,}")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
