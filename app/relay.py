"""Stream relays: upstream SSE events in, client SSE bytes out, usage captured on the way.

A same-format relay passes events through and parses only what it must (usage, the model
name to echo, the end marker); any other pair is one `TranslatingRelay`, which reads the
provider's events, drives the hub's stream translators (`app.translate`) and frames what
they give in the client's format. All are I/O-free: the service feeds them.
"""
import orjson

from app.errors import CortexError, UpstreamError
from app.translate import AnthropicUsageCounter, Usage, stream_translation, usage_from_gemini, usage_from_openai
from app.translate.openai_responses.response import usage_from_responses

DONE = b"[DONE]"
# Anthropic events the pass-through forwards as they are, recognised without parsing.
UNREAD_ANTHROPIC_EVENTS = tuple(b"event: %s\n" % name for name in (b"content_block_delta", b"content_block_start",
                                                                   b"content_block_stop", b"ping"))

# Responses events that carry the response object (its model name, at the end its usage) or an error:
# the pass-through parses these and forwards every other named event as it is.
READ_RESPONSES_EVENTS = tuple(b"event: %s" % name for name in (
    b"response.created", b"response.in_progress", b"response.queued", b"response.completed",
    b"response.incomplete", b"response.failed", b"error"))
RESPONSES_ENDS = frozenset({"response.completed", "response.incomplete"})


def parse_event(raw: bytes) -> tuple[str, bytes]:
    """(event name, data) of one SSE event block; comments and unknown fields ignored."""
    # The shapes providers send, without splitting: `data: …` (OpenAI), `event: …\ndata: …` (Anthropic).
    if raw.startswith(b"data: ") and b"\n" not in raw:
        return "", raw[6:]
    if raw.startswith(b"event: "):
        head, _, rest = raw.partition(b"\n")
        if rest.startswith(b"data: ") and b"\n" not in rest:
            return head[7:].strip().decode(), rest[6:]
    name, data = "", []
    for line in raw.split(b"\n"):
        if line.startswith(b"data:"):
            data.append(line[5:].lstrip(b" ") if len(line) > 5 else b"")
        elif line.startswith(b"event:"):
            name = line[6:].strip().decode()
    return name, b"\n".join(data)


def openai_event(payload: dict) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def anthropic_event(name: str, payload: dict) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


def openai_error_event(error: CortexError) -> bytes:
    return openai_event(error.openai_body())


def anthropic_error_event(error: CortexError) -> bytes:
    return anthropic_event("error", error.anthropic_body())


def gemini_error_event(error: CortexError) -> bytes:
    return openai_event(error.gemini_body())  # Gemini frames its chunks as OpenAI does: `data:` lines


def _truncated() -> UpstreamError:
    return UpstreamError("The provider's stream ended before the response was complete", retryable=False,
                         code="upstream_stream_truncated")


def _upstream_error_event(message: str) -> UpstreamError:
    return UpstreamError(f"Provider error during the stream: {message}", code="upstream_stream_error")


def _error_raised(data: bytes) -> dict:
    """One upstream chunk; an `{"error": …}` chunk (how OpenAI and Gemini report mid-stream failures) raises."""
    chunk = orjson.loads(data)
    if "error" in chunk:
        error = chunk["error"]
        raise _upstream_error_event(error.get("message", str(error)) if isinstance(error, dict) else str(error))
    return chunk


def _openai_finish_reason(chunk: dict) -> str | None:
    for choice in chunk.get("choices") or ():
        if choice.get("finish_reason"):
            return choice["finish_reason"]
    return None


def _anthropic_stop_reason(event: dict) -> str | None:
    return (event.get("delta") or {}).get("stop_reason") if event.get("type") == "message_delta" else None


def _gemini_finish_reason(chunk: dict) -> str | None:
    for candidate in chunk.get("candidates") or ():
        if candidate.get("finishReason"):
            return candidate["finishReason"]
    return None


