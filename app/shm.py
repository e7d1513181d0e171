"""Counters shared by every gunicorn worker of one instance, in a memory-mapped file.

The gunicorn master creates the file before forking (gunicorn.conf.py sets
`CORTEX_SHM_DIR`); each worker maps it. An operation takes an `flock` for a few
microseconds of pure memory work, never across I/O. Used for rate-limit windows and
instance-wide sequence numbers; with `redis_url` set, Redis plays this role instead.
"""
import fcntl
import hashlib
import mmap
import os
import struct
import tempfile
import time

from app.process import current_pid

SLOT = struct.Struct("<16sqd")  # key digest, value, expiry (unix time; 0 = never)
EMPTY_DIGEST = bytes(16)
PROBE_LIMIT = 64


def shared_dir() -> str:
    """The instance's shared-memory folder; a private one when not under gunicorn (tests, flask run)."""
    path = os.environ.get("CORTEX_SHM_DIR")
    if not path:
        path = tempfile.mkdtemp(prefix="cortex-shm-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        os.environ["CORTEX_SHM_DIR"] = path
    return path


class MappedFile:
    """A file mapped into memory by every process that uses it, with an exclusive lock."""

    def __init__(self, path: str, size: int):
        self.path = path
        self.size = size
        self._pid = None
        self._fd = None
        self._map = None

    @property
    def memory(self) -> mmap.mmap:
        # flock belongs to an open file description: each process needs its own, so
        # (re)open after a fork.
        if self._pid != current_pid():
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            if os.fstat(fd).st_size < self.size:
                os.ftruncate(fd, self.size)
            self._fd, self._map, self._pid = fd, mmap.mmap(fd, self.size), current_pid()
        return self._map

    def locked(self) -> "MappedFile":
        """`with mapped.locked() as memory:` holds the lock (a class, not a @contextmanager
        generator: the in-flight registry takes it on every request)."""
        return self

    def __enter__(self) -> mmap.mmap:
        memory = self.memory
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        return memory

    def __exit__(self, *exc_info) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)


class SharedCounters:
    """A fixed-size open-addressing hash table of expiring integer counters."""

    def __init__(self, path: str, slots: int = 1 << 16):
        self.slots = slots
        self._file = MappedFile(path, slots * SLOT.size)
        self._locked = self._file.locked

    def _find(self, memory, digest: bytes, now: float, create: bool) -> int | None:
        """Offset of the slot holding `digest`, or of a free slot for it when `create`."""
        start = int.from_bytes(digest[:8], "little") % self.slots
        free = None
        for probe in range(PROBE_LIMIT):
            offset = ((start + probe) % self.slots) * SLOT.size
            slot_digest, _, expiry = SLOT.unpack_from(memory, offset)
            if slot_digest == digest:
                if expiry and expiry <= now:
                    return offset if create else None
                return offset
            if free is None and (slot_digest == EMPTY_DIGEST or (expiry and expiry <= now)):
                free = offset
                if slot_digest == EMPTY_DIGEST:
                    break  # never used: the key cannot be further along
        if create and free is None:
            raise RuntimeError("shared counter table is full")
        return free if create else None

    @staticmethod
    def _digest(key: str) -> bytes:
        return hashlib.blake2b(key.encode(), digest_size=16).digest()

    def incr(self, key: str, amount: int = 1, expiry_secs: float = 0.0) -> int:
        """Add to a counter; a new (or expired) counter starts at 0 with the given lifetime."""
        digest, now = self._digest(key), time.time()
        with self._locked() as memory:
            offset = self._find(memory, digest, now, create=True)
            slot_digest, value, expiry = SLOT.unpack_from(memory, offset)
            if slot_digest != digest or (expiry and expiry <= now):
                value, expiry = 0, (now + expiry_secs if expiry_secs else 0.0)
            value += amount
            SLOT.pack_into(memory, offset, digest, value, expiry)
            return value

    def get(self, key: str) -> tuple[int, float]:
        """(value, expiry) of a live counter, (0, 0.0) when absent or expired."""
        digest = self._digest(key)
        with self._locked() as memory:
            offset = self._find(memory, digest, time.time(), create=False)
            if offset is None:
                return 0, 0.0
            _, value, expiry = SLOT.unpack_from(memory, offset)
            return value, expiry

    def delete(self, key: str) -> None:
        digest = self._digest(key)
        with self._locked() as memory:
            offset = self._find(memory, digest, time.time(), create=False)
            if offset is not None:
                # An expired tombstone keeps later probes of other keys reachable.
                SLOT.pack_into(memory, offset, digest, 0, 1.0)

    def clear(self) -> int:
        with self._locked() as memory:
            memory[:] = bytes(len(memory))
        return 0
