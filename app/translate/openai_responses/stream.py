"""Streams: Responses API events <-> hub events (Anthropic's SSE event data dicts).

Hub -> Responses (``StreamFromHub``)
    ``response.created`` and ``response.in_progress`` (a snapshot of the response, echoing the
    request as the API does) at ``message_start``; per hub block one output item:
    ``output_item.added``, then for text ``content_part.added``/``output_text.delta``...
    ``.done``, for thinking a ``reasoning`` item with ``reasoning_summary_part``/
    ``reasoning_summary_text`` events (its signature becomes ``encrypted_content`` at
    ``output_item.done``), for ``tool_use`` a ``function_call`` with
    ``function_call_arguments.delta``/``.done`` (a ``custom`` tool's input is one
    ``custom_tool_call_input.delta`` at the end: the hub streams it inside JSON), and
    ``output_item.done`` at ``content_block_stop``. ``message_stop`` ends with
    ``response.completed`` (``response.incomplete`` after ``max_tokens``) carrying every item
    and the usage. A hub ``error`` becomes an ``error`` event. Every event has its
    ``sequence_number``. Server tool blocks and citations produce nothing.

Responses -> hub (``StreamToHub``)
    ``response.created`` opens the message; ``reasoning`` items, output text and refusal
    parts, ``function_call`` and ``custom_tool_call`` items each become one hub block (a
    reasoning item's signature arrives with ``output_item.done``; a custom call's input is
    sent as one ``{"input": ...}`` JSON piece at its end). ``response.completed``,
    ``.incomplete`` give the stop reason and usage; ``response.failed`` and ``error`` become
    a hub ``error``. Built-in tool items (run upstream) produce nothing.
"""
import orjson

from ..mappings import anthropic_message_id
from ..usage import AnthropicUsageCounter, usage_to_anthropic
from .request import custom_input, custom_tool_names
from .response import (
    hub_stop_reason,
    message_output,
    new_id,
    reasoning_output,
    response_object,
    status_of,
    text_part,
    thinking_from_reasoning,
    tool_call_output,
    usage_from_responses,
)

_END_EVENTS = {"completed": "response.completed", "incomplete": "response.incomplete"}


class _OpenItem:
    """One output item being streamed: its hub block, position and what it accumulated."""

    def __init__(self, block: dict, output_index: int, item_id: str):
        self.block = dict(block)
        self.output_index = output_index
        self.item_id = item_id
        self.text: list[str] = []


