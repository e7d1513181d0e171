"""Conformance suite built from other gateways' bug reports.

Each test reproduces the situation of one public bug report (LiteLLM, Bifrost) at the unit
level: the relay or the translator is fed a recorded upstream event sequence or a client
request body, and the result is read the way the client would read it (the Anthropic SDK's
stream accumulator, an OpenAI client merging deltas). A test fails when the reported
behaviour is reproduced. Each docstring names the report, what it reported, and what the test
checks.
"""
import copy
import json
from pathlib import Path

import orjson
import pytest
from werkzeug.datastructures import Headers

from app.config import parse_config
from app.providers import build_adapters
from app.providers.base import Credential, UpstreamCall
from app.relay import open_relay, parse_event
from app.translate import target_for, translate_request, translate_response

CLIENT_MODEL = "client-model"
CLAUDE = "claude-sonnet-4-5"


# --- upstream streams as SSE event blocks, through the relay ------------------------------

def _upstream_block(upstream: str, event) -> bytes:
    if upstream == "anthropic":
        return b"event: " + event["type"].encode() + b"\ndata: " + orjson.dumps(event)
    return b"data: " + (event if isinstance(event, bytes) else orjson.dumps(event))


def relay(client: str, upstream: str, events: list, *, include_usage: bool = True):
    """(relay, client events as dicts): the upstream's SSE blocks fed one by one, [DONE] left out."""
    stream = open_relay(client, upstream, CLIENT_MODEL, include_usage)
    blocks = [_upstream_block(upstream, event) for event in events]
    if upstream == "openai":
        blocks.append(b"data: [DONE]")
    out = b"".join(stream.feed(block) for block in blocks) + stream.finish()
    parsed = []
    for block in out.split(b"\n\n"):
        if not block:
            continue
        name, data = parse_event(block)
        if data == b"[DONE]":
            continue
        payload = orjson.loads(data)
        assert client == "openai" or name == payload["type"], "the SSE event name is the data's type"
        parsed.append(payload)
    return stream, parsed


def openai_chunk(delta=None, finish_reason=None, *, usage=None):
    return {"id": "chatcmpl-C0nf0rm", "object": "chat.completion.chunk", "created": 1764000000,
            "model": "upstream-model", "choices": [{"index": 0, "delta": delta or {}, "logprobs": None,
                                                     "finish_reason": finish_reason}]}


def openai_usage_chunk(prompt=120, completion=30, cached=0):
    return {"id": "chatcmpl-C0nf0rm", "object": "chat.completion.chunk", "created": 1764000000,
            "model": "upstream-model", "choices": [],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
                      "prompt_tokens_details": {"cached_tokens": cached}}}


def tool_call(index, *, call_id=None, name=None, arguments=""):
    call = {"index": index, "function": {"arguments": arguments}}
    if call_id:
        call.update(id=call_id, type="function")
        call["function"]["name"] = name
    return call


def anthropic_stream(blocks: list[dict], *, stop_reason="end_turn", usage_start=None, usage_end=None,
                     pieces: int = 3) -> list[dict]:
    """A recorded-shape Anthropic stream of the given final blocks, each streamed value in `pieces`."""
    events = [{"type": "message_start", "message": {
        "id": "msg_01C0nf0rm", "type": "message", "role": "assistant", "model": CLAUDE, "content": [],
        "stop_reason": None, "stop_sequence": None,
        "usage": usage_start or {"input_tokens": 40, "cache_creation_input_tokens": 0,
                                 "cache_read_input_tokens": 0, "output_tokens": 1}}}]
    for index, block in enumerate(blocks):
        start, streamed = _streamed(block)
        events.append({"type": "content_block_start", "index": index, "content_block": start})
        for kind, field, value in streamed:
            parts = [value] if kind == "signature_delta" else _split(value, pieces)  # a signature comes whole
            events += [{"type": "content_block_delta", "index": index, "delta": {"type": kind, field: part}}
                       for part in parts]
        events.append({"type": "content_block_stop", "index": index})
    events.append({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                   "usage": usage_end or {"output_tokens": 60}})
    events.append({"type": "message_stop"})
    return events