def _responses_status(event: dict) -> str | None:
    """How a Responses stream ended: `completed`, or the reason it is `incomplete`."""
    if event.get("type") not in RESPONSES_ENDS:
        return None
    response = event.get("response") or {}
    return (response.get("incomplete_details") or {}).get("reason") or response.get("status")


class Relay:
    client_format = "openai"

    def __init__(self, requested_model: str, include_usage: bool):
        self.requested_model = requested_model
        self.include_usage = include_usage
        self.usage = Usage()
        self.complete = False
        self.finish_reason = None  # as the client's format names it, once the stream said it (for traces)

    def feed(self, raw: bytes) -> bytes:
        raise NotImplementedError

    def finish(self) -> bytes:
        raise NotImplementedError

    def error_event(self, error: CortexError) -> bytes:
        return ERROR_EVENTS[self.client_format](error)


class OpenAIEvents:
    """Reads an OpenAI-type provider's stream: `data:` chunks, then `[DONE]`.

    A stream that ends after a finish_reason but without `[DONE]` is complete (some
    providers omit it); one that ends before either was cut short.
    """

    def __init__(self):
        self.complete = False
        self._finished = False  # a finish_reason was seen

    def read(self, raw: bytes) -> dict | None:
        _, data = parse_event(raw)
        if not data:
            return None
        if data == DONE:
            self.complete = True
            return None
        chunk = _error_raised(data)
        self._finished = self._finished or _openai_finish_reason(chunk) is not None
        return chunk

    def require_complete(self):
        if not (self.complete or self._finished):
            raise _truncated()


class StreamEvents:
    """Reads one provider format's stream events; `complete` once the stream said it ended."""

    def __init__(self):
        self.complete = False

    def require_complete(self):
        if not self.complete:
            raise _truncated()


class AnthropicEvents(StreamEvents):
    """Reads an Anthropic-type provider's stream: complete at `message_stop`; `error` events raise."""

    def read(self, raw: bytes) -> dict | None:
        name, data = parse_event(raw)
        if not data:
            return None
        event = orjson.loads(data)
        kind = event.get("type")
        if name == "error" or kind == "error":
            error = event.get("error", {})
            raise _upstream_error_event(error.get("message", "unknown error"))
        if kind == "message_stop":
            self.complete = True
        return event


class GeminiEvents(StreamEvents):
    """Reads a Gemini-type provider's stream (`alt=sse`): complete once a chunk gives a finishReason
    (or the prompt was blocked); `{"error": …}` chunks raise."""

    def read(self, raw: bytes) -> dict | None:
        _, data = parse_event(raw)
        if not data:
            return None
        chunk = _error_raised(data)
        if _gemini_finish_reason(chunk) is not None \
                or (not chunk.get("candidates") and (chunk.get("promptFeedback") or {}).get("blockReason")):
            self.complete = True
        return chunk


class ResponsesEvents(StreamEvents):
    """Reads a Responses stream: complete at `response.completed`/`.incomplete`; `error` and
    `response.failed` raise."""

    def read(self, raw: bytes) -> dict | None:
        name, data = parse_event(raw)
        if not data:
            return None
        event = orjson.loads(data)
        kind = event.get("type") or name
        if kind == "error":
            raise _upstream_error_event(event.get("message") or str(event.get("error") or "unknown error"))
        if kind == "response.failed":
            error = (event.get("response") or {}).get("error") or {}
            raise _upstream_error_event(error.get("message") or "the response failed")
        if kind in RESPONSES_ENDS:
            self.complete = True
        return event