class StreamFromHub:
    def __init__(self, *, model: str, include_usage: bool, request: dict | None = None):
        self.model = model
        self._request = request or {}
        self._custom_tools = custom_tool_names(self._request)
        self._usage = AnthropicUsageCounter()
        self._sequence = 0
        self._response_id = new_id("resp")
        self._created_at = None
        self._output: list[dict] = []  # finished items, by output index
        self._open: dict[int, _OpenItem] = {}  # hub block index -> item
        self._stop_reason = None
        self._ended = False
        self._handlers = {
            "message_start": self._on_message_start, "content_block_start": self._on_block_start,
            "content_block_delta": self._on_block_delta, "content_block_stop": self._on_block_stop,
            "message_delta": self._on_message_delta, "message_stop": self._on_message_stop, "error": self._on_error,
        }

    @property
    def sequence_number(self) -> int:
        """The next event's number (the relay's own error event takes it)."""
        return self._sequence

    def feed(self, event: dict) -> list[dict]:
        handler = self._handlers.get(event.get("type"))
        return handler(event) if handler else []

    def finish(self) -> list[dict]:
        return []

    def _event(self, kind: str, **fields) -> dict:
        event = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return event

    def _snapshot(self, status: str, usage=None) -> dict:
        return response_object(self._request, response_id=self._response_id, model=self.model, status=status,
                               output=list(self._output), usage=usage, stop_reason=self._stop_reason,
                               created_at=self._created_at)

    # --- event handlers ------------------------------------------------------------

    def _on_message_start(self, event: dict) -> list[dict]:
        self._usage.update((event.get("message") or {}).get("usage"))
        snapshot = self._snapshot("in_progress")
        self._created_at = snapshot["created_at"]
        return [self._event("response.created", response=snapshot),
                self._event("response.in_progress", response=snapshot)]

    def _on_block_start(self, event: dict) -> list[dict]:
        block = event.get("content_block") or {}
        kind = block.get("type")
        prefix = {"text": "msg", "thinking": "rs", "redacted_thinking": "rs", "tool_use": "fc"}.get(kind)
        if prefix is None:
            return []  # server tool blocks
        item = self._open[event.get("index")] = _OpenItem(block, len(self._output) + len(self._open), new_id(prefix))
        added = self._event("response.output_item.added", output_index=item.output_index,
                            item=self._item(item, "in_progress"))
        if kind == "text":
            return [added, self._event("response.content_part.added", **self._where(item), content_index=0,
                                       part=text_part(""))]
        if kind == "thinking":
            return [added, self._event("response.reasoning_summary_part.added", **self._where(item), summary_index=0,
                                       part={"type": "summary_text", "text": ""})]
        return [added]

    def _on_block_delta(self, event: dict) -> list[dict]:
        item = self._open.get(event.get("index"))
        delta = event.get("delta") or {}
        kind = delta.get("type")
        if item is None:
            return []
        if kind == "text_delta":
            item.text.append(delta.get("text", ""))
            return [self._event("response.output_text.delta", **self._where(item), content_index=0,
                                delta=delta.get("text", ""), logprobs=[])]
        if kind == "thinking_delta":
            item.text.append(delta.get("thinking", ""))
            return [self._event("response.reasoning_summary_text.delta", **self._where(item), summary_index=0,
                                delta=delta.get("thinking", ""))]
        if kind == "signature_delta":
            item.block["signature"] = (item.block.get("signature") or "") + delta.get("signature", "")
        elif kind == "input_json_delta":
            item.text.append(delta.get("partial_json", ""))
            if item.block.get("name") not in self._custom_tools:
                return [self._event("response.function_call_arguments.delta", **self._where(item),
                                    delta=delta.get("partial_json", ""))]
        return []

    def _on_block_stop(self, event: dict) -> list[dict]:
        item = self._open.pop(event.get("index"), None)
        if item is None:
            return []
        kind = item.block.get("type")
        text = "".join(item.text)
        events = []
        if kind == "text":
            item.block["text"] = text
            events += [self._event("response.output_text.done", **self._where(item), content_index=0, text=text,
                                   logprobs=[]),
                       self._event("response.content_part.done", **self._where(item), content_index=0,
                                   part=text_part(text))]
        elif kind == "thinking":
            item.block["thinking"] = text
            events += [self._event("response.reasoning_summary_text.done", **self._where(item), summary_index=0,
                                   text=text),
                       self._event("response.reasoning_summary_part.done", **self._where(item), summary_index=0,
                                   part={"type": "summary_text", "text": text})]
        elif kind == "tool_use":
            events += self._tool_call_done(item, text)
        done = self._item(item, "completed")
        self._output.append(done)
        return events + [self._event("response.output_item.done", output_index=item.output_index, item=done)]

    def _tool_call_done(self, item: _OpenItem, text: str) -> list[dict]:
        try:
            item.block["input"] = orjson.loads(text) if text else (item.block.get("input") or {})
        except orjson.JSONDecodeError:
            item.block["input"] = {}
        if item.block.get("name") in self._custom_tools:
            tool_input = custom_input(item.block["input"])
            return [self._event("response.custom_tool_call_input.delta", **self._where(item), delta=tool_input),
                    self._event("response.custom_tool_call_input.done", **self._where(item), input=tool_input)]
        arguments = tool_call_output(item.block, item.item_id, frozenset())["arguments"]
        return [self._event("response.function_call_arguments.done", **self._where(item), name=item.block.get("name"),
                            arguments=arguments)]

    def _on_message_delta(self, event: dict) -> list[dict]:
        self._usage.update(event.get("usage"))
        self._stop_reason = (event.get("delta") or {}).get("stop_reason") or self._stop_reason
        return []

    def _on_message_stop(self, event: dict) -> list[dict]:
        if self._ended:
            return []
        self._ended = True
        status = status_of(self._stop_reason)
        return [self._event(_END_EVENTS[status], response=self._snapshot(status, self._usage.usage))]

    def _on_error(self, event: dict) -> list[dict]:
        error = event.get("error") or {}
        return [self._event("error", code=error.get("type") or "api_error",
                            message=error.get("message") or "upstream error", param=None)]

    # --- helpers -------------------------------------------------------------------

    @staticmethod
    def _where(item: _OpenItem) -> dict:
        return {"item_id": item.item_id, "output_index": item.output_index}

    def _item(self, item: _OpenItem, status: str) -> dict:
        kind = item.block.get("type")
        if kind in ("thinking", "redacted_thinking"):
            return reasoning_output(item.block, item.item_id)
        if kind == "text":
            return message_output(item.item_id, [text_part(item.block["text"])] if status == "completed" else [],
                                  status)
        output = tool_call_output(item.block, item.item_id, self._custom_tools, status)
        if status != "completed":  # as the API: the arguments (or input) follow as deltas, from empty
            output["input" if output["type"] == "custom_tool_call" else "arguments"] = ""
        return output