def _streamed(block: dict) -> tuple[dict, list[tuple[str, str, str]]]:
    """(content_block of the start event, [(delta type, field, whole value)]) of one final block."""
    kind = block["type"]
    if kind == "thinking":
        return ({"type": "thinking", "thinking": "", "signature": ""},
                [("thinking_delta", "thinking", block["thinking"]), ("signature_delta", "signature", block["signature"])])
    if kind == "text":
        return {"type": "text", "text": ""}, [("text_delta", "text", block["text"])]
    if kind == "tool_use":
        return ({"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}},
                [("input_json_delta", "partial_json", json.dumps(block["input"], ensure_ascii=False))])
    return block, []  # redacted_thinking comes whole in its start event


def _split(text: str, pieces: int) -> list[str]:
    size = max(1, -(-len(text) // pieces))
    return [text[start:start + size] for start in range(0, len(text), size)] or [""]


# --- clients: how each SDK reads a stream --------------------------------------------------

# delta type -> (the block type the Anthropic SDK applies it to, the block field, append?)
_ANTHROPIC_DELTAS = {
    "text_delta": ("text", "text", True),
    "thinking_delta": ("thinking", "thinking", True),
    "signature_delta": ("thinking", "signature", False),
    "input_json_delta": ("tool_use", "partial_json", True),
}


def anthropic_client_message(events: list[dict]) -> dict:
    """The message an Anthropic SDK client assembles, asserting the stream grammar it relies on.

    Exactly one message_start, first, with usage; each block started at the next index while no
    other is open, deltas only for the open block and of its type (the SDK silently drops a
    thinking_delta in a text block), one stop per block; message_stop last.
    """
    message, open_index, finished = None, None, False
    for event in events:
        kind = event["type"]
        assert not finished, f"{kind} after message_stop"
        if kind == "message_start":
            assert message is None, "a second message_start"
            message = copy.deepcopy(event["message"])
            usage = message.get("usage")
            assert isinstance(usage, dict) and all(isinstance(usage.get(key), int)
                                                   for key in ("input_tokens", "output_tokens")), \
                f"message_start.usage must carry input_tokens and output_tokens: {usage}"
            continue
        assert message is not None, f"{kind} before message_start"
        if kind == "content_block_start":
            assert open_index is None, f"block {event['index']} started while block {open_index} is open"
            assert event["index"] == len(message["content"]), "block indexes go 0, 1, 2... with no gap"
            message["content"].append(copy.deepcopy(event["content_block"]))
            open_index = event["index"]
        elif kind == "content_block_delta":
            assert event["index"] == open_index, f"a delta for block {event['index']}, open: {open_index}"
            block, delta = message["content"][open_index], event["delta"]
            block_type, field, append = _ANTHROPIC_DELTAS[delta["type"]]
            assert block["type"] == block_type, f"a {delta['type']} inside a {block['type']} block"
            value = delta[field]
            block[field] = block.get(field, "") + value if append else value
        elif kind == "content_block_stop":
            assert event["index"] == open_index, f"a stop for block {event['index']}, open: {open_index}"
            block = message["content"][open_index]
            if block["type"] == "tool_use" and block.get("partial_json"):
                try:
                    block["input"] = json.loads(block.pop("partial_json"))
                except ValueError:
                    pass  # cut by the token limit: the SDK keeps its partial parse; the test reads stop_reason
            open_index = None
        elif kind == "message_delta":
            assert open_index is None, "message_delta while a block is open"
            message["stop_reason"] = event["delta"]["stop_reason"]
            message["usage"].update(event.get("usage") or {})
        elif kind == "message_stop":
            finished = True
        else:
            assert kind == "ping", f"unexpected event {event}"
    assert finished, "the stream did not end with message_stop"
    return message


def openai_client_message(chunks: list[dict]) -> tuple[dict, str | None, dict | None]:
    """(assistant message, finish_reason, usage) as an OpenAI client merges the deltas.

    Tool calls and ``reasoning_details`` are merged by index (text concatenated, the signature
    or data taken); the message is what a client sends back in its next request.
    """
    content, calls, details, finish_reason, usage = [], {}, {}, None, None
    for chunk in chunks:
        assert "error" not in chunk, chunk
        usage = chunk.get("usage") or usage
        for choice in chunk["choices"]:
            delta = choice.get("delta") or {}
            content.append(delta.get("content") or "")
            for detail in delta.get("reasoning_details") or []:
                entry = details.setdefault(detail["index"], {"type": detail["type"], "format": detail.get("format"),
                                                             "index": detail["index"]})
                if detail["type"] == "reasoning.text":
                    entry["text"] = entry.get("text", "") + (detail.get("text") or "")
                for field in ("signature", "data"):
                    if detail.get(field):
                        entry[field] = detail[field]
            for call in delta.get("tool_calls") or []:
                if call["index"] not in calls:
                    assert call.get("id") and call["function"].get("name"), "a tool call's first delta names it"
                    calls[call["index"]] = {"id": call["id"], "type": "function",
                                            "function": {"name": call["function"]["name"], "arguments": ""}}
                calls[call["index"]]["function"]["arguments"] += call["function"].get("arguments") or ""
            finish_reason = choice.get("finish_reason") or finish_reason
    message = {"role": "assistant", "content": "".join(content) or None}
    if details:
        message["reasoning_details"] = [details[index] for index in sorted(details)]
    if calls:
        assert sorted(calls) == list(range(len(calls))), "tool calls are numbered 0, 1, 2..."
        message["tool_calls"] = [calls[index] for index in sorted(calls)]
    return message, finish_reason, usage


def assert_identical(replayed: list[dict], original: list[dict]):
    """Blocks equal byte for byte once serialised (keys sorted: JSON objects are unordered)."""
    assert [orjson.dumps(block, option=orjson.OPT_SORT_KEYS) for block in replayed] == \
           [orjson.dumps(block, option=orjson.OPT_SORT_KEYS) for block in original]


def to_anthropic(body: dict) -> tuple[dict, list]:
    return translate_request(body, "openai", "anthropic", target_for("anthropic", CLAUDE))


def to_openai(body: dict, model: str = "gpt-4o") -> tuple[dict, list]:
    return translate_request(body, "anthropic", "openai", target_for("openai", model))


def through_json(value):
    """What a client holds after reading a JSON reply."""
    return json.loads(json.dumps(value))


# --- LiteLLM #25321 -------------------------------------------------------------------------

BASH_ARGUMENTS = {"command": "ls -la /tmp", "description": "List files"}
BASH_JSON = json.dumps(BASH_ARGUMENTS)

TEXT_THEN_TOOL_STREAMS = {
    # Gemini-style: the chunk that turns the text block into a tool_use carries all the arguments.
    "arguments in the transition chunk": [
        openai_chunk({"role": "assistant", "content": "I'll list them."}),
        openai_chunk({"tool_calls": [tool_call(0, call_id="call_1", name="Bash", arguments=BASH_JSON)]}),
        openai_chunk({}, "tool_calls"), openai_usage_chunk()],
    "text and the whole call in one chunk": [
        openai_chunk({"role": "assistant", "content": "I'll list them.",
                      "tool_calls": [tool_call(0, call_id="call_1", name="Bash", arguments=BASH_JSON)]}),
        openai_chunk({}, "tool_calls"), openai_usage_chunk()],
    "first fragment with the name": [
        openai_chunk({"role": "assistant", "content": "I'll list them."}),
        openai_chunk({"tool_calls": [tool_call(0, call_id="call_1", name="Bash", arguments=BASH_JSON[:12])]}),
        openai_chunk({"tool_calls": [tool_call(0, arguments=BASH_JSON[12:])]}),
        openai_chunk({}, "tool_calls"), openai_usage_chunk()],
    "OpenAI-style: empty first fragment": [
        openai_chunk({"role": "assistant", "content": "I'll list them."}),
        openai_chunk({"tool_calls": [tool_call(0, call_id="call_1", name="Bash")]}),
        *[openai_chunk({"tool_calls": [tool_call(0, arguments=part)]}) for part in _split(BASH_JSON, 5)],
        openai_chunk({}, "stop"), openai_usage_chunk()],  # some providers say "stop" after tool calls
}


@pytest.mark.parametrize("stream", TEXT_THEN_TOOL_STREAMS.values(), ids=TEXT_THEN_TOOL_STREAMS)
def test_litellm_25321_text_block_turning_into_tool_use_keeps_its_input(stream):
    """LiteLLM #25321: on /v1/messages with a non-Anthropic model, every tool_use arrived with
    ``input: {}`` when a text block turned into a tool_use: the chunk that triggered the block
    transition (Gemini sends name and arguments in it) was discarded. Claude Code then looped
    on "required parameter 'command' is missing".

    Checks: an OpenAI-provider stream (text, then a tool call whose arguments come in the
    transition chunk, in the text's own chunk, or in later fragments) read by an Anthropic SDK
    client gives [text, tool_use] with the tool's full input and stop reason ``tool_use``.
    """
    _, events = relay("anthropic", "openai", stream)
    message = anthropic_client_message(events)
    assert [block["type"] for block in message["content"]] == ["text", "tool_use"]
    assert message["content"][0]["text"] == "I'll list them."
    assert (message["content"][1]["name"], message["content"][1]["input"]) == ("Bash", BASH_ARGUMENTS)
    assert message["stop_reason"] == "tool_use"


def test_litellm_25321_non_streamed_reply_keeps_the_tool_input():
    """LiteLLM #25321 (the same reply, not streamed): text plus a tool call from an OpenAI
    provider become a text block and a tool_use whose input is the parsed arguments, not ``{}``."""
    reply = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gemini-2.5-pro",
             "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                 "role": "assistant", "content": "I'll list them.",
                 "tool_calls": [{"id": "call_1", "type": "function",
                                 "function": {"name": "Bash", "arguments": BASH_JSON}}]}}],
             "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}
    message = translate_response(reply, "openai", "anthropic", CLIENT_MODEL)
    assert message["content"] == [{"type": "text", "text": "I'll list them."},
                                  {"type": "tool_use", "id": "call_1", "name": "Bash", "input": BASH_ARGUMENTS}]


