"""Bytes on the wire: the canned upstream answers of each format and the client request of each surface.

Every streamed content piece is a numbered token (`tok00 `, `tok01 `, ...) so a client can
time the arrival of each upstream chunk even after a gateway translated the stream into the
other format (the text survives translation; the framing does not).
"""
import json
import re
from dataclasses import dataclass, field

API_KEY = "sk-bench-0123456789"
MODEL = "gpt-4o-mini"
CLAUDE_MODEL = "claude-sonnet-4-5-20250929"
TOKEN = re.compile(rb"tok(\d\d) ")
STAMP = re.compile(rb"tok00 sent=(\d+\.\d+) ")  # when the upstream sent a stamped stream's first token
PROMPT = [{"role": "user", "content": "What is the capital of France? Answer in one sentence."}]


def token(index: int) -> str:
    return f"tok{index:02d} "


def _json(value: dict) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def completion() -> bytes:
    """A realistic non-streamed OpenAI chat.completion."""
    return _json({
        "id": "chatcmpl-bench", "object": "chat.completion", "created": 1700000000, "model": MODEL,
        "system_fingerprint": "fp_bench",
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                     "message": {"role": "assistant", "content": "The capital of France is Paris.",
                                 "refusal": None}}],
        "usage": {"prompt_tokens": 17, "completion_tokens": 8, "total_tokens": 25},
    })


def _chunk(delta: dict, finish_reason=None, usage=None) -> bytes:
    chunk = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000, "model": MODEL,
             "system_fingerprint": "fp_bench",
             "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]}
    if usage:
        chunk["usage"] = usage
    return b"data: " + _json(chunk) + b"\n\n"


def stamped(first_event: bytes, sent: float) -> bytes:
    """The first write of a stream (`stream_events`, `message_events`) with its send time (unix
    seconds) in the first token."""
    return first_event.replace(token(0).encode(), f"{token(0)}sent={sent:.6f} ".encode(), 1)


def stream_events(chunks: int) -> list[bytes]:
    """The SSE events of one streamed completion with `chunks` content pieces.

    Event 0 carries the role and the first token; the last carries the finish reason, the
    usage and `[DONE]`, so each event is one upstream write a client can time.
    """
    events = [_chunk({"role": "assistant", "content": token(0)})]
    events += [_chunk({"content": token(i)}) for i in range(1, chunks)]
    events[-1] += _chunk({}, "stop", {"prompt_tokens": 17, "completion_tokens": chunks,
                                      "total_tokens": 17 + chunks}) + b"data: [DONE]\n\n"
    return events


# Input counters as the Messages API reports them today, in `message_start` and again
# (cumulatively) in `message_delta`.
INPUT_COUNTERS = {"input_tokens": 17, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}


def _message(content: list, stop_reason, output_tokens: int) -> dict:
    usage = {**INPUT_COUNTERS, "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
             "output_tokens": output_tokens, "service_tier": "standard"}
    return {"model": CLAUDE_MODEL, "id": "msg_01BenchXFDUDYJgAACzvnptvV", "type": "message", "role": "assistant",
            "content": content, "stop_reason": stop_reason, "stop_sequence": None, "usage": usage}


def message() -> bytes:
    """A realistic non-streamed Anthropic `message` (the answer of `POST /v1/messages`)."""
    return _json(_message([{"type": "text", "text": "The capital of France is Paris."}], "end_turn", 8))


def _event(data: dict) -> bytes:
    return b"event: " + data["type"].encode() + b"\ndata: " + _json(data) + b"\n\n"


