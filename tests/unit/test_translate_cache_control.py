"""Automatic cache_control breakpoints and the offline input-token estimate."""

import copy

import pytest

from app.translate import estimate_input_tokens, inject_anthropic_cache_control

EPHEMERAL = {"type": "ephemeral"}
CLIENT_1H = {"type": "ephemeral", "ttl": "1h"}
TOOL_A = {"name": "read_file", "description": "Read a file", "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}}}
TOOL_B = {"name": "write_file", "input_schema": {"type": "object", "properties": {}}}


def cached(block, marker=EPHEMERAL):
    return {**block, "cache_control": marker}


def text(value):
    return {"type": "text", "text": value}


CASES = [
    (
        "string system and string user content become marked text blocks; last tool marked",
        {"model": "m", "max_tokens": 10, "system": "You are helpful.", "tools": [TOOL_A, TOOL_B],
         "messages": [{"role": "user", "content": "Hi"}]},
        {"model": "m", "max_tokens": 10, "system": [cached(text("You are helpful."))], "tools": [TOOL_A, cached(TOOL_B)],
         "messages": [{"role": "user", "content": [cached(text("Hi"))]}]},
    ),
    (
        "only the last user turn and its last block; assistant turns untouched",
        {"model": "m", "max_tokens": 10, "messages": [
            {"role": "user", "content": "First"},
            {"role": "assistant", "content": [text("Reply")]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"}, text("Next")]},
            {"role": "assistant", "content": "Prefill"},
        ]},
        {"model": "m", "max_tokens": 10, "messages": [
            {"role": "user", "content": "First"},
            {"role": "assistant", "content": [text("Reply")]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"}, cached(text("Next"))]},
            {"role": "assistant", "content": "Prefill"},
        ]},
    ),
    (
        "blocks that cannot carry cache_control are skipped for the last one that can",
        {"model": "m", "max_tokens": 10, "system": [text("S"), text("")],
         "messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "r"},
                                                   {"type": "thinking", "thinking": "x", "signature": "s"}]}]},
        {"model": "m", "max_tokens": 10, "system": [cached(text("S")), text("")],
         "messages": [{"role": "user", "content": [cached({"type": "tool_result", "tool_use_id": "t", "content": "r"}),
                                                   {"type": "thinking", "thinking": "x", "signature": "s"}]}]},
    ),
    (
        "the client's own breakpoints are kept and not duplicated",
        {"model": "m", "max_tokens": 10, "system": [cached(text("S"), CLIENT_1H)], "tools": [cached(TOOL_A, CLIENT_1H)],
         "messages": [{"role": "user", "content": [cached(text("Q"), CLIENT_1H)]}]},
        {"model": "m", "max_tokens": 10, "system": [cached(text("S"), CLIENT_1H)], "tools": [cached(TOOL_A, CLIENT_1H)],
         "messages": [{"role": "user", "content": [cached(text("Q"), CLIENT_1H)]}]},
    ),
    (
        "three client breakpoints leave one slot: it goes to the last user turn",
        {"model": "m", "max_tokens": 10, "system": [cached(text("A")), cached(text("B")), text("C")], "tools": [TOOL_A],
         "messages": [{"role": "user", "content": [cached(text("old"))]}, {"role": "assistant", "content": "ok"},
                      {"role": "user", "content": "new"}]},
        {"model": "m", "max_tokens": 10, "system": [cached(text("A")), cached(text("B")), text("C")], "tools": [TOOL_A],
         "messages": [{"role": "user", "content": [cached(text("old"))]}, {"role": "assistant", "content": "ok"},
                      {"role": "user", "content": [cached(text("new"))]}]},
    ),
    (
        "two client breakpoints leave two slots: last user turn, then system; tools skipped",
        {"model": "m", "max_tokens": 10, "system": "S", "tools": [TOOL_A],
         "messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t",
                                                    "content": [cached(text("a")), cached(text("b"))]}]},
                      {"role": "assistant", "content": "ok"}, {"role": "user", "content": "Q"}]},
        {"model": "m", "max_tokens": 10, "system": [cached(text("S"))], "tools": [TOOL_A],
         "messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t",
                                                    "content": [cached(text("a")), cached(text("b"))]}]},
                      {"role": "assistant", "content": "ok"}, {"role": "user", "content": [cached(text("Q"))]}]},
    ),
    (
        "four client breakpoints: nothing added",
        {"model": "m", "max_tokens": 10, "system": "S", "tools": [cached(TOOL_A), cached(TOOL_B)],
         "messages": [{"role": "user", "content": [cached(text("a")), cached(text("b")), text("c")]}]},
        {"model": "m", "max_tokens": 10, "system": "S", "tools": [cached(TOOL_A), cached(TOOL_B)],
         "messages": [{"role": "user", "content": [cached(text("a")), cached(text("b")), text("c")]}]},
    ),
    (
        "nothing to mark: empty system, no tools, no user turn",
        {"model": "m", "max_tokens": 10, "system": "", "messages": [{"role": "assistant", "content": "x"}]},
        {"model": "m", "max_tokens": 10, "system": "", "messages": [{"role": "assistant", "content": "x"}]},
    ),
]