# --- LiteLLM #29491 -------------------------------------------------------------------------

BIG_INPUT = {"file_path": "/src/generated/table.py",
             "content": "".join(f"row_{n} = \"ü\\\"{'x' * (n % 17)}\" # €\n" for n in range(5600))}
BIG_ARGUMENTS = json.dumps(BIG_INPUT, ensure_ascii=False)
FRAGMENT = 41  # not a divisor of anything: fragments split escapes and multibyte characters


def test_litellm_29491_large_arguments_from_an_openai_provider_reach_an_anthropic_client_whole():
    """LiteLLM #29491: through the Anthropic streaming format, ``input_json_delta`` events were
    lost for tool calls from an OpenAI-compatible provider, with failure rates growing with the
    size of the arguments; Claude Code received ``tool_use`` with ``input: {}``.

    Checks: a ~200 KB argument string streamed in 41-character fragments (splitting escapes and
    multibyte characters) arrives as input_json_delta pieces whose concatenation is the
    provider's string exactly, and the client's assembled input equals it parsed.
    """
    assert len(BIG_ARGUMENTS.encode()) > 200_000
    stream = [openai_chunk({"role": "assistant", "content": None,
                            "tool_calls": [tool_call(0, call_id="call_big", name="Write")]})]
    stream += [openai_chunk({"tool_calls": [tool_call(0, arguments=BIG_ARGUMENTS[start:start + FRAGMENT])]})
               for start in range(0, len(BIG_ARGUMENTS), FRAGMENT)]
    stream += [openai_chunk({}, "tool_calls"), openai_usage_chunk()]
    _, events = relay("anthropic", "openai", stream)
    pieces = [event["delta"]["partial_json"] for event in events
              if event["type"] == "content_block_delta" and event["delta"]["type"] == "input_json_delta"]
    assert "".join(pieces) == BIG_ARGUMENTS
    message = anthropic_client_message(events)
    assert [block["type"] for block in message["content"]] == ["tool_use"]
    assert message["content"][0]["input"] == BIG_INPUT


