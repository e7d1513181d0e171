"""Streams: ``chat.completion.chunk`` dicts <-> hub events (Anthropic's SSE event data dicts).

Hub -> Chat Completions (``StreamFromHub``)
    The first chunk carries ``delta.role``. Tool calls are numbered 0, 1, 2... across the
    message (OpenAI counts tool calls, Anthropic counts all content blocks), so every
    streamed call is converted, not only the first. Thinking goes out as
    ``delta.reasoning_content`` and as ``delta.reasoning_details`` pieces with the block's
    index; the block's signature follows as a last piece, a ``redacted_thinking`` block as
    one ``reasoning.encrypted`` piece (see ``reasoning``). ``citations_delta``, ``ping``,
    ``content_block_stop`` and server tool blocks produce nothing. With ``include_usage``
    every chunk has ``"usage": null`` and one final chunk with ``choices: []`` carries the
    usage, sent at ``message_stop`` or else from ``finish()``.

Chat Completions -> hub (``StreamToHub``)
    ``message_start`` goes out with the first chunk, its usage zero (OpenAI reports usage
    only at the end; the final ``message_delta`` carries it all, cache reads included).
    Reasoning (``reasoning_content`` or ``reasoning``), text (or ``refusal``) and each tool
    call get their own content block, opened with ``content_block_start`` before their
    first delta and closed when another kind starts, so blocks never overlap.
    ``finish_reason`` is held back until ``finish()`` because the usage chunk
    (``choices: []``) follows it. Only choice 0 is read. A fragment for a tool call whose
    block was already closed (providers do not interleave calls in practice) is sent as a
    late delta on that call's block index rather than lost.
"""
import time

from ..mappings import (
    anthropic_error_from_openai,
    anthropic_message_id,
    anthropic_stop_reason,
    new_tool_use_id,
    openai_completion_id,
    openai_error_from_anthropic,
    openai_finish_reason,
)
from ..usage import AnthropicUsageCounter, Usage, usage_from_openai, usage_to_anthropic, usage_to_openai
from .reasoning import DETAILS_FORMAT, reasoning_detail


class StreamFromHub:
    def __init__(self, *, model: str, include_usage: bool):
        self.model = model
        self.include_usage = include_usage
        self._usage = AnthropicUsageCounter()
        self._id = openai_completion_id(None)
        self._created = int(time.time())
        self._role_sent = False
        self._usage_sent = False
        self._tool_call_index: dict[int, int] = {}  # hub block index -> OpenAI tool call index
        self._handlers = {
            "message_start": self._on_message_start,
            "content_block_start": self._on_content_block_start,
            "content_block_delta": self._on_content_block_delta,
            "message_delta": self._on_message_delta,
            "message_stop": self._on_message_stop,
            "error": self._on_error,
        }

    def feed(self, event: dict) -> list[dict]:
        handler = self._handlers.get(event.get("type"))
        return handler(event) if handler else []

    def finish(self) -> list[dict]:
        return self._usage_chunk()

    # --- event handlers ------------------------------------------------------------

    def _on_message_start(self, event: dict) -> list[dict]:
        message = event.get("message") or {}
        self._id = openai_completion_id(message.get("id"))
        self._update_usage(message.get("usage"))
        return [self._chunk({"content": ""})]

    def _on_content_block_start(self, event: dict) -> list[dict]:
        block = event.get("content_block") or {}
        kind = block.get("type")
        if kind == "tool_use":
            tool_index = len(self._tool_call_index)
            self._tool_call_index[event.get("index")] = tool_index
            call = {"index": tool_index, "id": block.get("id"), "type": "function",
                    "function": {"name": block.get("name"), "arguments": ""}}
            return [self._chunk({"tool_calls": [call]})]
        if kind == "text" and block.get("text"):
            return [self._chunk({"content": block["text"]})]
        if kind == "thinking" and block.get("thinking"):
            return [self._reasoning_chunk(event.get("index"), block["thinking"])]
        if kind == "redacted_thinking":
            return [self._chunk({"reasoning_details": [reasoning_detail(block, event.get("index"))]})]
        return []

    def _on_content_block_delta(self, event: dict) -> list[dict]:
        delta = event.get("delta") or {}
        kind = delta.get("type")
        if kind == "text_delta":
            return [self._chunk({"content": delta.get("text", "")})]
        if kind == "thinking_delta":
            return [self._reasoning_chunk(event.get("index"), delta.get("thinking", ""))]
        if kind == "signature_delta":
            detail = {"type": "reasoning.text", "text": "", "signature": delta.get("signature"),
                      "format": DETAILS_FORMAT, "index": event.get("index")}
            return [self._chunk({"reasoning_details": [detail]})]
        tool_index = self._tool_call_index.get(event.get("index"))
        if kind == "input_json_delta" and tool_index is not None and delta.get("partial_json"):
            fragment = {"index": tool_index, "function": {"arguments": delta["partial_json"]}}
            return [self._chunk({"tool_calls": [fragment]})]
        return []

    def _on_message_delta(self, event: dict) -> list[dict]:
        self._update_usage(event.get("usage"))
        stop_reason = (event.get("delta") or {}).get("stop_reason")
        if stop_reason is None:
            return []
        return [self._chunk({}, finish_reason=openai_finish_reason(stop_reason))]

    def _on_message_stop(self, event: dict) -> list[dict]:
        return self._usage_chunk()

    def _on_error(self, event: dict) -> list[dict]:
        return [openai_error_from_anthropic(event.get("error"))]

    # --- helpers -------------------------------------------------------------------

    @property
    def usage(self) -> Usage:
        return self._usage.usage

    def _update_usage(self, usage: dict | None) -> None:
        self._usage.update(usage)

    def _envelope(self, choices: list[dict]) -> dict:
        return {"id": self._id, "object": "chat.completion.chunk", "created": self._created,
                "model": self.model, "choices": choices}

    def _chunk(self, delta: dict, finish_reason: str | None = None) -> dict:
        if not self._role_sent:
            delta = {"role": "assistant", **delta}
            self._role_sent = True
        chunk = self._envelope([{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}])
        if self.include_usage:
            chunk["usage"] = None
        return chunk

    def _reasoning_chunk(self, index: int, text: str) -> dict:
        detail = {"type": "reasoning.text", "text": text, "format": DETAILS_FORMAT, "index": index}
        return self._chunk({"reasoning_content": text, "reasoning_details": [detail]})

    def _usage_chunk(self) -> list[dict]:
        if not self.include_usage or self._usage_sent:
            return []
        self._usage_sent = True
        return [{**self._envelope([]), "usage": usage_to_openai(self.usage)}]


