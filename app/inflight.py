"""The instance-wide in-flight view: one fixed-size slot per running inference request.

Slots live in a memory-mapped file in the instance's shared folder, so every gunicorn worker
writes its own requests and any worker can list all of them. Registering takes one short
`flock` (claim a free slot, draw the next id); marking a chunk is a plain 8-byte write into
the request's own slot. Slots of a worker that died are ignored and reclaimed.
"""
import os
import struct
import time
from dataclasses import dataclass

from app.shm import MappedFile

# id, pid, started, last_chunk, then fixed-width UTF-8 fields (NUL padded).
SLOT = struct.Struct("<qqdd8s160s160s64s160s")
HEADER = struct.Struct("<q")  # the last id handed out
LAST_CHUNK_OFFSET = 24


def _text(value: str | None, width: int) -> bytes:
    return (value or "").encode()[:width]


def _decode(raw: bytes) -> str | None:
    return raw.rstrip(b"\0").decode(errors="replace") or None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class InflightRequest:
    id: int
    method: str
    uri: str
    elapsed_secs: int
    idle_secs: int
    model: str | None
    provider: str | None
    api_key_name: str | None


class InflightSlot:
    """One registered request; the handle the request path updates."""

    def __init__(self, registry: "InflightRegistry", offset: int, request_id: int):
        self._registry = registry
        self.offset = offset
        self.id = request_id

    def routed(self, provider: str, model: str) -> None:
        self._registry.update(self, provider=provider, model=model)

    def chunk_sent(self) -> None:
        self._registry.touch(self)

    def release(self) -> None:
        self._registry.release(self)


class InflightRegistry:
    def __init__(self, path: str, slots: int = 8192):
        self.slots = slots
        self._file = MappedFile(path, HEADER.size + slots * SLOT.size)
        self._cursor = 0

    def _offset(self, index: int) -> int:
        return HEADER.size + index * SLOT.size

    def register(self, method: str, uri: str, api_key_name: str | None) -> InflightSlot | None:
        """Claim a slot; None when the table is full (the request is served, just not listed)."""
        now, pid = time.time(), os.getpid()
        with self._file.locked() as memory:
            for probe in range(self.slots):
                index = (self._cursor + probe) % self.slots
                offset = self._offset(index)
                slot_id, slot_pid = struct.unpack_from("<qq", memory, offset)
                if slot_id and (slot_pid == pid or _alive(slot_pid)):
                    continue  # taken by a live request (a dead worker's slots are reclaimed)
                request_id = HEADER.unpack_from(memory, 0)[0] + 1
                HEADER.pack_into(memory, 0, request_id)
                SLOT.pack_into(memory, offset, request_id, pid, now, 0.0, _text(method, 8), _text(uri, 160),
                               b"", b"", _text(api_key_name, 160))
                self._cursor = index + 1
                return InflightSlot(self, offset, request_id)
            return None

    def update(self, slot: InflightSlot, *, provider: str, model: str) -> None:
        values = list(SLOT.unpack_from(self._file.memory, slot.offset))
        if values[0] != slot.id:
            return
        values[6], values[7] = _text(model, 160), _text(provider, 64)
        SLOT.pack_into(self._file.memory, slot.offset, *values)

    def touch(self, slot: InflightSlot) -> None:
        struct.pack_into("<d", self._file.memory, slot.offset + LAST_CHUNK_OFFSET, time.time())

    def release(self, slot: InflightSlot) -> None:
        if struct.unpack_from("<q", self._file.memory, slot.offset)[0] == slot.id:
            struct.pack_into("<q", self._file.memory, slot.offset, 0)

    def snapshot(self) -> list[InflightRequest]:
        now, requests, alive = time.time(), [], {}
        for index in range(self.slots):
            (request_id, pid, started, last_chunk, *texts) = SLOT.unpack_from(self._file.memory, self._offset(index))
            if not request_id:
                continue
            if pid not in alive:
                alive[pid] = _alive(pid)
            if not alive[pid]:
                continue
            method, uri, model, provider, key_name = (_decode(t) for t in texts)
            requests.append(InflightRequest(
                id=request_id, method=method, uri=uri, elapsed_secs=int(now - started),
                idle_secs=int(now - last_chunk) if last_chunk else 0,
                model=model, provider=provider, api_key_name=key_name))
        return sorted(requests, key=lambda r: r.id)
