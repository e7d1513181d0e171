"""Streams: ``GenerateContentResponse`` chunks <-> hub events.

Gemini -> hub (``StreamToHub``)
    Every chunk is a partial reply. ``message_start`` comes with the first; thought text,
    text and each ``functionCall`` get their own block, opened when their kind changes.
    A call arrives whole, so its block is opened, given its arguments as one
    ``input_json_delta`` and closed at once (the signature travels in its id, ``parts``).
    ``usageMetadata`` is cumulative: the last one counts. ``finishReason`` is held until
    ``finish()``, which closes the message.

Hub -> Gemini (``StreamFromHub``)
    Text and thinking deltas go out as chunks of one part each (``thought: true`` for
    thinking; a signature or redacted block as a ``thought`` part carrying the wrapped
    value, ``parts.thought_part``). A tool call's argument pieces are gathered and sent as
    one ``functionCall`` when its block stops (Gemini has no partial calls). The last chunk,
    at ``message_delta``, carries ``finishReason`` and ``usageMetadata``. Errors become
    ``{"error": {code, message, status}}`` chunks, Gemini's own mid-stream shape.
"""
import orjson

from ..mappings import ANTHROPIC_ERROR_STATUS, anthropic_message_id
from ..usage import AnthropicUsageCounter, Usage, usage_from_gemini, usage_to_anthropic, usage_to_gemini
from . import parts as gemini_parts

class StreamToHub:
    def __init__(self):
        self.usage = Usage()
        self._started = False
        self._open_kind: str | None = None  # "thinking" / "text" while such a block is open
        self._index = -1
        self._finish_reason = None
        self._has_calls = False
        self._blocked = False

    def feed(self, chunk: dict) -> list[dict]:
        if chunk.get("error"):
            error = chunk["error"]
            return [{"type": "error", "error": {"type": "api_error", "message": error.get("message", str(error))}}]
        events = [] if self._started else self._message_start(chunk)
        if chunk.get("usageMetadata"):
            self.usage = usage_from_gemini(chunk["usageMetadata"])
        candidates = chunk.get("candidates") or []
        if not candidates:
            self._blocked = self._blocked or bool((chunk.get("promptFeedback") or {}).get("blockReason"))
            return events
        candidate = candidates[0]
        for part in (candidate.get("content") or {}).get("parts") or []:
            events += self._part(part)
        if candidate.get("finishReason"):
            self._finish_reason = candidate["finishReason"]
        return events

    def finish(self) -> list[dict]:
        events = [] if self._started else self._message_start({})
        events += self._close()
        reason = "refusal" if self._blocked else gemini_parts.stop_reason(self._finish_reason,
                                                                          has_tool_calls=self._has_calls)
        events.append({"type": "message_delta", "delta": {"stop_reason": reason, "stop_sequence": None},
                       "usage": usage_to_anthropic(self.usage)})
        events.append({"type": "message_stop"})
        return events

    def _message_start(self, chunk: dict) -> list[dict]:
        self._started = True
        message = {"id": anthropic_message_id(chunk.get("responseId")), "type": "message", "role": "assistant",
                   "content": [], "model": chunk.get("modelVersion"), "stop_reason": None, "stop_sequence": None,
                   "usage": {"input_tokens": 0, "output_tokens": 0}}
        return [{"type": "message_start", "message": message}]

    def _part(self, part: dict) -> list[dict]:
        if "functionCall" in part:
            self._has_calls = True
            block = gemini_parts.tool_use_block(part["functionCall"], part.get("thoughtSignature"))
            arguments = block["input"]
            events = self._open("tool_use", {**block, "input": {}})
            if arguments:
                events.append(self._delta({"type": "input_json_delta",
                                           "partial_json": orjson.dumps(arguments).decode()}))
            return events + self._close()
        text = part.get("text")
        if not text:
            return []  # an empty part carrying a text signature (optional to return: dropped)
        if part.get("thought"):
            events = [] if self._open_kind == "thinking" else self._open(
                "thinking", {"type": "thinking", "thinking": "", "signature": ""})
            return events + [self._delta({"type": "thinking_delta", "thinking": text})]
        events = [] if self._open_kind == "text" else self._open("text", {"type": "text", "text": ""})
        return events + [self._delta({"type": "text_delta", "text": text})]

    def _open(self, kind: str, content_block: dict) -> list[dict]:
        events = self._close()
        self._index += 1
        self._open_kind = kind
        return events + [{"type": "content_block_start", "index": self._index, "content_block": content_block}]

    def _close(self) -> list[dict]:
        if self._open_kind is None:
            return []
        self._open_kind = None
        return [{"type": "content_block_stop", "index": self._index}]

    def _delta(self, delta: dict) -> dict:
        return {"type": "content_block_delta", "index": self._index, "delta": delta}


