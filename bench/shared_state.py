"""What instance-wide state costs a request: shared memory (one instance) against Redis (several).

Times, in one gevent-patched process as in a gunicorn worker, the calls an inference request
makes: the in-flight register + routed + release (and a chunk), the settings/token version
read, a response-cache lookup (miss); plus one `/api/admin/inflight` snapshot with 100
requests listed. Redis is a throwaway `redis-server` on loopback (the Debian package).

    python bench/shared_state.py [--repeat 20000]
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402 - after gevent's patching, as in a worker
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.cache import RedisResponseCache, ResponseCache  # noqa: E402
from app.config import StorageConfig  # noqa: E402
from app.db import Store  # noqa: E402
from app.inflight import InflightRegistry, RedisInflightRegistry  # noqa: E402
from app.redis_state import RedisCounters, redis_client  # noqa: E402
from app.shm import SharedCounters  # noqa: E402
from tests.services import RedisServer  # noqa: E402


def per_call_us(call, repeat: int) -> float:
    """Median over 5 rounds of the mean microseconds per call."""
    rounds = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(repeat // 5):
            call()
        rounds.append((time.perf_counter() - started) / (repeat // 5) * 1e6)
    return statistics.median(rounds)


def request_path(registry):
    def one_request():
        slot = registry.register("POST", "/v1/chat/completions", "bench")
        slot.routed("openai", "gpt-4o")
        slot.chunk_sent()
        slot.release()
    return one_request


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="cortex-bench-"))
    redis_server = RedisServer()
    try:
        client = redis_client(redis_server.fresh_url())
        store = Store(StorageConfig(database_url=f"sqlite:///{folder}/cortex.db", encryption_key="", redis_url=""))
        arms = {
            "shared memory": (InflightRegistry(str(folder / "inflight.shm")), SharedCounters(str(folder / "c.shm")),
                              ResponseCache(store)),
            "redis": (RedisInflightRegistry(client), RedisCounters(client), RedisResponseCache(client)),
        }
        print("| per request | shared memory µs | redis µs |\n|---|---|---|")
        rows = {"in-flight register+routed+chunk+release": [], "version read": [], "cache lookup (miss)": [],
                "in-flight snapshot, 100 listed": []}
        for registry, counters, cache in arms.values():
            rows["in-flight register+routed+chunk+release"].append(per_call_us(request_path(registry), args.repeat))
            rows["version read"].append(per_call_us(lambda: counters.get("settings-version"), args.repeat))  # noqa: B023
            rows["cache lookup (miss)"].append(per_call_us(lambda: cache.get("0" * 64), args.repeat))  # noqa: B023
            held = [registry.register("POST", "/v1/chat/completions", "bench") for _ in range(100)]
            rows["in-flight snapshot, 100 listed"].append(per_call_us(registry.snapshot, max(5, args.repeat // 100)))
            for slot in held:
                slot.release()
        for name, (shm, redis) in rows.items():
            print(f"| {name} | {shm:.1f} | {redis:.1f} |")
    finally:
        redis_server.stop()


if __name__ == "__main__":
    main()