def test_litellm_29491_large_arguments_from_anthropic_reach_an_openai_client_whole():
    """LiteLLM #29491, the reverse direction: a ~200 KB tool input streamed by Anthropic in
    many ``input_json_delta`` fragments reaches an OpenAI client as argument fragments whose
    concatenation is exactly the streamed JSON (nothing lost, nothing re-ordered)."""
    tool = {"type": "tool_use", "id": "toolu_big", "name": "Write", "input": BIG_INPUT}
    events = anthropic_stream([tool], stop_reason="tool_use", pieces=len(BIG_ARGUMENTS) // FRAGMENT)
    _, chunks = relay("openai", "anthropic", events)
    message, finish_reason, _ = openai_client_message(chunks)
    assert finish_reason == "tool_calls"
    assert [call["function"]["name"] for call in message["tool_calls"]] == ["Write"]
    assert message["tool_calls"][0]["function"]["arguments"] == BIG_ARGUMENTS
    assert json.loads(message["tool_calls"][0]["function"]["arguments"]) == BIG_INPUT


# --- LiteLLM #32357 -------------------------------------------------------------------------

REASONING_STREAMS = {
    "reasoning_content, then content": ("reasoning_content", [
        openai_chunk({"role": "assistant", "content": ""}),
        openai_chunk({"reasoning_content": "The user greets. "}),
        openai_chunk({"reasoning_content": "Answer briefly."}),
        openai_chunk({"content": "Hello"}), openai_chunk({"content": "!"}),
        openai_chunk({}, "stop"), openai_usage_chunk()]),
    "reasoning in the role chunk (vLLM `reasoning`)": ("reasoning", [
        openai_chunk({"role": "assistant", "reasoning": "The user greets. "}),
        openai_chunk({"reasoning": "Answer briefly."}),
        openai_chunk({"content": "Hello"}), openai_chunk({"content": "!"}),
        openai_chunk({}, "stop"), openai_usage_chunk()]),
    "last reasoning and first text in one chunk": ("reasoning_content", [
        openai_chunk({"role": "assistant", "reasoning_content": "The user greets. "}),
        openai_chunk({"reasoning_content": "Answer briefly.", "content": "Hello"}),
        openai_chunk({"content": "!"}),
        openai_chunk({}, "stop"), openai_usage_chunk()]),
}


@pytest.mark.parametrize("field, stream", REASONING_STREAMS.values(), ids=REASONING_STREAMS)
def test_litellm_32357_reasoning_streams_into_a_thinking_block_with_one_message_start(field, stream):
    """LiteLLM #32357: with an OpenAI-compatible reasoning model (``reasoning_content``) behind
    /v1/messages, ``message_start`` was sent twice and the reasoning was streamed as
    ``thinking_delta`` into a block opened as ``text``; the Anthropic SDK drops such deltas, so
    Claude Code saw an empty message and aborted the turn.

    Checks: one message_start; the reasoning opens a ``thinking`` block (every thinking_delta
    inside it) and the answer a separate ``text`` block after it; nothing is lost.
    """
    _, events = relay("anthropic", "openai", stream)
    assert [event["type"] for event in events].count("message_start") == 1
    message = anthropic_client_message(events)
    assert [block["type"] for block in message["content"]] == ["thinking", "text"]
    assert message["content"][0]["thinking"] == "The user greets. Answer briefly."
    assert message["content"][1]["text"] == "Hello!"


def test_litellm_32357_a_reasoning_only_turn_is_still_one_valid_message():
    """LiteLLM #32357: a turn that only reasons before ending must still be one well-formed
    message (one message_start, one thinking block, message_stop)."""
    stream = [openai_chunk({"role": "assistant", "reasoning_content": "Nothing to add."}),
              openai_chunk({}, "stop"), openai_usage_chunk()]
    _, events = relay("anthropic", "openai", stream)
    message = anthropic_client_message(events)
    assert [block["type"] for block in message["content"]] == ["thinking"]
    assert message["stop_reason"] == "end_turn"


# --- LiteLLM #24176 and #13373 --------------------------------------------------------------

GRAMMAR_STREAMS = {
    **{f"text then tool: {name}": stream for name, stream in TEXT_THEN_TOOL_STREAMS.items()},
    **{f"reasoning: {name}": stream for name, (_, stream) in REASONING_STREAMS.items()},
    "tool call first, no text": [
        openai_chunk({"role": "assistant", "content": None,
                      "tool_calls": [tool_call(0, call_id="call_1", name="Bash", arguments=BASH_JSON)]}),
        openai_chunk({}, "tool_calls"), openai_usage_chunk()],
    "nothing but a finish reason": [openai_chunk({"role": "assistant"}, "stop"), openai_usage_chunk()],
    "no usage chunk": [openai_chunk({"role": "assistant", "content": "Hi"}), openai_chunk({}, "stop")],
}


@pytest.mark.parametrize("stream", GRAMMAR_STREAMS.values(), ids=GRAMMAR_STREAMS)
def test_litellm_24176_13373_message_start_has_usage_and_no_delta_precedes_its_block(stream):
    """LiteLLM #24176 (PR #24182): the translated Anthropic stream's ``message_start`` lacked
    ``usage`` (clients that read it, such as Claude Code's cost tracking, failed or counted
    nothing). LiteLLM #13373, as the brief reports it (not found in the search index; LiteLLM
    #31561 and #31560 report the same family): a ``content_block_delta`` arrived before its
    ``content_block_start``.

    Checks, for every recorded stream shape: message_start comes first, once, with integer
    ``input_tokens`` and ``output_tokens``; no delta precedes its block's start or follows its
    stop; the final usage a client assembles equals what the provider counted.
    """
    _, events = relay("anthropic", "openai", stream)
    message = anthropic_client_message(events)
    usage = next((chunk["usage"] for chunk in stream if chunk.get("usage")), None)
    if usage:
        assert (message["usage"]["input_tokens"], message["usage"]["output_tokens"]) == \
               (usage["prompt_tokens"], usage["completion_tokens"])
    message_delta = next(event for event in events if event["type"] == "message_delta")
    assert isinstance(message_delta.get("usage", {}).get("output_tokens"), int), "message_delta carries usage"


# --- LiteLLM #22997 -------------------------------------------------------------------------

SIGNED_THINKING = {"type": "thinking",
                   "thinking": "Paris first.\n  Then «Tokyo» — two calls; keep the trailing space ",
                   "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxZW8vRx4ObLsAuQxEiMG8=="}
REDACTED_THINKING = {"type": "redacted_thinking",
                     "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpPkNRj2YfWXGmKDxH4mPn=="}
WEATHER_TOOL = {"name": "get_weather", "description": "Weather for a city",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
OPENAI_WEATHER_TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                                        "parameters": WEATHER_TOOL["input_schema"], "strict": True}}


@pytest.mark.parametrize("model", ["gpt-4o", "qwen3-coder-480b"])
def test_litellm_22997_thinking_blocks_never_reach_an_openai_upstream_as_content(model):
    """LiteLLM #22997 (fixed by PR #23039): Claude Code's assistant ``thinking`` blocks were
    forwarded to an OpenAI-compatible upstream (hosted vLLM, sglang) as content parts of type
    ``thinking``, which it rejects (``Input should be 'text'``); text conversions leaked the
    private reasoning into visible content.

    Checks: an Anthropic request whose history holds signed and redacted thinking reaches an
    OpenAI-format model (plain and reasoning) with no ``thinking`` part, none of the thinking
    text, signature or redacted data anywhere in its messages, and the drop named.
    """
    body = {"model": CLIENT_MODEL, "max_tokens": 1024, "tools": [WEATHER_TOOL], "messages": [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": [SIGNED_THINKING, REDACTED_THINKING, {"type": "text", "text": "Checking."},
                                          {"type": "tool_use", "id": "toolu_1", "name": "get_weather",
                                           "input": {"city": "Paris"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "18°C"}]}]}
    shaped, dropped = to_openai(body, model)
    for message in shaped["messages"]:
        parts = message["content"] if isinstance(message.get("content"), list) else []
        assert all(part["type"] in ("text", "image_url", "file") for part in parts), message
    serialised = json.dumps(shaped["messages"], ensure_ascii=False)
    for secret in (SIGNED_THINKING["thinking"].strip(), SIGNED_THINKING["signature"], REDACTED_THINKING["data"]):
        assert secret not in serialised
    assert shaped["messages"][1] == {"role": "assistant", "content": "Checking.", "tool_calls": [
        {"id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]}
    assert "messages[].thinking" in dropped


# --- LiteLLM #16711 -------------------------------------------------------------------------

THREE_CALLS = [("toolu_A", "Read", {"path": "a.py"}), ("toolu_B", "Grep", {"pattern": "def "}),
               ("toolu_C", "Bash", {"command": "pytest"})]


def test_litellm_16711_several_tool_results_of_one_turn_become_one_tool_message_each():
    """LiteLLM #16711: a Claude Code turn answering several tool_use blocks at once reached the
    provider with multiple ``tool_result`` blocks for one id ("each tool_use must have a single
    result"), a 500 for the client.

    Checks (Anthropic client, OpenAI upstream): one user turn with three tool_results (text,
    block list, error) and a text becomes, right after the assistant's three tool calls, one
    ``tool`` message per result in order, each id exactly once, then the user's text.
    """
    body = {"model": CLIENT_MODEL, "max_tokens": 512, "messages": [
        {"role": "user", "content": "Check the project."},
        {"role": "assistant", "content": [{"type": "text", "text": "Three checks."}] + [
            {"type": "tool_use", "id": call_id, "name": name, "input": arguments}
            for call_id, name, arguments in THREE_CALLS]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_A", "content": "print('a')"},
            {"type": "tool_result", "tool_use_id": "toolu_B", "content": [{"type": "text", "text": "a.py:1"}]},
            {"type": "tool_result", "tool_use_id": "toolu_C", "content": "1 failed", "is_error": True},
            {"type": "text", "text": "Go on."}]}]}
    shaped, _ = to_openai(body)
    roles = [message["role"] for message in shaped["messages"]]
    assert roles == ["user", "assistant", "tool", "tool", "tool", "user"]
    assert [call["id"] for call in shaped["messages"][1]["tool_calls"]] == ["toolu_A", "toolu_B", "toolu_C"]
    assert [(m["tool_call_id"], m["content"]) for m in shaped["messages"][2:5]] == [
        ("toolu_A", "print('a')"), ("toolu_B", "a.py:1"), ("toolu_C", "Error: 1 failed")]
    assert shaped["messages"][5]["content"] == "Go on."


def test_litellm_16711_several_tool_messages_become_one_result_each_in_one_user_turn():
    """LiteLLM #16711, the other direction: an OpenAI client's three ``tool`` messages and a
    following user message reach Anthropic as one user turn whose first blocks are the three
    ``tool_result`` blocks, each id exactly once, then the text (Anthropic requires results
    first and one result per tool_use)."""
    body = {"model": CLIENT_MODEL, "messages": [
        {"role": "user", "content": "Check the project."},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}
            for call_id, name, arguments in THREE_CALLS]},
        *[{"role": "tool", "tool_call_id": call_id, "content": f"result {call_id}"} for call_id, _, _ in THREE_CALLS],
        {"role": "user", "content": "Go on."}]}
    shaped, _ = to_anthropic(body)
    assert [message["role"] for message in shaped["messages"]] == ["user", "assistant", "user"]
    results = shaped["messages"][2]["content"]
    assert [(block["type"], block.get("tool_use_id")) for block in results] == [
        ("tool_result", "toolu_A"), ("tool_result", "toolu_B"), ("tool_result", "toolu_C"), ("text", None)]


