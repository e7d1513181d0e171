"""The floor under Cortex's plain path: the same upstream call as a bare WSGI app, as one Flask
view (bench/floor_app.py, gunicorn with one gevent worker) and through Cortex, in one run.

    python bench/floor.py [ROUNDS]      # default 6 rounds of 3 s at concurrency 1, interleaved

Prints the median p50, p99 and CPU µs per request of each server (openai → openai, nginx mock).
Not run by CI. See bench/README.md (notes from profiling).
"""
import statistics
import sys
import tempfile
from pathlib import Path

import wire
from arms import CortexArm
from load import Request, Wrk
from processes import Pinning, Service, free_port, usage
from upstream import Pace, Upstreams

BENCH = Path(__file__).resolve().parent
FLOORS = (("bare WSGI", "floor_app:bare"), ("Flask view", "floor_app:flask_app"))
SECONDS = 3


def floor_service(name: str, target: str, upstream_url: str, workdir: Path, pinning: Pinning) -> tuple:
    port = free_port()
    command = pinning.gateway_command([sys.executable, "-m", "gunicorn", "-k", "gevent", "-w", "1",
                                       "-b", f"127.0.0.1:{port}", "--keep-alive", "75", target])
    service = Service(name.replace(" ", "-"), command, workdir, f"http://127.0.0.1:{port}/",
                      env={"UPSTREAM": upstream_url}, cwd=BENCH).start(30)
    return service, f"http://127.0.0.1:{port}/v1/chat/completions"


def main(rounds: int) -> None:
    pinning = Pinning.detect()
    pinning.pin_self_to_load_core()
    request = Request(wire.OPENAI, wire.OPENAI, "json", stream=False)
    with tempfile.TemporaryDirectory(prefix="cortex-floor-") as tmp:
        workdir = Path(tmp)
        upstreams = Upstreams(workdir, {"paced": Pace(0, 5, 3)}).start()
        upstream_url = upstreams.models[request.model].chat_url
        cortex = CortexArm(upstreams.models)
        services = []
        try:
            cortex.start(workdir, pinning)
            services = [floor_service(name, target, upstream_url, workdir, pinning) for name, target in FLOORS]
            servers = [("direct", upstream_url, None)] + [
                (name, url, service.pid) for (name, _), (service, url) in zip(FLOORS, services)] + [
                ("Cortex", cortex.url(request), cortex.service.pid)]
            for _, url, _ in servers:
                Wrk(url, request, 4, 1, workdir).run()  # warm-up
            figures = {name: [] for name, _, _ in servers}
            for round_ in range(rounds):
                # Every other round in reverse order, so no server always follows the same one.
                for name, url, pid in servers if round_ % 2 == 0 else servers[::-1]:
                    before = usage(pid) if pid else None
                    run = Wrk(url, request, 1, SECONDS, workdir).run()
                    cpu = (usage(pid).cpu_seconds - before.cpu_seconds) * 1e6 / run.requests if pid else 0.0
                    figures[name].append((run.p50_ms, run.p99_ms, cpu, run.errors))
        finally:
            cortex.stop()
            for service, _ in services:
                service.stop()
            upstreams.stop()
    base = statistics.median(p50 for p50, *_ in figures["direct"])
    print("| server | added p50 ms | p99 ms | CPU µs/req | errors |\n|---|---|---|---|---|")
    for name, rows in figures.items():
        p50, p99, cpu = (statistics.median(row[k] for row in rows) for k in range(3))
        print(f"| {name} | {p50 - base:+.2f} | {p99:.2f} | {cpu:.0f} | {sum(row[3] for row in rows)} |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 6)