@pytest.mark.parametrize(("name", "body", "expected"), CASES, ids=[c[0] for c in CASES])
def test_inject_anthropic_cache_control(name, body, expected):
    snapshot = copy.deepcopy(body)
    result = inject_anthropic_cache_control(body)
    assert result == expected
    assert body == snapshot, "the input must not be mutated"


def test_never_more_than_four_breakpoints():
    body = {"model": "m", "max_tokens": 10, "system": [cached(text("A")), text("B")], "tools": [cached(TOOL_A), TOOL_B],
            "messages": [{"role": "user", "content": [cached(text("x")), text("y")]}]}
    result = inject_anthropic_cache_control(body)
    blocks = result["system"] + result["tools"] + result["messages"][0]["content"]
    assert sum("cache_control" in block for block in blocks) == 4
    assert "cache_control" in result["messages"][0]["content"][-1]  # the only free slot went to the user turn


def test_untouched_parts_are_shared_not_copied():
    history = {"role": "assistant", "content": [text("long history")]}
    body = {"model": "m", "max_tokens": 10, "tools": [TOOL_A, TOOL_B],
            "messages": [{"role": "user", "content": "Q1"}, history, {"role": "user", "content": "Q2"}]}
    result = inject_anthropic_cache_control(body)
    assert result is not body
    assert result["messages"][1] is history
    assert result["tools"][0] is TOOL_A


# --- estimate_input_tokens ---------------------------------------------------------------

ESTIMATE_CASES = [
    ("one short message", {"messages": [{"role": "user", "content": "Hello, world"}]}, 3 + 4),
    ("system and blocks", {"system": [text("x" * 40)], "messages": [{"role": "user", "content": [text("y" * 80)]}]}, 30 + 4),
    (
        "tool use and tool result text count, images are flat",
        {"messages": [
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "ls", "input": {"path": "/tmp"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": [text("a" * 38),
                                          {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "A" * 9999}}]}]},
        ]},
        # "ls" + '{"path": "/tmp"}' = 2 + 16 chars, + 38 chars = 56 chars -> 14 tokens; 2 messages; 1 image
        14 + 8 + 1600,
    ),
    ("empty body is at least one token", {"messages": []}, 1),
]


@pytest.mark.parametrize(("name", "body", "expected"), ESTIMATE_CASES, ids=[c[0] for c in ESTIMATE_CASES])
def test_estimate_input_tokens(name, body, expected):
    assert estimate_input_tokens(body) == expected


def test_estimate_counts_tool_definitions():
    without_tools = {"messages": [{"role": "user", "content": "Hi"}]}
    with_tools = {**without_tools, "tools": [TOOL_A, TOOL_B]}
    assert estimate_input_tokens(with_tools) > estimate_input_tokens(without_tools) + 20
