"""The OpenAI Responses API as api.openai.com speaks it: response objects and the event stream.

The request is reduced to the facts the shared "brain" (``conversation``) decides on, and the
decided turn is rendered as output items: a ``reasoning`` item for reasoning models (with
``encrypted_content`` when the request includes it), then a ``message`` or one
``function_call``/``custom_tool_call``. Streams follow the real event order, every event
numbered.
"""

from __future__ import annotations

import itertools
import json
import time

from .conversation import (
    Turn,
    count_words,
    decide_turn,
    fragments,
    reasoning_text,
    schema_instance,
    sign,
    text_turn,
    word_pieces,
)
from .openai_wire import is_reasoning_model

_ids = itertools.count(1)
# Responses issued with `store` on, by id, with their input items: what the API keeps (GET, DELETE,
# input_items). The mock runs for the test session; entries are small.
ISSUED: dict[str, tuple[dict, list[dict]]] = {}
_TOOL_OUTPUTS = ("function_call_output", "custom_tool_call_output")


def _next_id(prefix: str) -> str:
    return f"{prefix}_mock{next(_ids)}"


def input_items(request: dict) -> list[dict]:
    value = request.get("input")
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": value}]
    return list(value or [])


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    return " ".join(str(part.get("text", "")) for part in content or []
                    if isinstance(part, dict) and part.get("type") in ("input_text", "output_text")
                    and part.get("text"))


def _item_text(item: dict) -> str:
    kind = item.get("type", "message")
    if kind == "message":
        return _text(item.get("content"))
    if kind in ("function_call_output", "custom_tool_call_output"):
        output = item.get("output")
        return output if isinstance(output, str) else _text(output)
    return ""


def tools(request: dict) -> dict[str, dict]:
    """Offered function and custom tools by name, with their parameters' schemas."""
    return {tool["name"]: tool.get("parameters") or {} for tool in request.get("tools") or []
            if tool.get("type") in ("function", "custom") and tool.get("name")}


def tool_names(request: dict) -> list[str]:
    return list(tools(request))


def _last_items(request: dict) -> list[dict]:
    return input_items(request)[-1:] if input_items(request) else []


def answers_tool_result(request: dict) -> bool:
    return any(item.get("type") in _TOOL_OUTPUTS for item in _last_items(request))


def last_tool_result_text(request: dict) -> str:
    results = []
    for item in reversed(input_items(request)):
        if item.get("type") not in _TOOL_OUTPUTS:
            break
        results.insert(0, _item_text(item))
    return " ".join(results)


def prompt_tokens(request: dict) -> int:
    return sum(count_words(_item_text(item)) for item in input_items(request)) \
        + count_words(request.get("instructions") or "")


def _custom_tools(request: dict) -> set[str]:
    return {tool.get("name") for tool in request.get("tools") or [] if tool.get("type") == "custom"}


def _inputs(request: dict) -> list[dict]:
    """The user's messages and tool outputs: what the model answers."""
    return [item for item in input_items(request)
            if (item.get("type", "message") == "message" and item.get("role") == "user")
            or item.get("type") in _TOOL_OUTPUTS]


def decide(request: dict) -> Turn:
    items = input_items(request)
    inputs = _inputs(request)
    tool_choice = request.get("tool_choice")
    return decide_turn(
        prompt_texts=[request.get("instructions") or ""] + [_item_text(item) for item in items],
        last_input_text=_item_text(inputs[-1]) if inputs else "",
        tools=tools(request),
        forced_tool=tool_choice.get("name") if isinstance(tool_choice, dict) else None,
        tools_allowed=tool_choice != "none",
        answering_tool_result=answers_tool_result(request),
    )


def shape(request: dict, turn: Turn) -> Turn:
    """What the request's options change in a decided turn: JSON under a json_schema text format,
    and reasoning for reasoning models unless the effort is "none"."""
    inputs = _inputs(request)
    text_format = (request.get("text") or {}).get("format") or {}
    if turn.text is not None and text_format.get("type") == "json_schema":
        turn = text_turn(json.dumps(schema_instance(text_format.get("schema") or {})), turn.prompt_tokens)
    if is_reasoning_model(request.get("model")) and (request.get("reasoning") or {}).get("effort") != "none":
        turn = turn.with_reasoning(reasoning_text(_item_text(inputs[-1]) if inputs else ""))
    return turn


def _usage(turn: Turn) -> dict:
    return {"input_tokens": turn.prompt_tokens, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": turn.completion_tokens,
            "output_tokens_details": {"reasoning_tokens": count_words(turn.thinking or "")},
            "total_tokens": turn.prompt_tokens + turn.completion_tokens}