# --- LiteLLM #20021 and #36683 ---------------------------------------------------------------

CLIENT_BETAS = "claude-code-20250219, interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14"
OAUTH_BETA = "oauth-2025-04-20"


@pytest.fixture
def adapter_of():
    built = []

    def build(provider_type: str):
        config = parse_config({"providers": [{"name": "p", "type": provider_type, "api_keys": ["sk-test"]}]},
                              Path("cortex.yaml"), environ={})
        adapter = build_adapters(config)["p"]
        built.append(adapter)
        return adapter

    yield build
    for adapter in built:
        adapter.close()


def claude_code_call(betas: str | None = CLIENT_BETAS) -> UpstreamCall:
    headers = Headers({"Anthropic-Version": "2023-06-01", "Content-Type": "application/json"})
    if betas is not None:
        headers["Anthropic-Beta"] = betas  # request.headers: case-insensitive, as clients capitalise it
    return UpstreamCall(path="/messages", body={}, headers=headers)


API_KEY = Credential({"x-api-key": "sk-test"}, key_index=0)
OAUTH = Credential({"Authorization": "Bearer sk-ant-oat01-test"})


@pytest.mark.parametrize("betas, credential, expected", [
    (CLIENT_BETAS, API_KEY, CLIENT_BETAS),
    (CLIENT_BETAS, OAUTH, f"{CLIENT_BETAS},{OAUTH_BETA}"),
    (None, OAUTH, OAUTH_BETA),
    (None, API_KEY, None),
    (f"{OAUTH_BETA}, {CLIENT_BETAS}", OAUTH, f"{OAUTH_BETA}, {CLIENT_BETAS}"),
], ids=["api key: unchanged", "oauth: appended", "oauth alone", "none sent, none added", "oauth beta sent: kept once"])
def test_litellm_20021_36683_anthropic_beta_is_forwarded_unchanged_and_oauth_appended(adapter_of, betas,
                                                                                      credential, expected):
    """LiteLLM #20021 and #36683, as the brief reports them (neither is in the search index;
    the same reports: LiteLLM #9016, #15299, #15622 "anthropic-beta not forwarded", PR #22399
    "the OAuth beta overwrote the client's betas", PR #36736 "claude-code-20250219 stripped"):
    ``anthropic-beta`` values were dropped or forwarded wrongly.

    Checks (adapter level, pass-through to Anthropic): the client's anthropic-beta value goes
    upstream byte for byte; with an OAuth credential ``oauth-2025-04-20`` is appended to it,
    never replacing it; nothing is invented when the client sent none with an API key.
    """
    headers = adapter_of("anthropic").request_headers(claude_code_call(betas), credential)
    assert headers.get("anthropic-beta") == expected
    assert headers["anthropic-version"] == "2023-06-01"


def test_litellm_20021_36683_an_openai_type_provider_gets_no_anthropic_headers(adapter_of):
    """LiteLLM #20021/#36683, the other half ("forwarded wrongly"; cf. LiteLLM PR #39597, Vertex
    rejecting betas it does not know): an Anthropic client's anthropic-beta and
    anthropic-version go to no OpenAI-type provider."""
    headers = adapter_of("openai").request_headers(claude_code_call(), API_KEY)
    assert not {name.lower() for name in headers} & {"anthropic-beta", "anthropic-version"}


# --- LiteLLM #26625 and #36091 ---------------------------------------------------------------

EPHEMERAL = {"type": "ephemeral"}
ONE_HOUR = {"type": "ephemeral", "ttl": "1h"}
PNG = "data:image/png;base64,iVBORw0KGgo="


