"""The instance-wide in-flight view: one fixed-size slot per running inference request.

Slots live in a memory-mapped file in the instance's shared folder, so every gunicorn worker
writes its own requests and any worker can list all of them. Registering takes one short
`flock` (claim a free slot, draw the next id); marking a chunk is a plain 8-byte write into
the request's own slot. Slots of a worker that died are ignored and reclaimed.

With `redis_url`, `RedisInflightRegistry` keeps the same view for every instance in Redis.
"""
import logging
import os
import struct
import time
from dataclasses import dataclass

import gevent

from app.errors import ServiceUnavailable
from app.process import current_pid
from app.redis_state import KEY_PREFIX, OutageLog, redis_errors
from app.shm import MappedFile

log = logging.getLogger("cortex.inflight")

# A slot: id, pid, started, last_chunk, method, uri, then model and provider (written in place
# once the request is routed), then the key name; text fields fixed-width UTF-8, NUL padded.
SLOT_START, ROUTE_FIELDS, SLOT_END = "<qqdd8s160s", "160s64s", "160s"
SLOT = struct.Struct(SLOT_START + ROUTE_FIELDS + SLOT_END)
HEADER = struct.Struct("<q")  # the last id handed out
LAST_CHUNK_OFFSET = 24
ROUTE = struct.Struct("<" + ROUTE_FIELDS)
ROUTE_OFFSET = struct.calcsize(SLOT_START)


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

    def __init__(self, registry, request_id: int, offset: int | None = None):
        self._registry = registry
        self.id = request_id
        self.offset = offset  # where the slot lives in the shared-memory table (InflightRegistry)

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
        now, pid = time.time(), current_pid()
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
                return InflightSlot(self, request_id, offset)
            return None

    def _holds(self, slot: InflightSlot):
        """The shared memory while `slot` is still this request's (not released nor reclaimed), else None."""
        memory = self._file.memory
        return memory if struct.unpack_from("<q", memory, slot.offset)[0] == slot.id else None

    def update(self, slot: InflightSlot, *, provider: str, model: str) -> None:
        if (memory := self._holds(slot)) is not None:
            ROUTE.pack_into(memory, slot.offset + ROUTE_OFFSET, _text(model, 160), _text(provider, 64))

    def touch(self, slot: InflightSlot) -> None:
        struct.pack_into("<d", self._file.memory, slot.offset + LAST_CHUNK_OFFSET, time.time())

    def release(self, slot: InflightSlot) -> None:
        if (memory := self._holds(slot)) is not None:
            struct.pack_into("<q", memory, slot.offset, 0)

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


# KEYS: id counter, live set. ARGV: hash key prefix, lease end, lease secs, started, method, uri, key name.
REGISTER_SCRIPT = """
local id = redis.call('INCR', KEYS[1])
local key = ARGV[1] .. id
redis.call('HSET', key, 'started', ARGV[4], 'method', ARGV[5], 'uri', ARGV[6], 'api_key_name', ARGV[7])
redis.call('EXPIRE', key, ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], id)
return id
"""
# KEYS: live set. ARGV: hash key prefix, lease end, lease secs, then (id, last chunk, provider, model) each.
HEARTBEAT_SCRIPT = """
for i = 4, #ARGV, 4 do
  local key = ARGV[1] .. ARGV[i]
  if redis.call('EXPIRE', key, ARGV[3]) == 1 then  -- a request released meanwhile stays released
    redis.call('HSET', key, 'last_chunk', ARGV[i + 1], 'provider', ARGV[i + 2], 'model', ARGV[i + 3])
    redis.call('ZADD', KEYS[1], ARGV[2], ARGV[i])
  end
end
return 0
"""


@dataclass
class _LocalRequest:
    """What the heartbeat publishes about one of this worker's requests."""

    last_chunk: float = 0.0  # unix time; 0: no chunk yet
    provider: str = ""
    model: str = ""