def _output(request: dict, turn: Turn) -> list[dict]:
    output = []
    if turn.thinking is not None:
        encrypted = "reasoning.encrypted_content" in (request.get("include") or [])
        output.append({"type": "reasoning", "id": _next_id("rs"),
                       "summary": [{"type": "summary_text", "text": turn.thinking}],
                       "encrypted_content": sign(turn.thinking) if encrypted else None})
    if turn.tool_name in _custom_tools(request):
        output.append({"type": "custom_tool_call", "id": _next_id("ctc"), "call_id": _next_id("call"),
                       "name": turn.tool_name, "input": turn.tool_arguments_json, "status": "completed"})
    elif turn.tool_name:
        output.append({"type": "function_call", "id": _next_id("fc"), "call_id": _next_id("call"),
                       "name": turn.tool_name, "arguments": turn.tool_arguments_json, "status": "completed"})
    else:
        output.append({"type": "message", "id": _next_id("msg"), "status": "completed", "role": "assistant",
                       "content": [{"type": "output_text", "text": turn.text, "annotations": [], "logprobs": []}]})
    return output


def _response(request: dict, model: str, status: str, output: list, usage: dict | None, response_id: str) -> dict:
    return {
        "id": response_id, "object": "response", "created_at": int(time.time()), "status": status,
        "background": False, "error": None, "incomplete_details": None, "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"), "model": model, "output": output,
        "parallel_tool_calls": request.get("parallel_tool_calls", True),
        "previous_response_id": request.get("previous_response_id"),
        "reasoning": request.get("reasoning") or {"effort": None, "summary": None},
        "store": request.get("store", True), "temperature": request.get("temperature", 1.0),
        "text": request.get("text") or {"format": {"type": "text"}}, "tool_choice": request.get("tool_choice", "auto"),
        "tools": request.get("tools") or [], "top_p": request.get("top_p", 1.0), "truncation": "disabled",
        "usage": usage, "metadata": request.get("metadata") or {},
    }


def _issued(request: dict, response: dict) -> dict:
    if request.get("store", True) is not False:
        items = [{"id": item.get("id") or _next_id("msg"), "type": "message", **item} for item in input_items(request)]
        ISSUED[response["id"]] = (response, items)
    return response


def response(request: dict, model: str, turn: Turn | None = None) -> dict:
    turn = shape(request, turn or decide(request))
    return _issued(request, _response(request, model, "completed", _output(request, turn), _usage(turn),
                                      _next_id("resp")))


def _item_events(item: dict, index: int, event) -> list:
    """The events that stream one finished output item."""
    kind = item["type"]
    where = {"item_id": item["id"], "output_index": index}
    if kind == "message":
        text = item["content"][0]["text"]
        events = [event("response.output_item.added", output_index=index, item={**item, "status": "in_progress",
                                                                               "content": []}),
                  event("response.content_part.added", **where, content_index=0,
                        part={"type": "output_text", "text": "", "annotations": [], "logprobs": []})]
        events += [event("response.output_text.delta", **where, content_index=0, delta=piece, logprobs=[])
                   for piece in word_pieces(text)]
        events += [event("response.output_text.done", **where, content_index=0, text=text, logprobs=[]),
                   event("response.content_part.done", **where, content_index=0, part=item["content"][0])]
    elif kind == "reasoning":
        text = item["summary"][0]["text"]
        events = [event("response.output_item.added", output_index=index,
                        item={**item, "summary": [], "encrypted_content": None}),
                  event("response.reasoning_summary_part.added", **where, summary_index=0,
                        part={"type": "summary_text", "text": ""})]
        events += [event("response.reasoning_summary_text.delta", **where, summary_index=0, delta=piece)
                   for piece in word_pieces(text)]
        events += [event("response.reasoning_summary_text.done", **where, summary_index=0, text=text),
                   event("response.reasoning_summary_part.done", **where, summary_index=0,
                         part={"type": "summary_text", "text": text})]
    elif kind == "function_call":
        events = [event("response.output_item.added", output_index=index,
                        item={**item, "arguments": "", "status": "in_progress"})]
        events += [event("response.function_call_arguments.delta", **where, delta=piece)
                   for piece in fragments(item["arguments"])]
        events.append(event("response.function_call_arguments.done", **where, name=item["name"],
                            arguments=item["arguments"]))
    else:
        events = [event("response.output_item.added", output_index=index,
                        item={**item, "input": "", "status": "in_progress"}),
                  event("response.custom_tool_call_input.delta", **where, delta=item["input"]),
                  event("response.custom_tool_call_input.done", **where, input=item["input"])]
    return events + [event("response.output_item.done", output_index=index, item=item)]


def response_events(request: dict, model: str, turn: Turn | None = None) -> list[tuple[str, dict]]:
    """The named events of a streamed response, numbered from 0."""
    turn = shape(request, turn or decide(request))
    numbers = itertools.count()

    def event(kind: str, **fields) -> tuple[str, dict]:
        return kind, {"type": kind, "sequence_number": next(numbers), **fields}

    response_id = _next_id("resp")
    output = _output(request, turn)
    start = _response(request, model, "in_progress", [], None, response_id)
    events = [event("response.created", response=start), event("response.in_progress", response=start)]
    for index, item in enumerate(output):
        events += _item_events(item, index, event)
    completed = _issued(request, _response(request, model, "completed", output, _usage(turn), response_id))
    events.append(event("response.completed", response=completed))
    return events

