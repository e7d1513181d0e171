"""CPU per upstream call of the HTTP clients an adapter could use, against the same nginx mock.

Why the adapters use geventhttpclient and not requests: one gevent process (pinned to one
core) makes POSTs of a chat body from 32 greenlets and reads the canned JSON reply, through
each client in turn, twice; CPU per call is utime+stime over the calls made.

    python bench/upstream_client.py [--calls 6000] [--concurrency 32]
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402 - after monkey-patching, as in the gateway
import collections  # noqa: E402
import http.client  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import orjson  # noqa: E402
import requests  # noqa: E402
import urllib3  # noqa: E402
from geventhttpclient import HTTPClient  # noqa: E402
from requests.adapters import HTTPAdapter  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from processes import Pinning  # noqa: E402
from upstream import Upstreams  # noqa: E402

PATH = "/json/v1/chat/completions"
BODY = orjson.dumps({"model": "mock-json", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 10})
HEADERS = {"Authorization": "Bearer sk-bench", "Content-Type": "application/json", "User-Agent": "bench"}


def requests_call(port: int):
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_maxsize=1000, max_retries=0))
    session.trust_env = False
    url = f"http://127.0.0.1:{port}{PATH}"

    def call():
        with session.post(url, data=BODY, headers=HEADERS, timeout=(5, 60), stream=True) as response:
            return orjson.loads(response.content)
    return call


def urllib3_call(port: int):
    pool = urllib3.HTTPConnectionPool("127.0.0.1", port, maxsize=1000, retries=False,
                                      timeout=urllib3.Timeout(connect=5, read=60))

    def call():
        response = pool.urlopen("POST", PATH, body=BODY, headers=HEADERS, preload_content=False)
        content = response.read()
        response.release_conn()
        return orjson.loads(content)
    return call


def http_client_call(port: int):
    idle = collections.deque()  # the smallest possible pool: kept-alive connections, reused LIFO

    def call():
        connection = idle.pop() if idle else http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request("POST", PATH, body=BODY, headers=HEADERS)
        content = connection.getresponse().read()
        idle.append(connection)
        return orjson.loads(content)
    return call


def geventhttpclient_call(port: int):
    client = HTTPClient("127.0.0.1", port, concurrency=1000, connection_timeout=5, network_timeout=60)

    def call():
        response = client.request("POST", PATH, body=BODY, headers=HEADERS)
        content = response.read()
        response.release()
        return orjson.loads(content)
    return call


CLIENTS = {"requests": requests_call, "urllib3": urllib3_call, "http.client": http_client_call,
           "geventhttpclient": geventhttpclient_call}


def measure(call, calls: int, concurrency: int) -> tuple[float, float]:
    """(calls per second, CPU microseconds per call)."""
    for _ in range(200):
        call()

    def worker(count):
        for _ in range(count):
            call()
    before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    gevent.joinall([gevent.spawn(worker, calls // concurrency) for _ in range(concurrency)], raise_error=True)
    after, elapsed = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - started
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    made = calls // concurrency * concurrency
    return made / elapsed, cpu / made * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    pinning = Pinning.detect()
    with tempfile.TemporaryDirectory(prefix="cortex-bench-client-") as workdir:
        pinning.pin_self_to_load_core()  # nginx inherits the load core
        upstreams = Upstreams(Path(workdir), {}).start()
        if pinning.gateway is not None:  # the clients measured take the gateway's core
            os.sched_setaffinity(0, {int(pinning.gateway)})
        try:
            print("| client | calls/s | CPU µs/call |\n|---|---|---|")
            for _ in range(2):
                for name, make in CLIENTS.items():
                    rate, cpu = measure(make(upstreams.nginx_port), args.calls, args.concurrency)
                    print(f"| {name} | {rate:.0f} | {cpu:.0f} |")
        finally:
            upstreams.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
