"""This process's id, read without a system call.

gunicorn forks its workers, and what a worker keeps per process (its shared-memory file
descriptors and locks, its in-flight slots, prometheus_client's per-process sample files)
must notice a fork. Asking `os.getpid()` on every use cost about fifteen system calls per
request; the id is kept here instead and refreshed in the child of every fork.
"""
import os

# Process-wide by nature: os.register_at_fork has no per-object form. Written only at import
# and in a freshly forked child.
_current = [os.getpid()]


def _forked() -> None:
    _current[0] = os.getpid()


os.register_at_fork(after_in_child=_forked)


def current_pid() -> int:
    return _current[0]
