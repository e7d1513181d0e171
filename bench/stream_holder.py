"""Holds many streams open at once and times each one's first chunk against the upstream's.

    python bench/stream_holder.py URL SURFACE MODEL STREAMS HEADERS_JSON

Opens STREAMS connections at once, sends one streamed request on each (body of SURFACE from
bench/wire.py, the headers given: the surface's and the arm's) and reads them until SIGINT or SIGTERM, then prints one JSON line.
The stamped paced upstream writes into each stream's first token when it sent it
(`wire.STAMP`), so the *first-byte delay* of a stream is from then until that token is read
here: what the arm in between added to the first chunk, whatever the ramp cost before the
upstream saw the request. wrk cannot time chunks, hence this small gevent client.
"""
from gevent import monkey

monkey.patch_all()

import json  # noqa: E402 - after monkey-patching, as gevent requires
import signal  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

import gevent  # noqa: E402
import gevent.event  # noqa: E402

import wire  # noqa: E402

FIRST_CHUNK_LIMIT = 1 << 20  # bytes read while looking for the stamp before a stream counts as broken


@dataclass
class Held:
    """What the streams did so far."""

    first_byte_delays_s: list = field(default_factory=list)  # one per stream whose stamped token arrived
    errors: int = 0  # connect failures, non-200 answers, streams that broke or ended while held


def request_bytes(url: str, surface: wire.Surface, model: str, headers: dict) -> bytes:
    parts = urlsplit(url)
    body = surface.body(model, True)
    headers = {**headers, "Host": parts.netloc, "Content-Length": str(len(body))}
    head = f"POST {parts.path} HTTP/1.1\r\n" + "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return head.encode() + b"\r\n" + body


def hold(address: tuple, request: bytes, held: Held) -> None:
    try:
        sock = socket.create_connection(address)
    except OSError:
        held.errors += 1
        return
    try:
        sock.sendall(request)
        received = b""
        while (match := wire.STAMP.search(received)) is None:
            chunk = sock.recv(65536)
            if not chunk or len(received) > FIRST_CHUNK_LIMIT or (
                    received.startswith(b"HTTP/") and not received.startswith(b"HTTP/1.1 200")):
                held.errors += 1
                return
            received += chunk
        held.first_byte_delays_s.append(time.time() - float(match.group(1)))
        while sock.recv(65536):
            pass
        held.errors += 1  # the stream ended while it should have been held
    except OSError:
        held.errors += 1
    finally:
        sock.close()


def summary(held: Held, streams: int) -> dict:
    delays = sorted(held.first_byte_delays_s)
    return {"errors": held.errors,
            "first_byte_p50_ms": delays[len(delays) // 2] * 1000 if delays else None,
            "first_byte_max_ms": delays[-1] * 1000 if delays else None,
            # "every stream's first byte within 1 s of the upstream's": those that missed it, or never got one
            "first_byte_late": sum(delay > 1.0 for delay in delays) + streams - len(delays)}


def main() -> None:
    url, surface, model, streams = sys.argv[1], wire.SURFACES[sys.argv[2]], sys.argv[3], int(sys.argv[4])
    headers = json.loads(sys.argv[5])  # the surface's and the arm's
    parts = urlsplit(url)
    request, held, stop = request_bytes(url, surface, model, headers), Held(), gevent.event.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        gevent.signal_handler(signum, stop.set)
    greenlets = [gevent.spawn(hold, (parts.hostname, parts.port), request, held) for _ in range(streams)]
    stop.wait()
    print(json.dumps(summary(held, streams)), flush=True)
    gevent.killall(greenlets, block=False)  # the sockets close as the process exits


if __name__ == "__main__":
    main()