class OpenAIPassthrough(Relay):
    """OpenAI client, OpenAI-type provider: most chunks are forwarded without being parsed.

    The first chunk is parsed and tells how the upstream writes its `"model":"…"` field. After
    that, a one-line chunk with that field and none of the parts Cortex reads (an error, usage,
    a finish_reason) only gets the client's model name spliced in (its JSON is not checked
    beyond its braces: it goes to the client as the provider wrote it). A JSON serializer writes
    every key alike, so an upstream whose model field is compact writes `"usage":{` compactly
    too; one that writes `"model": "…"` has every chunk parsed.
    """

    def __init__(self, requested_model, include_usage):
        super().__init__(requested_model, include_usage)
        self._events = OpenAIEvents()
        self._client_model = b'"model":' + orjson.dumps(requested_model)
        self._upstream_model = None  # the upstream's model field, byte for byte, once seen

    def feed(self, raw):
        if self._upstream_model and raw.startswith(b"data: {") and raw.endswith(b"}") and b"\n" not in raw \
                and b'"error"' not in raw and b'"usage":{' not in raw and b'"finish_reason":"' not in raw:
            head, found, tail = raw.partition(self._upstream_model)
            if found:
                return b"".join((head, self._client_model, tail, b"\n\n"))
        chunk = self._events.read(raw)
        return b"" if chunk is None else self.forward(chunk)

    def forward(self, chunk):
        if self._upstream_model is None and isinstance(chunk.get("model"), str):
            self._upstream_model = b'"model":' + orjson.dumps(chunk["model"])
        self.finish_reason = _openai_finish_reason(chunk) or self.finish_reason  # parsed: never the fast path
        if chunk.get("usage"):
            self.usage = usage_from_openai(chunk["usage"])
            if not chunk.get("choices") and not self.include_usage:
                return b""  # Cortex asked for this chunk; the client did not
        chunk["model"] = self.requested_model
        return openai_event(chunk)

    def finish(self):
        self._events.require_complete()
        return b"data: [DONE]\n\n"


class AnthropicPassthrough(Relay):
    """Anthropic client, Anthropic-type provider: events forwarded as they come."""

    client_format = "anthropic"

    def __init__(self, requested_model, include_usage):
        super().__init__(requested_model, include_usage)
        self._counter = AnthropicUsageCounter()

    def feed(self, raw):
        if raw.startswith(UNREAD_ANTHROPIC_EVENTS):
            return raw + b"\n\n"
        name, data = parse_event(raw)
        if name in ("message_start", "message_delta"):
            event = orjson.loads(data)
            if name == "message_start":
                message = event.get("message", {})
                message["model"] = self.requested_model
                self.usage = self._counter.update(message.get("usage"))
            else:
                self.usage = self._counter.update(event.get("usage"))
                self.finish_reason = _anthropic_stop_reason(event) or self.finish_reason
            return anthropic_event(name, event)
        if name == "message_stop":
            self.complete = True
        elif name == "error":
            error = orjson.loads(data).get("error", {})
            raise _upstream_error_event(error.get("message", "unknown error"))
        return raw + b"\n\n"

    def finish(self):
        if not self.complete:
            raise _truncated()
        return b""


class GeminiPassthrough(Relay):
    """Gemini client, Gemini-type provider: chunks forwarded as they come, usage read from each
    (Gemini repeats the cumulative usageMetadata on every chunk)."""

    client_format = "gemini"

    def __init__(self, requested_model, include_usage):
        super().__init__(requested_model, include_usage)
        self._events = GeminiEvents()

    def feed(self, raw):
        chunk = self._events.read(raw)
        if chunk is None:
            return b""
        if chunk.get("usageMetadata"):
            self.usage = usage_from_gemini(chunk["usageMetadata"])
        self.finish_reason = _gemini_finish_reason(chunk) or self.finish_reason
        return raw + b"\n\n"

    def finish(self):
        self._events.require_complete()
        return b""


