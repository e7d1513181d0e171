"""Wall-clock time for budget windows, replaceable in tests without sleeping.

`CORTEX_TEST_CLOCK_FILE` names a file holding unix seconds: the clock reads it on every
call, so a test moves time for every worker by rewriting one file. Unset (always, outside
tests) the clock is `time.time`.
"""
import os
import time
from functools import partial


def _read_clock_file(path: str) -> float:
    with open(path) as file:
        return float(file.read().strip())


def wall_clock(environ=os.environ):
    """A function returning unix seconds."""
    path = environ.get("CORTEX_TEST_CLOCK_FILE")
    return partial(_read_clock_file, path) if path else time.time
