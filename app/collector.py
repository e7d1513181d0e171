"""The garbage collector's settings for a gevent worker: short pauses while thousands of streams are open.

A collection stops every request and stream the worker serves for as long as it walks its
objects, so pauses are kept short by keeping what each collection walks small. Measured
with 2,000 streams held (bench notes in issue 7):

- Everything built at start-up (~80k objects: modules, schemas, routes) is frozen out of the
  collector's reach: a full collection then takes ~0.3 ms instead of ~40 ms.
- What is left is what the worker holds: ~70 objects per open stream, ~100 ms for a full
  collection with 2,000 streams. A full collection waits for 3,000 collections of the middle
  generation instead of CPython's 10 (a few minutes under load): the cyclic garbage it finds
  is a few hundred objects, and RSS stays flat (1M-request soak).
- CPython starts a young collection when allocations outnumber deallocations by 700. With
  many streams, each read's new objects replace the last read's as they die, the balance
  stays flat and the young generation grows unchecked: 70k objects, a 20-40 ms collection.
  A timer collects it every 50 ms instead (~0.2 ms each with 2,000 streams), and the middle
  generation every other time: 2,000 streams opening at once (~75k new objects a second)
  then cost pauses of 4-10 ms rather than one of 30-40 ms.
"""
import gc

import gevent

YOUNG_EVERY_SECS = 0.05
THRESHOLDS = (700, 1, 3000)  # young: CPython's; middle: every other young collection; full: rare


def tune_worker() -> None:
    """Once per worker, after the app is built and before it serves."""
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    # gevent records each greenlet's spawner and spawning stack, for debugging tools Cortex does
    # not use: per connection a stack walk and ~20 more objects to walk while it is open.
    gevent.config.track_greenlet_tree = False
    young = gevent.get_hub().loop.timer(YOUNG_EVERY_SECS, YOUNG_EVERY_SECS)
    young.ref = False  # does not keep the worker's event loop alive at exit
    young.start(collect_young)


def collect_young() -> None:
    """The young generation, and the middle one too when its threshold is passed: CPython looks
    at the older generations' thresholds only in the collections allocations start."""
    gc.collect(1 if gc.get_count()[1] > THRESHOLDS[1] else 0)