class ResponsesPassthrough(Relay):
    """Responses client, Responses provider: events forwarded as they come, but those that carry
    the response object, which get the client's model name (and give the usage)."""

    client_format = "responses"

    def __init__(self, requested_model, include_usage):
        super().__init__(requested_model, include_usage)
        self._events = ResponsesEvents()

    def feed(self, raw):
        if raw.startswith(b"event: ") and not raw.startswith(READ_RESPONSES_EVENTS):
            return raw + b"\n\n"
        event = self._events.read(raw)
        if event is None:
            return b""
        response = event.get("response")
        if isinstance(response, dict):
            response["model"] = self.requested_model
            if response.get("usage"):
                self.usage = usage_from_responses(response["usage"])
            self.finish_reason = _responses_status(event) or self.finish_reason
        return _named_frame(event)

    def finish(self):
        self._events.require_complete()
        return b""


class TranslatingRelay(Relay):
    """A client of one format, a provider of another: events translated through the hub."""

    def __init__(self, upstream_format: str, client_format: str, requested_model: str, include_usage: bool,
                 request: dict | None = None):
        super().__init__(requested_model, include_usage)
        self.client_format = client_format
        self._events = EVENT_READERS[upstream_format]()
        self._translation = stream_translation(upstream_format, client_format, model=requested_model,
                                               include_usage=include_usage, request=request)
        self._frame = FRAMES[client_format]
        self._finish_reason_of = FINISH_REASONS[client_format]

    def feed(self, raw):
        event = self._events.read(raw)
        if event is None:
            return b""
        out = self._translation.feed(event)
        self.usage = self._translation.usage
        self._note_finish_reason(out)
        return b"".join([self._frame(item) for item in out])

    def _note_finish_reason(self, out: list) -> None:
        for item in out:
            reason = self._finish_reason_of(item)
            if reason:
                self.finish_reason = reason

    def finish(self):
        self._events.require_complete()
        out = self._translation.finish()
        self.usage = self._translation.usage
        self._note_finish_reason(out)
        return b"".join([self._frame(item) for item in out]) + STREAM_ENDS[self.client_format]

    def error_event(self, error: CortexError) -> bytes:
        if self.client_format == "responses":  # numbered after the events already sent
            return responses_error_event(error, self._translation.client_stream.sequence_number)
        return super().error_event(error)


def _named_frame(event: dict) -> bytes:
    """`event: <type>` and the data: the Anthropic and Responses streams alike."""
    return anthropic_event(event["type"], event)


def responses_error_event(error: CortexError, sequence_number: int = 0) -> bytes:
    body = error.openai_body()["error"]
    return anthropic_event("error", {"type": "error", "code": body["code"], "message": body["message"],
                                     "param": body["param"], "sequence_number": sequence_number})


EVENT_READERS = {"openai": OpenAIEvents, "anthropic": AnthropicEvents, "gemini": GeminiEvents,
                 "responses": ResponsesEvents}
FRAMES = {"openai": openai_event, "anthropic": _named_frame, "gemini": openai_event, "responses": _named_frame}
STREAM_ENDS = {"openai": b"data: [DONE]\n\n", "anthropic": b"", "gemini": b"", "responses": b""}
ERROR_EVENTS = {"openai": openai_error_event, "anthropic": anthropic_error_event, "gemini": gemini_error_event,
                "responses": responses_error_event}
FINISH_REASONS = {"openai": _openai_finish_reason, "anthropic": _anthropic_stop_reason, "gemini": _gemini_finish_reason,
                  "responses": _responses_status}
PASSTHROUGH_RELAYS = {"openai": OpenAIPassthrough, "anthropic": AnthropicPassthrough, "gemini": GeminiPassthrough,
                      "responses": ResponsesPassthrough}


def open_relay(client_format: str, upstream_format: str, requested_model: str, include_usage: bool,
               request: dict | None = None) -> Relay:
    """`request`: the client's body, for client formats whose events repeat it (Responses)."""
    if client_format == upstream_format:
        return PASSTHROUGH_RELAYS[client_format](requested_model, include_usage)
    return TranslatingRelay(upstream_format, client_format, requested_model, include_usage, request)
