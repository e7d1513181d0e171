"""Claude's signed thinking carried through Chat Completions messages.

Anthropic answers 400 when a thinking block replayed in a later turn was altered, and
Claude needs its thinking back on the next tool turn. Chat Completions has no field for
it, so Cortex uses the one the ecosystem already reads and writes: OpenRouter's
``reasoning_details`` on the assistant message (and on stream deltas, merged by
``index``)::

    {"type": "reasoning.text", "text": "...", "signature": "...", "format": "anthropic-claude-v1", "index": 0}
    {"type": "reasoning.encrypted", "data": "...", "format": "anthropic-claude-v1", "index": 1}

LiteLLM's ``thinking_blocks`` (the Anthropic blocks verbatim) are read as well.
"""

DETAILS_FORMAT = "anthropic-claude-v1"


def reasoning_detail(block: dict, index: int) -> dict | None:
    """One hub thinking block as a ``reasoning_details`` entry (None for other blocks)."""
    kind = block.get("type")
    if kind == "thinking":
        return {"type": "reasoning.text", "text": block.get("thinking", ""), "signature": block.get("signature"),
                "format": DETAILS_FORMAT, "index": index}
    if kind == "redacted_thinking":
        return {"type": "reasoning.encrypted", "data": block.get("data", ""), "format": DETAILS_FORMAT,
                "index": index}
    return None


def reasoning_details(blocks: list[dict]) -> list[dict]:
    details = (reasoning_detail(block, index) for index, block in enumerate(blocks))
    return [detail for detail in details if detail is not None]


def _merged_details(details: list) -> list[dict]:
    """Entries merged by index, text concatenated in order (a client may keep streamed pieces)."""
    merged: dict = {}
    for position, detail in enumerate(details):
        if not isinstance(detail, dict):
            continue
        key = detail.get("index", position)
        entry = merged.setdefault(key, {**detail, "text": ""})
        entry["text"] += detail.get("text") or ""
        for field in ("signature", "data"):
            if detail.get(field):
                entry[field] = detail[field]
    return list(merged.values())


def _block_from_detail(detail: dict) -> dict | None:
    kind = detail.get("type")
    if kind == "reasoning.text" and detail.get("signature"):
        return {"type": "thinking", "thinking": detail.get("text", ""), "signature": detail["signature"]}
    if kind == "reasoning.encrypted" and detail.get("data"):
        return {"type": "redacted_thinking", "data": detail["data"]}
    return None  # unsigned text or summaries: Anthropic would reject them


def thinking_blocks_from_message(message: dict) -> list[dict]:
    """The signed thinking an assistant message carries, as hub blocks, byte for byte."""
    blocks = message.get("thinking_blocks")
    if isinstance(blocks, list):
        return [dict(block) for block in blocks
                if isinstance(block, dict) and block.get("type") in ("thinking", "redacted_thinking")]
    details = message.get("reasoning_details")
    if not isinstance(details, list):
        return []
    converted = (_block_from_detail(detail) for detail in _merged_details(details))
    return [block for block in converted if block is not None]
