"""The gateway's RSS after warm-up (gunicorn master + 1 worker, as bench/run.py's memory table
reads it), without the rest of the benchmark: for before/after comparisons of what Cortex
imports and allocates at boot (issue 18).

    python bench/boot_rss.py [ROUNDS]      # default 3 fresh starts; prints each and the median

Each round starts Cortex with the bench's config, sends every surface pair's JSON and streamed
requests for 1 s at concurrency 8 (the run's warm-up), then reads /proc. Not run by CI.
"""
import statistics
import sys
import tempfile
from pathlib import Path

import wire
from arms import CortexArm
from load import Request, Wrk
from processes import Pinning
from run import PAIRS
from upstream import Pace, Upstreams


def main(rounds: int) -> None:
    pinning = Pinning.detect()
    pinning.pin_self_to_load_core()
    requests = [Request(surface, upstream, kind, stream)
                for surface, upstream in PAIRS for kind, stream in (("json", False), ("sse", True))]
    figures = []
    with tempfile.TemporaryDirectory(prefix="cortex-rss-") as tmp:
        workdir = Path(tmp)
        upstreams = Upstreams(workdir, {"paced": Pace(0, 5, 3)}).start()
        try:
            for _ in range(rounds):
                cortex = CortexArm(upstreams.models)
                cortex.start(workdir, pinning)
                try:
                    for request in requests:
                        if cortex.url(request):
                            Wrk(cortex.url(request), request, 8, 1, workdir).run()
                    usage = cortex.usage()
                finally:
                    cortex.stop()
                figures.append((usage.rss_mb, usage.largest_rss_mb))
                print(f"all processes {usage.rss_mb:.1f} MB, worker {usage.largest_rss_mb:.1f} MB", flush=True)
        finally:
            upstreams.stop()
    print(f"median: all processes {statistics.median(f[0] for f in figures):.1f} MB, "
          f"worker {statistics.median(f[1] for f in figures):.1f} MB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
