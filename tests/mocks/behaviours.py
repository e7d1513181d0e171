"""What the mock does with one request. Each behaviour writes its response through an ``Exchange``.

Scripted with ``MockUpstream.script(path, *behaviours)``; the default routes build the same
classes (``Reply`` / ``Stream`` / ``Fail``) from the request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from http.client import responses as status_phrases
from typing import TYPE_CHECKING

from . import anthropic_wire, gemini_wire, openai_wire

if TYPE_CHECKING:
    from .server import Exchange


def to_json(body: object) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def encode_sse(event: object) -> bytes:
    """One SSE event: a dict is a data-only event (OpenAI), an (event name, dict) pair a named
    event (Anthropic), and a str is written verbatim (to send deliberately broken events)."""
    if isinstance(event, str):
        return event.encode()
    if isinstance(event, tuple):
        name, data = event
        return b"event: " + name.encode() + b"\ndata: " + to_json(data) + b"\n\n"
    return b"data: " + to_json(event) + b"\n\n"


class Behaviour:
    def respond(self, exchange: Exchange) -> None:
        raise NotImplementedError


@dataclass
class Reply(Behaviour):
    """A complete response, after ``delay`` seconds. dict/list bodies are sent as JSON, str as
    text/plain, bytes as-is."""

    body: object
    status: int = 200
    headers: dict[str, str] | None = None
    delay: float = 0.0

    def respond(self, exchange: Exchange) -> None:
        if not exchange.wait(self.delay):
            return
        if isinstance(self.body, bytes):
            payload, content_type = self.body, "application/octet-stream"
        elif isinstance(self.body, str):
            payload, content_type = self.body.encode(), "text/plain; charset=utf-8"
        else:
            payload, content_type = to_json(self.body), "application/json"
        exchange.send(self.status, payload, {"Content-Type": content_type, **(self.headers or {})})


def _send_events(exchange: Exchange, events: list, first_delay: float, delay: float) -> bool:
    """Write events with their pauses; False as soon as the client is gone."""
    for index, event in enumerate(events):
        if not exchange.wait(first_delay if index == 0 else delay):
            return False
        if not exchange.send_chunk(encode_sse(event)):
            return False
    return True


@dataclass
class Stream(Behaviour):
    """A 200 SSE response, each event flushed as its own chunk.

    ``first_delay`` is the pause before the first event, ``delay`` the pause between events.
    On OpenAI paths ``done`` ends the stream with ``data: [DONE]``; Anthropic streams end with
    their own message_stop event.
    """

    events: list
    delay: float = 0.0
    first_delay: float = 0.0
    done: bool = True

    def respond(self, exchange: Exchange) -> None:
        exchange.start_stream()
        if not _send_events(exchange, self.events, self.first_delay, self.delay):
            return
        if self.done and exchange.request.flavour == "openai" and not exchange.send_chunk(b"data: [DONE]\n\n"):
            return
        exchange.end_stream()


@dataclass
class ResetMidStream(Behaviour):
    """Start an SSE response, send the first ``after`` events, then reset the connection."""

    events: list
    after: int = 1
    delay: float = 0.0

    def respond(self, exchange: Exchange) -> None:
        exchange.start_stream()
        if _send_events(exchange, self.events[: self.after], 0.0, self.delay):
            exchange.reset()


@dataclass
class Fail(Behaviour):
    """An error response in the envelope of the path's API (OpenAI or Anthropic); ``param`` is
    OpenAI's field naming the parameter at fault."""

    status: int
    message: str | None = None
    error_type: str | None = None
    headers: dict[str, str] | None = None
    param: str | None = None

    def respond(self, exchange: Exchange) -> None:
        message = self.message or f"mock upstream error: {self.status} {status_phrases.get(self.status, 'Error')}"
        if exchange.request.flavour == "gemini":
            body = gemini_wire.error_body(self.status, message)
        elif exchange.request.flavour == "anthropic":
            body = anthropic_wire.error_body(self.status, message, self.error_type)
        else:
            body = openai_wire.error_body(self.status, message, self.error_type, self.param)
        Reply(body, self.status, self.headers).respond(exchange)


@dataclass
class ResetConnection(Behaviour):
    """Reset the connection (TCP RST) without sending a byte of response."""

    def respond(self, exchange: Exchange) -> None:
        exchange.reset()


@dataclass
class Stall(Behaviour):
    """Read the request and never answer: hold the connection ``seconds`` (or until the client
    leaves or the mock stops), then close it without a response."""

    seconds: float = 3600

    def respond(self, exchange: Exchange) -> None:
        exchange.wait(self.seconds)
        exchange.hang_up()


@dataclass
class Malformed(Behaviour):
    """A truncated JSON body labelled application/json."""

    status: int = 200

    def respond(self, exchange: Exchange) -> None:
        exchange.send(self.status, b'{"id": "mock-malformed", "choices": [', {"Content-Type": "application/json"})