class RedisInflightRegistry:
    """The in-flight view of every instance: a Redis hash per request, listed in a sorted set
    scored by lease end.

    A request costs two round trips: registering (a script draws the id and writes the hash)
    and releasing. Routing and chunks are memory writes in this worker; a heartbeat greenlet
    per worker publishes them and renews the leases every HEARTBEAT_SECS, so the view lags by
    at most that, and the requests of a worker or instance that died drop out within LEASE_SECS.
    """

    HEARTBEAT_SECS = 0.5
    LEASE_SECS = 5

    def __init__(self, client):
        self._redis = client
        self._ids_key = f"{KEY_PREFIX}inflight:ids"
        self._live_key = f"{KEY_PREFIX}inflight:live"
        self._request_prefix = f"{KEY_PREFIX}inflight:request:"
        self._register = client.register_script(REGISTER_SCRIPT)
        self._renew = client.register_script(HEARTBEAT_SCRIPT)
        self._mine = {}  # id -> _LocalRequest, this worker's registered requests
        self._outage = OutageLog("the in-flight view")
        self._heartbeat = None

    def register(self, method: str, uri: str, api_key_name: str | None) -> InflightSlot | None:
        """None when Redis is down: the request is served, just not listed."""
        now = time.time()
        try:
            request_id = self._register(keys=[self._ids_key, self._live_key], args=[
                self._request_prefix, now + self.LEASE_SECS, self.LEASE_SECS, now, method, uri, api_key_name or ""])
        except redis_errors() as exc:
            self._outage.failed(exc)
            return None
        self._outage.succeeded()
        self._mine[request_id] = _LocalRequest()
        if self._heartbeat is None:
            self._heartbeat = gevent.spawn(self._beat_forever)  # started lazily: never in gunicorn's master
        return InflightSlot(self, request_id)

    def update(self, slot: InflightSlot, *, provider: str, model: str) -> None:
        local = self._mine.get(slot.id)
        if local is not None:
            local.provider, local.model = provider, model

    def touch(self, slot: InflightSlot) -> None:
        local = self._mine.get(slot.id)
        if local is not None:
            local.last_chunk = time.time()

    def release(self, slot: InflightSlot) -> None:
        if self._mine.pop(slot.id, None) is None:
            return
        try:
            self._redis.pipeline(transaction=False).delete(self._request_prefix + str(slot.id)) \
                .zrem(self._live_key, slot.id).execute()
        except redis_errors() as exc:
            self._outage.failed(exc)  # the entry drops out when its lease ends

    def publish(self) -> None:
        """One heartbeat: this worker's requests' routes and last chunks, and their leases renewed."""
        if not self._mine:
            return
        fields = [value for request_id, local in list(self._mine.items())
                  for value in (request_id, local.last_chunk, local.provider, local.model)]
        try:
            self._renew(keys=[self._live_key],
                        args=[self._request_prefix, time.time() + self.LEASE_SECS, self.LEASE_SECS, *fields])
        except redis_errors() as exc:
            self._outage.failed(exc)

    def _beat_forever(self) -> None:
        while True:
            gevent.sleep(self.HEARTBEAT_SECS)
            self.publish()

    def snapshot(self) -> list[InflightRequest]:
        now = time.time()
        try:
            ids = self._redis.pipeline(transaction=False).zremrangebyscore(self._live_key, "-inf", now) \
                .zrange(self._live_key, 0, -1).execute()[1]
            fields = self._redis.pipeline(transaction=False)
            for request_id in ids:
                fields.hgetall(self._request_prefix + request_id.decode())
            rows = fields.execute()
        except redis_errors() as exc:
            self._outage.failed(exc)
            raise ServiceUnavailable("Redis (storage.redis_url) is not reachable: the in-flight view is "
                                     "unavailable") from None
        requests = []
        for request_id, row in zip(ids, rows):
            if not row:
                continue  # released between the two reads
            row = {name.decode(): value.decode(errors="replace") for name, value in row.items()}
            last_chunk = float(row.get("last_chunk", 0))
            requests.append(InflightRequest(
                id=int(request_id), method=row["method"], uri=row["uri"],
                # max(): instances' clocks may differ by a little
                elapsed_secs=max(0, int(now - float(row["started"]))),
                idle_secs=max(0, int(now - last_chunk)) if last_chunk else 0,
                model=row.get("model") or None, provider=row.get("provider") or None,
                api_key_name=row["api_key_name"] or None))
        return sorted(requests, key=lambda r: r.id)
