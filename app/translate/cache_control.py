"""Automatic prompt-cache breakpoints for Anthropic requests.

``inject_anthropic_cache_control`` adds ``{"type": "ephemeral"}`` at up to three places:

1. the last cacheable block of the last user turn: it caches the whole conversation so
   far (tools, system and history all render before it), the biggest saving per turn;
2. the last system block (a string system becomes one text block): the stable prefix
   that survives when the conversation changes;
3. the last tool definition: tools render first, so this covers them alone.

Anthropic accepts at most ``MAX_BREAKPOINTS`` per request, the client's own included.
The client's breakpoints are never moved or removed; additions are made in the order
above while slots remain, and a place that already has one is left alone. Blocks that
cannot carry ``cache_control`` (thinking, redacted thinking, empty text) are skipped in
favour of the last block that can. The input is never mutated: only the containers on
the path to a changed block are copied.
"""

MAX_BREAKPOINTS = 4
EPHEMERAL = {"type": "ephemeral"}
_UNCACHEABLE_BLOCK_TYPES = frozenset({"thinking", "redacted_thinking"})


def _blocks(content) -> list:
    return content if isinstance(content, list) else []


def count_cache_breakpoints(body: dict) -> int:
    """Breakpoints already present where Anthropic accepts them: tools, system blocks,
    message blocks and the blocks nested in tool results."""
    marked = list(body.get("tools") or [])
    marked += _blocks(body.get("system"))
    for message in body.get("messages") or []:
        for block in _blocks(message.get("content")):
            marked.append(block)
            if isinstance(block, dict) and block.get("type") == "tool_result":
                marked += _blocks(block.get("content"))
    return sum(1 for item in marked if isinstance(item, dict) and item.get("cache_control"))


def _cacheable(block: dict) -> bool:
    if block.get("type") in _UNCACHEABLE_BLOCK_TYPES:
        return False
    return block.get("type") != "text" or bool(block.get("text"))


def _as_blocks(content) -> list:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    return list(content or [])


def _with_breakpoint_on_last_cacheable(content) -> list | None:
    """A copy of ``content`` (string or blocks) with a breakpoint on its last cacheable
    block; None when there is no such block or it already has one."""
    blocks = _as_blocks(content)
    for position in range(len(blocks) - 1, -1, -1):
        block = blocks[position]
        if isinstance(block, dict) and _cacheable(block):
            if block.get("cache_control"):
                return None
            blocks[position] = {**block, "cache_control": dict(EPHEMERAL)}
            return blocks
    return None


def _mark_last_user_turn(body: dict) -> bool:
    messages = body.get("messages") or []
    for position in range(len(messages) - 1, -1, -1):
        if messages[position].get("role") == "user":
            content = _with_breakpoint_on_last_cacheable(messages[position].get("content"))
            if content is None:
                return False
            marked = {**messages[position], "content": content}
            body["messages"] = [*messages[:position], marked, *messages[position + 1:]]
            return True
    return False


def _mark_system(body: dict) -> bool:
    system = _with_breakpoint_on_last_cacheable(body.get("system"))
    if system is None:
        return False
    body["system"] = system
    return True


def _mark_last_tool(body: dict) -> bool:
    tools = body.get("tools") or []
    if not tools or tools[-1].get("cache_control"):
        return False
    body["tools"] = [*tools[:-1], {**tools[-1], "cache_control": dict(EPHEMERAL)}]
    return True


_PLACES_BY_PRIORITY = (_mark_last_user_turn, _mark_system, _mark_last_tool)


def inject_anthropic_cache_control(body: dict) -> dict:
    result = dict(body)  # the markers below replace containers in this shallow copy only
    free_slots = MAX_BREAKPOINTS - count_cache_breakpoints(body)
    for mark in _PLACES_BY_PRIORITY:
        if free_slots <= 0:
            break
        if mark(result):
            free_slots -= 1
    return result