class StreamFromHub:
    def __init__(self, *, model: str, include_usage: bool):
        self.model = model
        self._usage = AnthropicUsageCounter()
        self._id = ""
        self._blocks: dict[int, dict] = {}  # open tool_use / thinking blocks by index
        self._arguments: dict[int, list[str]] = {}

    @property
    def usage(self) -> Usage:
        return self._usage.usage

    def feed(self, event: dict) -> list[dict]:
        kind = event.get("type")
        if kind == "message_start":
            message = event.get("message") or {}
            self._id = (message.get("id") or "").removeprefix("msg_")
            self._usage.update(message.get("usage"))
        elif kind == "content_block_start":
            return self._block_start(event)
        elif kind == "content_block_delta":
            return self._block_delta(event)
        elif kind == "content_block_stop":
            return self._block_stop(event.get("index"))
        elif kind == "message_delta":
            self._usage.update(event.get("usage"))
            stop = (event.get("delta") or {}).get("stop_reason")
            if stop is not None:
                return [self._chunk([], finish_reason=gemini_parts.finish_reason(stop))]
        elif kind == "error":
            error = event.get("error") or {}
            return [gemini_parts.google_error(ANTHROPIC_ERROR_STATUS.get(error.get("type"), 502),
                                 error.get("message") or "upstream error")]
        return []

    def finish(self) -> list[dict]:
        return []

    def _block_start(self, event: dict) -> list[dict]:
        block = event.get("content_block") or {}
        kind = block.get("type")
        if kind in ("tool_use", "thinking"):
            self._blocks[event.get("index")] = {"thinking": "", **block} if kind == "thinking" else dict(block)
            self._arguments[event.get("index")] = []
        if kind == "text" and block.get("text"):
            return [self._chunk([{"text": block["text"]}])]
        if kind == "thinking" and block.get("thinking"):
            return [self._chunk([{"text": block["thinking"], "thought": True}])]
        if kind == "redacted_thinking":
            return [self._chunk([gemini_parts.thought_part(block)])]
        return []

    def _block_delta(self, event: dict) -> list[dict]:
        delta = event.get("delta") or {}
        kind = delta.get("type")
        if kind == "text_delta" and delta.get("text"):
            return [self._chunk([{"text": delta["text"]}])]
        block = self._blocks.get(event.get("index"))
        if kind == "thinking_delta" and delta.get("thinking"):
            if block is not None:
                block["thinking"] += delta["thinking"]
            return [self._chunk([{"text": delta["thinking"], "thought": True}])]
        if block is None:
            return []
        if kind == "signature_delta":
            block["signature"] = block.get("signature", "") + (delta.get("signature") or "")
        elif kind == "input_json_delta":
            self._arguments[event.get("index")].append(delta.get("partial_json") or "")
        return []

    def _block_stop(self, index) -> list[dict]:
        block = self._blocks.pop(index, None)
        pieces = self._arguments.pop(index, [])
        if block is None:
            return []
        if block.get("type") == "tool_use":
            block["input"] = gemini_parts.arguments("".join(pieces)) or block.get("input") or {}
            return [self._chunk([gemini_parts.function_call_part(block)])]
        if block.get("signature"):  # the whole block, once signed, on a part of its own (its text was streamed)
            return [self._chunk([{**gemini_parts.thought_part(block), "text": ""}])]
        return []

    def _chunk(self, parts: list[dict], finish_reason: str | None = None) -> dict:
        candidate = {"content": {"role": "model", "parts": parts}, "index": 0}
        chunk = {"candidates": [candidate], "modelVersion": self.model, "responseId": self._id}
        if finish_reason:
            candidate["finishReason"] = finish_reason
            chunk["usageMetadata"] = usage_to_gemini(self.usage)
        return chunk