def message_events(chunks: int) -> list[bytes]:
    """The SSE events of one streamed Anthropic message with `chunks` text pieces, grouped per write.

    The first write is what the API sends up to the first text: `message_start` (usage so far),
    `content_block_start`, a `ping` and the first `text_delta`; the last adds `content_block_stop`,
    `message_delta` (stop reason, cumulative usage) and `message_stop`.
    """
    events = [_event({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": token(i)}})
              for i in range(chunks)]
    events[0] = b"".join([
        _event({"type": "message_start", "message": _message([], None, 1)}),
        _event({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        _event({"type": "ping"}),
        events[0]])
    events[-1] += b"".join([
        _event({"type": "content_block_stop", "index": 0}),
        _event({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {**INPUT_COUNTERS, "output_tokens": chunks}}),
        _event({"type": "message_stop"})])
    return events


# The response object as it opens and closes a stream, trimmed of the request's echoed settings
# (instructions, tools, text...): nginx takes a canned answer of at most 4 KB.
_RESPONSE = {"id": "resp_bench", "object": "response", "created_at": 1700000000,
             "error": None, "incomplete_details": None, "model": MODEL, "metadata": {}}
_MESSAGE_ID = "msg_bench"


def _response(status: str, text: str | None, output_tokens: int) -> dict:
    output = [] if text is None else [{"id": _MESSAGE_ID, "type": "message", "status": "completed",
                                       "role": "assistant", "content": [{"type": "output_text", "annotations": [],
                                                                         "logprobs": [], "text": text}]}]
    usage = None if text is None else {"input_tokens": 17, "input_tokens_details": {"cached_tokens": 0},
                                       "output_tokens": output_tokens, "output_tokens_details": {"reasoning_tokens": 0},
                                       "total_tokens": 17 + output_tokens}
    return {**_RESPONSE, "status": status, "output": output, "usage": usage}


def response() -> bytes:
    """A realistic non-streamed Responses API `response`."""
    return _json(_response("completed", "The capital of France is Paris.", 8))


def response_events(chunks: int) -> list[bytes]:
    """The named events of one streamed response with `chunks` text deltas, grouped per write as
    the API sends them: the first write up to the first delta, the last from the final delta on
    (`output_text.done`, `content_part.done`, `output_item.done`, `response.completed`)."""
    number = iter(range(chunks + 8))

    def event(kind: str, **fields) -> bytes:
        return _event({"type": kind, "sequence_number": next(number), **fields})

    where = {"item_id": _MESSAGE_ID, "output_index": 0, "content_index": 0}
    text = "".join(token(i) for i in range(chunks))
    part = {"type": "output_text", "annotations": [], "logprobs": [], "text": text}
    start = _response("in_progress", None, 0)
    deltas = [event("response.output_text.delta", **where, delta=token(i), logprobs=[]) for i in range(chunks)]
    deltas[0] = b"".join([
        event("response.created", response=start), event("response.in_progress", response=start),
        event("response.output_item.added", output_index=0,
              item={"id": _MESSAGE_ID, "type": "message", "status": "in_progress", "role": "assistant", "content": []}),
        event("response.content_part.added", **where, part={**part, "text": ""}), deltas[0]])
    done = _response("completed", text, chunks)
    deltas[-1] += b"".join([
        event("response.output_text.done", **where, text=text, logprobs=[]),
        event("response.content_part.done", **where, part=part),
        event("response.output_item.done", output_index=0, item=done["output"][0]),
        event("response.completed", response=done)])
    return deltas


@dataclass(frozen=True)
class Surface:
    """A wire format: the API a client speaks to a gateway, and the one a provider answers in.

    `upstream_path` is where a provider of this format serves chat under its root; a gateway is
    given `base_url(root)`, what the format's SDK takes as its base URL. The mock upstreams of
    this format are reached by the model names `mock_model(kind)`.
    """

    name: str
    upstream_path: str
    base_suffix: str
    model_prefix: str
    headers: dict = field(default_factory=dict)

    def base_url(self, root: str) -> str:
        return root + self.base_suffix

    def mock_model(self, kind: str) -> str:
        return self.model_prefix + kind

    def body(self, model: str, stream: bool) -> bytes:
        return _json({"model": model, "messages": PROMPT, "max_tokens": 64, "stream": stream})

    def all_headers(self) -> dict:
        return {"Content-Type": "application/json", "Authorization": f"Bearer {API_KEY}", **self.headers}


class ResponsesSurface(Surface):
    def body(self, model: str, stream: bool) -> bytes:
        return _json({"model": model, "input": PROMPT, "max_output_tokens": 64, "stream": stream, "store": False})


OPENAI = Surface("openai", "/v1/chat/completions", "/v1", "mock-")
ANTHROPIC = Surface("anthropic", "/v1/messages", "", "mock-anthropic-",
                    {"x-api-key": API_KEY, "anthropic-version": "2023-06-01"})
RESPONSES = ResponsesSurface("responses", "/v1/responses", "/v1", "mock-responses-")
SURFACES = {s.name: s for s in (OPENAI, ANTHROPIC, RESPONSES)}
# The canned answers of each format: non-streamed body, streamed events (per write) by chunk count.
ANSWERS = {OPENAI.name: (completion, stream_events), ANTHROPIC.name: (message, message_events),
           RESPONSES.name: (response, response_events)}