def test_litellm_26625_cache_control_on_openai_content_parts_reaches_anthropic():
    """LiteLLM #26625, as the brief reports it (not found in the search index; the same report:
    LiteLLM PR #23883 "cache_control silently dropped from file blocks", #33687): the
    ``cache_control`` an OpenAI client sets on content parts (the LiteLLM/OpenRouter extension)
    was dropped on the way to Anthropic, so prompt caching silently never happened.

    Checks: cache_control on a system part, a user text part, an image part and a tool
    message's text part is on the matching Anthropic block, unchanged (ttl included).
    """
    body = {"model": CLIENT_MODEL, "messages": [
        {"role": "system", "content": [{"type": "text", "text": "You are terse.", "cache_control": ONE_HOUR}]},
        {"role": "user", "content": [
            {"type": "text", "text": "A long document.", "cache_control": EPHEMERAL},
            {"type": "image_url", "image_url": {"url": PNG}, "cache_control": EPHEMERAL},
            {"type": "text", "text": "Summarise it."}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1",
         "content": [{"type": "text", "text": "Found it.", "cache_control": EPHEMERAL}]}]}
    shaped, _ = to_anthropic(body)
    assert shaped["system"] == [{"type": "text", "text": "You are terse.", "cache_control": ONE_HOUR}]
    user = shaped["messages"][0]["content"]
    assert [block.get("cache_control") for block in user] == [EPHEMERAL, EPHEMERAL, None]
    assert user[1]["type"] == "image"
    result = shaped["messages"][2]["content"][0]
    assert result["content"] == [{"type": "text", "text": "Found it.", "cache_control": EPHEMERAL}]


def test_litellm_26625_cache_control_on_openai_messages_and_tools_reaches_anthropic():
    """LiteLLM #26625, the other places LiteLLM's clients put ``cache_control`` (its prompt
    caching docs; LiteLLM PR #29166 "message cache_control dropped"): on a message whose content
    is a string, and on a tool definition. Checks: the breakpoint is on that message's block
    and on the Anthropic tool, not silently lost."""
    body = {"model": CLIENT_MODEL, "tools": [{**OPENAI_WEATHER_TOOL, "cache_control": EPHEMERAL}], "messages": [
        {"role": "system", "content": "You are terse.", "cache_control": EPHEMERAL},
        {"role": "user", "content": "A long document.", "cache_control": ONE_HOUR}]}
    shaped, _ = to_anthropic(body)
    assert shaped["system"] == [{"type": "text", "text": "You are terse.", "cache_control": EPHEMERAL}]
    assert shaped["messages"][0]["content"] == [{"type": "text", "text": "A long document.",
                                                 "cache_control": ONE_HOUR}]
    assert shaped["tools"][0]["cache_control"] == EPHEMERAL


ANTHROPIC_CACHED_USAGE = {"input_tokens": 25, "cache_creation_input_tokens": 50, "cache_read_input_tokens": 1000,
                          "output_tokens": 15}
OPENAI_CACHED = {"prompt_tokens": 1075, "completion_tokens": 15, "total_tokens": 1090,
                 "prompt_tokens_details": {"cached_tokens": 1000}}


def test_litellm_36091_anthropic_cache_tokens_reach_an_openai_client_not_streamed():
    """LiteLLM #36091: through a translating bridge the cache accounting was lost
    (``cache_read_input_tokens`` always 0), so clients and cost dashboards could not see
    caching work and billed cached input at the full rate.

    Checks (Anthropic provider, OpenAI client, not streamed): ``prompt_tokens`` counts all
    input (uncached + cache reads + cache writes) and ``prompt_tokens_details.cached_tokens``
    the cache reads.
    """
    reply = {"id": "msg_1", "type": "message", "role": "assistant", "model": CLAUDE,
             "content": [{"type": "text", "text": "Hi"}], "stop_reason": "end_turn", "stop_sequence": None,
             "usage": ANTHROPIC_CACHED_USAGE}
    usage = translate_response(reply, "anthropic", "openai", CLIENT_MODEL)["usage"]
    assert {key: usage[key] for key in OPENAI_CACHED} == OPENAI_CACHED


@pytest.mark.parametrize("usage_start, usage_end", [
    (ANTHROPIC_CACHED_USAGE | {"output_tokens": 1}, {"output_tokens": 15}),
    ({"input_tokens": 25, "output_tokens": 1}, ANTHROPIC_CACHED_USAGE),  # counters repeated at the end
], ids=["counted at message_start", "counted at message_delta"])
def test_litellm_36091_anthropic_cache_tokens_reach_an_openai_client_streamed(usage_start, usage_end):
    """LiteLLM #36091 (and its streaming counterpart #28354, cf. #31069): streamed, the usage
    chunk an OpenAI client asked for carries the cache reads in ``cached_tokens`` and all input
    in ``prompt_tokens``, and the usage record keeps reads and writes apart for cost."""
    events = anthropic_stream([{"type": "text", "text": "Hi"}], usage_start=usage_start, usage_end=usage_end)
    stream, chunks = relay("openai", "anthropic", events, include_usage=True)
    _, _, usage = openai_client_message(chunks)
    assert {key: usage[key] for key in OPENAI_CACHED} == OPENAI_CACHED
    assert (stream.usage.input_tokens, stream.usage.cache_read_tokens, stream.usage.cache_creation_tokens) == \
           (1075, 1000, 50)


def test_litellm_36091_openai_cached_tokens_reach_an_anthropic_client():
    """LiteLLM #36091, the other direction (cf. #31069: ``cache_read_input_tokens`` 0 on
    /v1/messages with an OpenAI-format upstream): OpenAI's ``cached_tokens`` become
    ``cache_read_input_tokens`` and ``input_tokens`` the uncached rest, streamed and not, and
    the usage record keeps the cache reads."""
    reply = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o",
             "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Hi"}}],
             "usage": OPENAI_CACHED}
    expected = {"input_tokens": 75, "cache_read_input_tokens": 1000, "output_tokens": 15}
    usage = translate_response(reply, "openai", "anthropic", CLIENT_MODEL)["usage"]
    assert {key: usage[key] for key in expected} == expected
    stream, events = relay("anthropic", "openai", [openai_chunk({"role": "assistant", "content": "Hi"}),
                                                   openai_chunk({}, "stop"),
                                                   openai_usage_chunk(1075, 15, cached=1000)])
    usage = anthropic_client_message(events)["usage"]
    assert {key: usage[key] for key in expected} == expected
    assert (stream.usage.input_tokens, stream.usage.cache_read_tokens) == (1075, 1000)


# --- LiteLLM #25825 -------------------------------------------------------------------------

def _openai_reply(finish_reason, tool_calls=None):
    message = {"role": "assistant", "content": "The answer is cut"}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "llama3",
            "choices": [{"index": 0, "finish_reason": finish_reason, "message": message}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}}


TRUNCATED_CALL = [{"id": "call_1", "type": "function", "function": {"name": "Write", "arguments": "{\"path\": \"a"}}]


@pytest.mark.parametrize("tool_calls", [None, TRUNCATED_CALL], ids=["text", "cut inside a tool call"])
def test_litellm_25825_length_from_an_openai_provider_is_max_tokens(tool_calls):
    """LiteLLM #25825: a response cut by the token limit came back to an Anthropic client as
    ``end_turn`` (``finish_reason`` read as ``stop``), so callers could not detect truncation.

    Checks: an OpenAI-format ``length`` becomes ``max_tokens``, not streamed and streamed,
    also when the cut falls inside a tool call (the tool call must not win over the limit).
    """
    assert translate_response(_openai_reply("length", tool_calls), "openai", "anthropic",
                              CLIENT_MODEL)["stop_reason"] == "max_tokens"
    delta = {"role": "assistant", "content": "The answer is cut"}
    if tool_calls:
        delta["tool_calls"] = [tool_call(0, call_id="call_1", name="Write", arguments="{\"path\": \"a")]
    _, events = relay("anthropic", "openai", [openai_chunk(delta), openai_chunk({}, "length"), openai_usage_chunk()])
    assert anthropic_client_message(events)["stop_reason"] == "max_tokens"


