"""What a budget costs a request: the check before the provider call and the charge after it.

Times, in one gevent-patched process as in a gunicorn worker, `Budgets.check` + `Budgets.charge`
for a key with a daily budget, against the instance's shared memory (one instance) and Redis
(several; a throwaway `redis-server` on loopback), and a key without a budget (what every
other request pays: one attribute test). Also the lookup of a key created at run time.

    python bench/budget_check.py [--repeat 20000]
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402 - after gevent's patching, as in a worker
import hashlib  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.budgets import Budgets  # noqa: E402
from app.config import ApiKeyConfig, StorageConfig  # noqa: E402
from app.db import Store  # noqa: E402
from app.redis_state import RedisCounters, redis_client  # noqa: E402
from app.shm import SharedCounters  # noqa: E402
from bench.shared_state import per_call_us  # noqa: E402
from tests.services import RedisServer  # noqa: E402


class NoMetrics:
    def observe_soft_budget(self, name):
        pass


def key(**budget) -> ApiKeyConfig:
    return ApiKeyConfig(name="bench", key_digest=hashlib.sha256(b"bench").digest(), permissions=frozenset({"inference"}),
                        rate_limit="", allowed_models=("*",), allowed_providers=("*",), id="key_bench", **budget)


def check_and_charge(budgets: Budgets, principal):
    def one_request():
        if principal.max_budget_usd is not None:  # as app.web.authenticate tests it
            budgets.check(principal)
        budgets.charge(principal, 0.000123)
    return one_request


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="cortex-bench-"))
    budgeted, unbudgeted = key(max_budget_usd=1e9, budget_duration="1d"), key()
    redis_server = RedisServer()
    store = Store(StorageConfig(database_url=f"sqlite:///{folder}/cortex.db", encryption_key="", redis_url=""))
    try:
        backends = {"shared memory": SharedCounters(str(folder / "counters.shm")),
                    "redis": RedisCounters(redis_client(redis_server.fresh_url()))}
        print("µs per request (check + charge), median of 5 rounds")
        for name, counters in backends.items():
            budgets = Budgets(counters, NoMetrics(), time.time, store)
            print(f"  {name:14s} budgeted key   {per_call_us(check_and_charge(budgets, budgeted), args.repeat):7.2f}")
            print(f"  {name:14s} check only     "
                  f"{per_call_us(lambda b=budgets: b.check(budgeted), args.repeat):7.2f}")
        budgets = Budgets(backends["shared memory"], NoMetrics(), time.time, store)
        print(f"  {'any':14s} no budget      {per_call_us(check_and_charge(budgets, unbudgeted), args.repeat):7.2f}")
    finally:
        store.close()
        redis_server.stop()


if __name__ == "__main__":
    main()