class StreamToHub:
    def __init__(self):
        self._usage = AnthropicUsageCounter()
        self._started = False
        self._blocks: dict[tuple, int] = {}  # (output index, content index or None) -> hub block index
        self._custom: dict[int, str] = {}  # hub block index of a custom tool call -> its input so far
        self._has_tools = False
        self._refused = False

    @property
    def usage(self):
        return self._usage.usage

    def feed(self, event: dict) -> list[dict]:
        kind = event.get("type", "")
        handler = getattr(self, "_on_" + kind.replace("response.", "").replace(".", "_"), None)
        return handler(event) if handler else []

    def finish(self) -> list[dict]:
        return []

    def _start(self, key: tuple, block: dict) -> list[dict]:
        index = self._blocks[key] = len(self._blocks)
        return [{"type": "content_block_start", "index": index, "content_block": block}]

    def _delta(self, key: tuple, delta: dict) -> list[dict]:
        index = self._blocks.get(key)
        return [] if index is None else [{"type": "content_block_delta", "index": index, "delta": delta}]

    def _stop(self, key: tuple) -> list[dict]:
        index = self._blocks.get(key)
        return [] if index is None else [{"type": "content_block_stop", "index": index}]

    # --- Responses events, by name --------------------------------------------------

    def _on_created(self, event: dict) -> list[dict]:
        if self._started:
            return []
        self._started = True
        response = event.get("response") or {}
        message = {"id": anthropic_message_id(response.get("id")), "type": "message", "role": "assistant",
                   "content": [], "model": response.get("model"), "stop_reason": None, "stop_sequence": None,
                   "usage": {"input_tokens": 0, "output_tokens": 0}}
        return [{"type": "message_start", "message": message}]

    def _on_output_item_added(self, event: dict) -> list[dict]:
        item = event.get("item") or {}
        key = (event.get("output_index"), None)
        kind = item.get("type")
        if kind == "reasoning":
            return self._start(key, {"type": "thinking", "thinking": "", "signature": ""})
        if kind in ("function_call", "custom_tool_call"):
            self._has_tools = True
            events = self._start(key, {"type": "tool_use", "id": item.get("call_id"), "name": item.get("name"),
                                             "input": {}})
            if kind == "custom_tool_call":
                self._custom[self._blocks[key]] = ""
            return events
        return []

    def _on_content_part_added(self, event: dict) -> list[dict]:
        self._refused = self._refused or (event.get("part") or {}).get("type") == "refusal"
        return self._start((event.get("output_index"), event.get("content_index")), {"type": "text", "text": ""})

    def _on_output_text_delta(self, event: dict) -> list[dict]:
        return self._delta((event.get("output_index"), event.get("content_index")),
                           {"type": "text_delta", "text": event.get("delta", "")})

    _on_refusal_delta = _on_output_text_delta

    def _on_content_part_done(self, event: dict) -> list[dict]:
        return self._stop((event.get("output_index"), event.get("content_index")))

    def _on_reasoning_summary_text_delta(self, event: dict) -> list[dict]:
        return self._delta((event.get("output_index"), None),
                           {"type": "thinking_delta", "thinking": event.get("delta", "")})

    def _on_reasoning_summary_part_added(self, event: dict) -> list[dict]:
        if not event.get("summary_index"):
            return []
        return self._delta((event.get("output_index"), None), {"type": "thinking_delta", "thinking": "\n\n"})

    def _on_function_call_arguments_delta(self, event: dict) -> list[dict]:
        return self._delta((event.get("output_index"), None),
                           {"type": "input_json_delta", "partial_json": event.get("delta", "")})

    def _on_custom_tool_call_input_delta(self, event: dict) -> list[dict]:
        index = self._blocks.get((event.get("output_index"), None))
        if index in self._custom:
            self._custom[index] += event.get("delta", "")
        return []

    def _on_output_item_done(self, event: dict) -> list[dict]:
        item = event.get("item") or {}
        key = (event.get("output_index"), None)
        kind = item.get("type")
        events = []
        if kind == "reasoning":
            signature = thinking_from_reasoning(item)["signature"]
            events = self._delta(key, {"type": "signature_delta", "signature": signature})
        elif kind == "custom_tool_call":
            tool_input = item.get("input") or self._custom.get(self._blocks.get(key), "")
            events = self._delta(key, {"type": "input_json_delta",
                                       "partial_json": orjson.dumps({"input": tool_input}).decode()})
        return events + (self._stop(key) if kind in ("reasoning", "function_call", "custom_tool_call") else [])

    def _end(self, event: dict) -> list[dict]:
        response = event.get("response") or {}
        usage = usage_from_responses(response.get("usage"))
        self._usage.update(usage_to_anthropic(usage))
        stop_reason = hub_stop_reason(response.get("status"), response.get("incomplete_details"), self._has_tools,
                                      self._refused)
        return [{"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                 "usage": usage_to_anthropic(usage)},
                {"type": "message_stop"}]

    _on_completed = _end
    _on_incomplete = _end

    def _on_failed(self, event: dict) -> list[dict]:
        error = (event.get("response") or {}).get("error") or {}
        return [{"type": "error", "error": {"type": "api_error", "message": error.get("message") or "response failed"}}]

    def _on_error(self, event: dict) -> list[dict]:
        return [{"type": "error", "error": {"type": "api_error", "message": event.get("message") or "upstream error"}}]