@pytest.mark.parametrize("stop_reason", ["max_tokens", "model_context_window_exceeded"])
def test_litellm_25825_max_tokens_from_anthropic_is_length(stop_reason):
    """LiteLLM #25825, the other direction: Anthropic's ``max_tokens`` (and the context window
    running out) reach an OpenAI client as ``finish_reason: "length"``, streamed and not."""
    reply = {"id": "msg_1", "type": "message", "role": "assistant", "model": CLAUDE,
             "content": [{"type": "text", "text": "The answer is cut"}], "stop_reason": stop_reason,
             "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 20}}
    assert translate_response(reply, "anthropic", "openai", CLIENT_MODEL)["choices"][0]["finish_reason"] == "length"
    _, chunks = relay("openai", "anthropic", anthropic_stream([{"type": "text", "text": "The answer is cut"}],
                                                              stop_reason=stop_reason))
    assert openai_client_message(chunks)[1] == "length"


# --- Bifrost #6342 --------------------------------------------------------------------------

TURN_ONE_BLOCKS = [SIGNED_THINKING, REDACTED_THINKING, {"type": "text", "text": "Let me check."},
                   {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}}]


def anthropic_reply(blocks, message_id="msg_01"):
    return {"id": message_id, "type": "message", "role": "assistant", "model": CLAUDE, "content": blocks,
            "stop_reason": "tool_use", "stop_sequence": None, "usage": {"input_tokens": 30, "output_tokens": 90}}


def replay_request(*turns) -> dict:
    """An OpenAI client's next request: the question, then each (assistant message, tool call id) turn
    followed by its tool result."""
    messages = [{"role": "user", "content": "Weather in Paris?"}]
    for assistant, call_id in turns:
        messages += [assistant, {"role": "tool", "tool_call_id": call_id, "content": "18°C, sunny"}]
    return {"model": CLIENT_MODEL, "messages": messages, "tools": [OPENAI_WEATHER_TOOL], "reasoning_effort": "low"}


def test_bifrost_6342_replayed_thinking_is_byte_identical_and_first_not_streamed():
    """Bifrost #6342: replayed assistant turns with thinking blocks were restructured on the
    way to Anthropic; Anthropic answered 400 "thinking or redacted_thinking blocks in the
    latest assistant message cannot be modified", and the conversation was wedged for good.

    Checks: an Anthropic reply with signed and redacted thinking, read by an OpenAI client
    (``reasoning_details``) and sent back as the assistant message of the next request, reaches
    Anthropic with both blocks byte-identical, first in the turn, before text and tool_use.
    """
    reply = through_json(translate_response(anthropic_reply(TURN_ONE_BLOCKS), "anthropic", "openai", CLIENT_MODEL))
    assistant = reply["choices"][0]["message"]
    shaped, _ = to_anthropic(replay_request((assistant, "toolu_01")))
    turn = shaped["messages"][1]
    assert turn["role"] == "assistant"
    assert_identical(turn["content"][:2], [SIGNED_THINKING, REDACTED_THINKING])
    assert [block["type"] for block in turn["content"][2:]] == ["text", "tool_use"]


def test_bifrost_6342_replayed_thinking_is_byte_identical_and_first_streamed():
    """Bifrost #6342, streamed: the OpenAI client merges the stream's ``reasoning_details``
    deltas by index (text concatenated, signature and data taken), sends the assembled
    message back, and the Anthropic request holds the blocks the Anthropic stream built,
    byte-identical and first in the turn."""
    _, chunks = relay("openai", "anthropic", anthropic_stream(TURN_ONE_BLOCKS, stop_reason="tool_use", pieces=4))
    assistant, finish_reason, _ = openai_client_message(chunks)
    assert finish_reason == "tool_calls"
    shaped, _ = to_anthropic(replay_request((through_json(assistant), "toolu_01")))
    assert_identical(shaped["messages"][1]["content"][:2], [SIGNED_THINKING, REDACTED_THINKING])


# --- Bifrost #5274 --------------------------------------------------------------------------

TURN_TWO_THINKING = {"type": "thinking", "thinking": "Paris done; now Tokyo.",
                     "signature": "ErcBCkYIBRgCKkBv0Zl1TuN3Yq7Jw6f8xqo5c2R0=="}
TURN_TWO_BLOCKS = [TURN_TWO_THINKING,
                   {"type": "tool_use", "id": "toolu_02", "name": "get_weather", "input": {"city": "Tokyo"}}]


def as_litellm_thinking_blocks(message: dict) -> dict:
    """The same assistant turn as a LiteLLM-style client keeps it: ``thinking_blocks``."""
    blocks = [block for block in (_block_of(detail) for detail in message.pop("reasoning_details")) if block]
    message.pop("reasoning_content", None)
    return {**message, "thinking_blocks": blocks}


def _block_of(detail: dict) -> dict:
    if detail["type"] == "reasoning.encrypted":
        return {"type": "redacted_thinking", "data": detail["data"]}
    return {"type": "thinking", "thinking": detail["text"], "signature": detail["signature"]}


@pytest.mark.parametrize("client_form", [lambda message: message, as_litellm_thinking_blocks],
                         ids=["reasoning_details (OpenRouter)", "thinking_blocks (LiteLLM)"])
