"""Anthropic SSE event data <-> hub events: the same form.

Into the hub (``StreamToHub``) the usage is counted, and the structured-output fallback
tool (``request``) streams as the text block it stands for: its ``input_json_delta``
pieces become ``text_delta`` pieces, and its ``tool_use`` stop reason ``end_turn`` unless
another tool was called. Out of the hub (``StreamFromHub``) only the model name changes.
"""
from ..usage import AnthropicUsageCounter
from .request import STRUCTURED_OUTPUT_TOOL


class StreamToHub:
    def __init__(self):
        self._usage = AnthropicUsageCounter()
        self._answer_blocks: set = set()  # indexes of structured-output tool blocks
        self._other_tools = False

    @property
    def usage(self):
        return self._usage.usage

    def feed(self, event: dict) -> list[dict]:
        kind = event.get("type")
        if kind == "message_start":
            self._usage.update((event.get("message") or {}).get("usage"))
        elif kind == "content_block_start":
            return [self._block_start(event)]
        elif kind == "content_block_delta" and event.get("index") in self._answer_blocks:
            text = (event.get("delta") or {}).get("partial_json", "")
            return [{**event, "delta": {"type": "text_delta", "text": text}}]
        elif kind == "message_delta":
            self._usage.update(event.get("usage"))
            delta = event.get("delta") or {}
            if self._answer_blocks and not self._other_tools and delta.get("stop_reason") == "tool_use":
                return [{**event, "delta": {**delta, "stop_reason": "end_turn"}}]
        return [event]

    def _block_start(self, event: dict) -> dict:
        block = event.get("content_block") or {}
        if block.get("type") != "tool_use":
            return event
        if block.get("name") != STRUCTURED_OUTPUT_TOOL:
            self._other_tools = True
            return event
        self._answer_blocks.add(event.get("index"))
        return {**event, "content_block": {"type": "text", "text": ""}}

    def finish(self) -> list[dict]:
        return []


class StreamFromHub:
    def __init__(self, *, model: str, include_usage: bool):
        self.model = model

    def feed(self, event: dict) -> list[dict]:
        if event.get("type") == "message_start":
            return [{**event, "message": {**(event.get("message") or {}), "model": self.model}}]
        return [event]

    def finish(self) -> list[dict]:
        return []
