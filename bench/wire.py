"""Bytes on the wire: the canned upstream answers and the client request of each surface.

Every streamed content piece is a numbered token (`tok00 `, `tok01 `, ...) so a client can
time the arrival of each upstream chunk even after Cortex translated the stream into the
Anthropic format (the text survives translation; the framing does not).
"""
import json
import re
from dataclasses import dataclass, field

API_KEY = "sk-bench-0123456789"
MODEL = "gpt-4o-mini"
TOKEN = re.compile(rb"tok(\d\d) ")
STAMP = re.compile(rb"tok00 sent=(\d+\.\d+) ")  # when the upstream sent a stamped stream's first token
PROMPT = [{"role": "user", "content": "What is the capital of France? Answer in one sentence."}]


def token(index: int) -> str:
    return f"tok{index:02d} "


def completion() -> bytes:
    """A realistic non-streamed OpenAI chat.completion."""
    return json.dumps({
        "id": "chatcmpl-bench", "object": "chat.completion", "created": 1700000000, "model": MODEL,
        "system_fingerprint": "fp_bench",
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                     "message": {"role": "assistant", "content": "The capital of France is Paris.",
                                 "refusal": None}}],
        "usage": {"prompt_tokens": 17, "completion_tokens": 8, "total_tokens": 25},
    }, separators=(",", ":")).encode()


def _chunk(delta: dict, finish_reason=None, usage=None) -> bytes:
    chunk = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000, "model": MODEL,
             "system_fingerprint": "fp_bench",
             "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]}
    if usage:
        chunk["usage"] = usage
    return b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"


def stamped(first_event: bytes, sent: float) -> bytes:
    """The first event of `stream_events` with its send time (unix seconds) in the first token."""
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


@dataclass(frozen=True)
class Surface:
    """A client API: where a gateway serves it, its headers, and its request body."""

    name: str
    headers: dict = field(default_factory=dict)

    def body(self, model: str, stream: bool) -> bytes:
        request = {"model": model, "messages": PROMPT, "max_tokens": 64, "stream": stream}
        return json.dumps(request, separators=(",", ":")).encode()

    def all_headers(self) -> dict:
        return {"Content-Type": "application/json", "Authorization": f"Bearer {API_KEY}", **self.headers}


OPENAI = Surface("openai")
# Anthropic client → OpenAI-type provider: the gateway translates both ways.
ANTHROPIC = Surface("anthropic", {"x-api-key": API_KEY, "anthropic-version": "2023-06-01"})
SURFACES = {s.name: s for s in (OPENAI, ANTHROPIC)}