def test_bifrost_5274_signatures_survive_every_turn_of_a_tool_conversation(client_form):
    """Bifrost #5274: ``reasoning_details`` sent back by an OpenAI-compatible client were
    silently dropped, so the Anthropic thinking signature never reached the provider on the
    next tool turn (Claude then loses its reasoning, or Anthropic rejects the turn).

    Checks, over three requests (turn 1 thinking + tool_use, turn 2 tool_result then thinking
    + tool_use, turn 3 tool_result): every assistant turn reaches Anthropic starting with its
    own signed blocks, byte-identical, in both replay forms clients use.
    """
    first = client_form(through_json(translate_response(anthropic_reply(TURN_ONE_BLOCKS), "anthropic", "openai",
                                                        CLIENT_MODEL))["choices"][0]["message"])
    shaped, _ = to_anthropic(replay_request((first, "toolu_01")))
    assert_identical(shaped["messages"][1]["content"][:2], [SIGNED_THINKING, REDACTED_THINKING])

    second = client_form(through_json(translate_response(anthropic_reply(TURN_TWO_BLOCKS, "msg_02"), "anthropic",
                                                         "openai", CLIENT_MODEL))["choices"][0]["message"])
    shaped, _ = to_anthropic(replay_request((first, "toolu_01"), (second, "toolu_02")))
    assert [message["role"] for message in shaped["messages"]] == ["user", "assistant", "user", "assistant", "user"]
    assert_identical(shaped["messages"][1]["content"][:2], [SIGNED_THINKING, REDACTED_THINKING])
    assert_identical(shaped["messages"][3]["content"][:1], [TURN_TWO_THINKING])
    assert shaped["messages"][3]["content"][1]["id"] == "toolu_02"
    assert shaped["messages"][4]["content"][0]["tool_use_id"] == "toolu_02"


# --- Bifrost #3441 and #3512 -----------------------------------------------------------------

CITIES = ["Paris", "Tokyo", "Lima"]
CITY_ARGUMENTS = [json.dumps({"city": city}) for city in CITIES]

THREE_TOOL_STREAMS = {
    "one call after another": [
        openai_chunk({"role": "assistant", "content": "Three lookups."}),
        *[chunk for n, arguments in enumerate(CITY_ARGUMENTS) for chunk in [
            openai_chunk({"tool_calls": [tool_call(n, call_id=f"call_{n}", name="get_weather")]}),
            *[openai_chunk({"tool_calls": [tool_call(n, arguments=part)]}) for part in _split(arguments, 3)]]],
        openai_chunk({}, "tool_calls"), openai_usage_chunk()],
    "all three in one chunk": [
        openai_chunk({"role": "assistant", "content": None, "tool_calls": [
            tool_call(n, call_id=f"call_{n}", name="get_weather", arguments=arguments)
            for n, arguments in enumerate(CITY_ARGUMENTS)]}),
        openai_chunk({}, "tool_calls"), openai_usage_chunk()],
    "after reasoning and text (Kimi-style)": [
        openai_chunk({"role": "assistant", "reasoning_content": "Three cities."}),
        openai_chunk({"content": "Three lookups."}),
        *[openai_chunk({"tool_calls": [tool_call(n, call_id=f"functions.get_weather:{n}", name="get_weather",
                                                 arguments=arguments)]})
          for n, arguments in enumerate(CITY_ARGUMENTS)],
        openai_chunk({}, "tool_calls"), openai_usage_chunk()],
}


@pytest.mark.parametrize("stream", THREE_TOOL_STREAMS.values(), ids=THREE_TOOL_STREAMS)
def test_bifrost_3441_every_streamed_tool_call_becomes_its_own_closed_block(stream):
    """Bifrost #3441 (PR): with Claude Code on /anthropic/v1/messages routed to an
    OpenAI-compatible provider (Kimi K2.6), only the first streamed tool call was converted,
    content blocks overlapped (a block started before the previous one stopped) and tool
    blocks were not closed after their arguments.

    Checks: three streamed tool calls (sequential fragments, all in one chunk, after reasoning
    and text) give three tool_use blocks with their inputs, every start closed by its stop
    before the next start, indexes strictly increasing from 0, stop reason ``tool_use``.
    """
    _, events = relay("anthropic", "openai", stream)
    starts = [event["index"] for event in events if event["type"] == "content_block_start"]
    assert starts == list(range(len(starts)))
    message = anthropic_client_message(events)
    tools = [block for block in message["content"] if block["type"] == "tool_use"]
    assert [(block["name"], block["input"]) for block in tools] == [("get_weather", {"city": c}) for c in CITIES]
    assert len({block["id"] for block in tools}) == 3
    assert message["stop_reason"] == "tool_use"


def test_bifrost_3441_every_anthropic_tool_use_reaches_an_openai_client():
    """Bifrost #3441, the other direction: three tool_use blocks after thinking and text reach an
    OpenAI client as three tool calls numbered 0, 1, 2, each with its id, name and whole
    arguments, and ``finish_reason: "tool_calls"``."""
    blocks = [SIGNED_THINKING, {"type": "text", "text": "Three lookups."}] + [
        {"type": "tool_use", "id": f"toolu_{n}", "name": "get_weather", "input": {"city": city}}
        for n, city in enumerate(CITIES)]
    _, chunks = relay("openai", "anthropic", anthropic_stream(blocks, stop_reason="tool_use"))
    message, finish_reason, _ = openai_client_message(chunks)
    assert [(call["id"], json.loads(call["function"]["arguments"])) for call in message["tool_calls"]] == \
           [(f"toolu_{n}", {"city": city}) for n, city in enumerate(CITIES)]
    assert finish_reason == "tool_calls"


def test_bifrost_3512_openai_tools_and_tool_calls_reach_anthropic_in_its_schema():
    """Bifrost #3512: every OpenAI-format request with tools routed to Anthropic was rejected
    with a schema validation error (the translated tool payload was not one Anthropic accepts).

    Checks: three OpenAI function tools (with ``strict``) become Anthropic tools with only
    ``name``, ``description`` and ``input_schema``, and an assistant message's three tool calls
    become three ``tool_use`` blocks with object inputs, answered by three results.
    """
    tools = [{"type": "function", "function": {**OPENAI_WEATHER_TOOL["function"], "name": f"weather_{n}"}}
             for n in range(3)]
    body = replay_request(({"role": "assistant", "content": None, "tool_calls": [
        {"id": f"call_{n}", "type": "function", "function": {"name": f"weather_{n}", "arguments": arguments}}
        for n, arguments in enumerate(CITY_ARGUMENTS)]}, "call_0"))
    body["messages"] += [{"role": "tool", "tool_call_id": f"call_{n}", "content": "ok"} for n in (1, 2)]
    shaped, _ = to_anthropic({**body, "tools": tools})
    assert [set(tool) for tool in shaped["tools"]] == [{"name", "description", "input_schema"}] * 3
    assert [tool["input_schema"] for tool in shaped["tools"]] == [WEATHER_TOOL["input_schema"]] * 3
    uses = shaped["messages"][1]["content"]
    assert [(block["type"], block["id"], block["input"]) for block in uses] == [
        ("tool_use", f"call_{n}", {"city": city}) for n, city in enumerate(CITIES)]
    assert [block["tool_use_id"] for block in shaped["messages"][2]["content"]] == ["call_0", "call_1", "call_2"]