_TEXT_BLOCKS = {
    # kind: (content_block of content_block_start, delta type, delta field)
    "thinking": ({"type": "thinking", "thinking": "", "signature": ""}, "thinking_delta", "thinking"),
    "text": ({"type": "text", "text": ""}, "text_delta", "text"),
}
# Delta fields read as each block kind, in the order they are opened within one delta.
_DELTA_FIELDS = (("thinking", "reasoning_content"), ("thinking", "reasoning"), ("text", "content"),
                 ("text", "refusal"))


class StreamToHub:
    def __init__(self):
        self.usage = Usage()
        self._started = False
        self._open_block: tuple | None = None  # ("text",) / ("thinking",) / ("tool_use", openai index)
        self._open_block_index = -1
        self._next_block_index = 0
        self._tool_block_index: dict[int, int] = {}  # OpenAI tool call index -> block index
        self._finish_reason: str | None = None
        self._refused = False

    def feed(self, chunk: dict) -> list[dict]:
        if chunk.get("error"):
            return [anthropic_error_from_openai(chunk["error"])]
        events = [] if self._started else self._message_start(chunk)
        if chunk.get("usage"):
            self.usage = usage_from_openai(chunk["usage"])
        choices = chunk.get("choices") or []
        if not choices:
            return events
        choice = choices[0]
        delta = choice.get("delta") or {}
        for kind, field in _DELTA_FIELDS:
            if delta.get(field) and isinstance(delta[field], str):
                events += self._text_fragment(kind, delta[field])
        self._refused = self._refused or bool(delta.get("refusal"))
        for position, call in enumerate(delta.get("tool_calls") or []):
            events += self._tool_call_fragment(call.get("index", position), call)
        if choice.get("finish_reason"):
            self._finish_reason = choice["finish_reason"]
        return events

    def finish(self) -> list[dict]:
        events = [] if self._started else self._message_start({})
        events += self._close_open_block()
        finish_reason = "content_filter" if self._refused else self._finish_reason
        stop_reason = anthropic_stop_reason(finish_reason, has_tool_calls=bool(self._tool_block_index))
        events.append({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                       "usage": usage_to_anthropic(self.usage)})
        events.append({"type": "message_stop"})
        return events

    # --- helpers -------------------------------------------------------------------

    def _message_start(self, chunk: dict) -> list[dict]:
        self._started = True
        message = {"id": anthropic_message_id(chunk.get("id")), "type": "message", "role": "assistant",
                   "content": [], "model": chunk.get("model"), "stop_reason": None, "stop_sequence": None,
                   "usage": {"input_tokens": 0, "output_tokens": 0}}
        return [{"type": "message_start", "message": message}]

    def _text_fragment(self, kind: str, text: str) -> list[dict]:
        content_block, delta_type, field = _TEXT_BLOCKS[kind]
        events = []
        if self._open_block != (kind,):
            events = self._open(key=(kind,), content_block=dict(content_block))
        events.append(self._delta(self._open_block_index, {"type": delta_type, field: text}))
        return events

    def _tool_call_fragment(self, openai_index: int, call: dict) -> list[dict]:
        events = []
        if openai_index not in self._tool_block_index:
            function = call.get("function") or {}
            content_block = {"type": "tool_use", "id": call.get("id") or new_tool_use_id(),
                             "name": function.get("name") or "", "input": {}}
            events = self._open(key=("tool_use", openai_index), content_block=content_block)
            self._tool_block_index[openai_index] = self._open_block_index
        arguments = (call.get("function") or {}).get("arguments")
        if arguments:
            partial = {"type": "input_json_delta", "partial_json": arguments}
            events.append(self._delta(self._tool_block_index[openai_index], partial))
        return events

    def _open(self, *, key: tuple, content_block: dict) -> list[dict]:
        events = self._close_open_block()
        self._open_block, self._open_block_index = key, self._next_block_index
        self._next_block_index += 1
        events.append({"type": "content_block_start", "index": self._open_block_index, "content_block": content_block})
        return events

    def _close_open_block(self) -> list[dict]:
        if self._open_block is None:
            return []
        self._open_block = None
        return [{"type": "content_block_stop", "index": self._open_block_index}]

    @staticmethod
    def _delta(index: int, delta: dict) -> dict:
        return {"type": "content_block_delta", "index": index, "delta": delta}
