"""A paced SSE upstream: nginx cannot wait between chunks, so the streaming arms use this.

    python bench/paced_sse.py PORT

`POST /pace/{first_ms}/{interval_ms}/{chunks}/v1/chat/completions` answers an OpenAI chat
completion stream, `…/v1/messages` an Anthropic message stream (bench/wire.py): the first
chunk after `first_ms`, then one chunk every `interval_ms`; under `/pace/…/{chunks}/stamped/v1/…`
the first token also carries the time it was sent (`wire.stamped`). `GET /open` answers how many streams are being served now. Plain gevent
sockets and hand-written HTTP/1.1 (keep-alive, chunked) keep the mock's own cost small and
identical for every arm; thousands of idle streams cost it little.
"""
from gevent import monkey

monkey.patch_all()

import functools  # noqa: E402 - after monkey-patching, as gevent requires
import re  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402
from gevent.server import StreamServer  # noqa: E402

import wire  # noqa: E402

FORMATS = {surface.upstream_path.encode(): surface.name for surface in wire.SURFACES.values()}  # chat path → format
PATH = re.compile(rb"^POST /pace/(\d+)/(\d+)/(\d+)(/stamped)?(" + b"|".join(map(re.escape, FORMATS)) +
                  rb")(?:\?\S*)? HTTP/1\.1$")
HEADERS = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n")
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
open_streams = 0  # streams being served now: `GET /open` tells the benchmark how many a gateway holds


def framed(event: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(event), event)


@functools.cache
def canned(wire_format: str, chunks: int) -> list[bytes]:
    """The writes of a stream of `chunks` in `wire_format`, built once per format and length."""
    _, streamed = wire.ANSWERS[wire_format]
    return streamed(chunks)


@functools.cache
def events(wire_format: str, chunks: int) -> list[bytes]:
    return [framed(event) for event in canned(wire_format, chunks)]


def read_request(reader) -> tuple[bytes, bool] | None:
    """(request line, keep-alive) after consuming headers and body; None when the client left."""
    line = reader.readline().rstrip(b"\r\n")
    if not line:
        return None
    length, keep_alive = 0, True
    while True:
        header = reader.readline()
        if header in (b"\r\n", b"\n", b""):
            break
        name, _, value = header.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection":
            keep_alive = value != b"close"
    reader.read(length)
    return line, keep_alive


def stream(sock, wire_format: str, first_ms: int, interval_ms: int, chunks: int, stamped: bool) -> None:
    global open_streams
    started = time.monotonic()
    open_streams += 1
    try:
        sock.sendall(HEADERS)
        for index, event in enumerate(events(wire_format, chunks)):
            due = started + (first_ms + index * interval_ms) / 1000
            gevent.sleep(max(0.0, due - time.monotonic()))
            if stamped and index == 0:
                event = framed(wire.stamped(canned(wire_format, chunks)[0], time.time()))
            sock.sendall(event)
        sock.sendall(b"0\r\n\r\n")
    finally:
        open_streams -= 1


def answer_open(sock) -> None:
    body = b"%d" % open_streams
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))


def handle(sock, _address) -> None:
    # Each event must leave at once: with Nagle, a small write waits for the peer's delayed ACK.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    reader = sock.makefile("rb")
    try:
        while True:
            request = read_request(reader)
            if request is None:
                return
            line, keep_alive = request
            match = PATH.match(line)
            if match:
                first_ms, interval_ms, chunks, stamped, path = match.groups()
                stream(sock, FORMATS[path], int(first_ms), int(interval_ms), int(chunks), stamped is not None)
            elif line.startswith(b"GET /open "):
                answer_open(sock)
            else:
                sock.sendall(NOT_FOUND)
            if not keep_alive:
                return
    except OSError:
        return  # the client went away mid-stream: normal under load
    finally:
        reader.close()
        sock.close()


if __name__ == "__main__":
    StreamServer(("127.0.0.1", int(sys.argv[1])), handle, backlog=4096).serve_forever()
