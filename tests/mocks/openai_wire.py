"""OpenAI wire format: chat completions (plain and chunked), errors, models, embeddings, audio."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import struct
import time

from .conversation import (
    Turn,
    count_words,
    decide_turn,
    fragments,
    reasoning_text,
    schema_instance,
    text_of,
    text_turn,
    word_pieces,
)

_ids = itertools.count(1)


def _next_id(prefix: str) -> str:
    return f"{prefix}{next(_ids)}"


# --- errors ---------------------------------------------------------------------------------

# (type, code) that api.openai.com uses for each status; anything else is an invalid request.
_ERROR_KINDS = {
    401: ("invalid_request_error", "invalid_api_key"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    502: ("server_error", None),
    503: ("server_error", None),
}


def error_body(status: int, message: str, error_type: str | None = None, param: str | None = None) -> dict:
    default_type, code = _ERROR_KINDS.get(status, ("invalid_request_error", None))
    return {"error": {"message": message, "type": error_type or default_type, "param": param, "code": code}}


# --- chat completions ------------------------------------------------------------------------


def tools(request: dict) -> dict[str, dict]:
    """Offered tools by name (function and custom tools), with their parameters' schemas."""
    offered = [tool.get(tool.get("type") or "function") or {} for tool in request.get("tools") or []]
    return {tool["name"]: tool.get("parameters") or {} for tool in offered if tool.get("name")}


def tool_names(request: dict) -> list[str]:
    return list(tools(request))


def _custom_tool_names(request: dict) -> set[str]:
    offered = request.get("tools") or []
    return {(tool.get("custom") or {}).get("name") for tool in offered if tool.get("type") == "custom"}


def answers_tool_result(request: dict) -> bool:
    messages = request.get("messages") or []
    return bool(messages) and messages[-1].get("role") == "tool"


def last_tool_result_text(request: dict) -> str:
    messages = request.get("messages") or []
    results = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        results.insert(0, text_of(message.get("content")))
    return " ".join(results)


def prompt_tokens(request: dict) -> int:
    return sum(count_words(text_of(m.get("content"))) for m in request.get("messages") or [])


def decide_chat_turn(request: dict) -> Turn:
    messages = request.get("messages") or []
    inputs = [m for m in messages if m.get("role") in ("user", "tool")]
    tool_choice = request.get("tool_choice")
    forced = tool_choice.get(tool_choice.get("type")) if isinstance(tool_choice, dict) else None
    return decide_turn(
        prompt_texts=[text_of(m.get("content")) for m in messages],
        last_input_text=text_of(inputs[-1].get("content")) if inputs else "",
        tools=tools(request),
        forced_tool=(forced or {}).get("name"),
        tools_allowed=tool_choice != "none",
        answering_tool_result=answers_tool_result(request),
    )


# OpenAI-compatible reasoning models answer with `reasoning_content` (DeepSeek, vLLM, OpenRouter
# spell it so); OpenAI's own o-series and gpt-5 keep their reasoning hidden but count its tokens.
_REASONING_MODEL = re.compile(r"^(o\d|gpt-5)|reason|thinking")


def is_reasoning_model(model: str) -> bool:
    return bool(_REASONING_MODEL.search(model or ""))


def shape_turn(request: dict, turn: Turn) -> Turn:
    """What the request's options change in a decided turn: JSON under response_format, and
    reasoning for reasoning models unless reasoning_effort is "none"."""
    response_format = request.get("response_format") or {}
    if turn.text is not None and response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema") or {}
        turn = text_turn(json.dumps(schema_instance(schema)), turn.prompt_tokens)
    elif turn.text is not None and response_format.get("type") == "json_object":
        turn = text_turn(json.dumps({"answer": turn.text}), turn.prompt_tokens)
    if not is_reasoning_model(request.get("model")) or request.get("reasoning_effort") == "none":
        return turn
    inputs = [m for m in request.get("messages") or [] if m.get("role") in ("user", "tool")]
    return turn.with_reasoning(reasoning_text(text_of(inputs[-1].get("content")) if inputs else ""))


# OpenAI caches prompts automatically from this many tokens on.
CACHE_MIN_TOKENS = 1024


def _usage(request: dict, turn: Turn) -> dict:
    """Usage with its details, as api.openai.com sends it. A follow-up turn (one with an assistant
    message) reads everything before its last message from cache when the prompt is long enough
    to cache, or names its cache (prompt_cache_key: short prompts in tests)."""
    messages = request.get("messages") or []
    cacheable = turn.prompt_tokens >= CACHE_MIN_TOKENS or request.get("prompt_cache_key")
    follow_up = cacheable and any(m.get("role") == "assistant" for m in messages)
    cached = sum(count_words(text_of(m.get("content"))) for m in messages[:-1]) if follow_up else 0
    return {
        "prompt_tokens": turn.prompt_tokens,
        "completion_tokens": turn.completion_tokens,
        "total_tokens": turn.prompt_tokens + turn.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": count_words(turn.thinking or ""), "audio_tokens": 0},
    }


def _finish_reason(turn: Turn) -> str:
    return "tool_calls" if turn.tool_name else "stop"


def _tool_call(turn: Turn) -> dict:
    return {
        "id": _next_id("call_mock"),
        "type": "function",
        "function": {"name": turn.tool_name, "arguments": turn.tool_arguments_json},
    }


def chat_completion(request: dict, model: str, turn: Turn | None = None) -> dict:
    turn = shape_turn(request, turn or decide_chat_turn(request))
    message: dict = {"role": "assistant", "content": turn.text, "refusal": None}
    if turn.thinking is not None:
        message["reasoning_content"] = turn.thinking
    if turn.tool_name in _custom_tool_names(request):
        # A custom tool takes free-form text (the SDK types no streamed form of these calls).
        custom = {"name": turn.tool_name, "input": turn.tool_arguments_json}
        call = {"id": _next_id("call_mock"), "type": "custom", "custom": custom}
        message["tool_calls"] = [call]
    elif turn.tool_name:
        message["tool_calls"] = [_tool_call(turn)]
    return {
        "id": _next_id("chatcmpl-mock"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": _finish_reason(turn)}],
        "usage": _usage(request, turn),
    }


def chat_completion_chunks(request: dict, model: str, turn: Turn | None = None) -> list[dict]:
    """The chat.completion.chunk sequence of a streamed answer (without the final [DONE])."""
    turn = shape_turn(request, turn or decide_chat_turn(request))
    include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
    envelope = {
        "id": _next_id("chatcmpl-mock"),
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }

    def chunk(delta: dict, finish_reason: str | None = None) -> dict:
        body = {**envelope, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]}
        if include_usage:
            body["usage"] = None  # every chunk but the last carries a null usage
        return body

    chunks = [chunk({"role": "assistant", "content": "" if turn.text is not None else None})]
    if turn.thinking:
        chunks += [chunk({"reasoning_content": piece}) for piece in word_pieces(turn.thinking)]
    if turn.tool_name:
        call_start = _tool_call(turn)
        call_start["function"]["arguments"] = ""
        chunks.append(chunk({"tool_calls": [{"index": 0, **call_start}]}))
        arguments = fragments(turn.tool_arguments_json)
        chunks += [chunk({"tool_calls": [{"index": 0, "function": {"arguments": part}}]}) for part in arguments]
    else:
        chunks += [chunk({"content": piece}) for piece in word_pieces(turn.text)]
    chunks.append(chunk({}, _finish_reason(turn)))
    if include_usage:
        chunks.append({**envelope, "choices": [], "usage": _usage(request, turn)})
    return chunks


# --- models ----------------------------------------------------------------------------------


def models_list(model_ids: list[str]) -> dict:
    return {
        "object": "list",
        "data": [
            {"id": model_id, "object": "model", "created": 1700000000, "owned_by": "mock"} for model_id in model_ids
        ],
    }


# --- embeddings ------------------------------------------------------------------------------

DEFAULT_EMBEDDING_DIMENSIONS = 8


def embedding_vector(item: object, dimensions: int) -> list[float]:
    """A deterministic vector for one input item.

    Values are multiples of 1/128 in [-1, 1), exactly representable as float32, so a float
    response and a decoded base64 response compare equal.
    """
    seed = json.dumps(item).encode()
    digest = b"".join(hashlib.sha256(seed + bytes([block])).digest() for block in range(dimensions // 32 + 1))
    return [byte / 128 - 1 for byte in digest[:dimensions]]


def _embedding_inputs(raw_input: object) -> list[object]:
    """Normalise the four accepted shapes (string, strings, token array, token arrays) to items."""
    if isinstance(raw_input, str):
        return [raw_input]
    if isinstance(raw_input, list) and raw_input and all(isinstance(token, int) for token in raw_input):
        return [raw_input]
    return list(raw_input or [])


def _input_tokens(item: object) -> int:
    return count_words(item) if isinstance(item, str) else len(item)


def embeddings(request: dict, model: str) -> dict:
    items = _embedding_inputs(request.get("input"))
    dimensions = int(request.get("dimensions") or DEFAULT_EMBEDDING_DIMENSIONS)
    as_base64 = request.get("encoding_format") == "base64"
    data = []
    for index, item in enumerate(items):
        vector = embedding_vector(item, dimensions)
        if as_base64:  # little-endian float32, as the API sends it
            vector = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": vector})
    tokens = sum(_input_tokens(item) for item in items)
    return {"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


# --- audio transcriptions ---------------------------------------------------------------------


def transcript_text(filename: str, size: int) -> str:
    return f"mock transcript of {filename} ({size} bytes)"


def audio_seconds(size: int) -> float:
    """Pretend the upload is 16 kHz 16-bit mono PCM (32000 bytes per second); at least 0.1 s."""
    return max(0.1, round(size / 32000, 3))


def _timestamp(seconds: float, decimal_mark: str) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02}:{minutes:02}:{secs:02}{decimal_mark}{millis:03}"


def transcription(response_format: str, text: str, seconds: float) -> dict | str:
    """The body for a response_format: a JSON object, or the text of text/srt/vtt.

    api.openai.com serves all three text formats as text/plain, which is what Reply sends for str.
    """
    duration_usage = {"type": "duration", "seconds": seconds}
    if response_format == "text":
        return text + "\n"
    if response_format == "srt":
        return f"1\n{_timestamp(0, ',')} --> {_timestamp(seconds, ',')}\n{text}\n\n"
    if response_format == "vtt":
        return f"WEBVTT\n\n{_timestamp(0, '.')} --> {_timestamp(seconds, '.')}\n{text}\n\n"
    if response_format == "verbose_json":
        segment = {
            "id": 0,
            "seek": 0,
            "start": 0.0,
            "end": seconds,
            "text": text,
            "tokens": [],
            "temperature": 0.0,
            "avg_logprob": -0.1,
            "compression_ratio": 1.0,
            "no_speech_prob": 0.0,
        }
        return {
            "task": "transcribe",
            "language": "english",
            "duration": seconds,
            "text": text,
            "segments": [segment],
            "usage": duration_usage,
        }
    if response_format == "diarized_json":
        segment = {
            "type": "transcript.text.segment",
            "id": "seg_0",
            "start": 0.0,
            "end": seconds,
            "speaker": "A",
            "text": text,
        }
        return {"task": "transcribe", "duration": seconds, "text": text, "segments": [segment], "usage": duration_usage}
    return {"text": text, "usage": duration_usage}


def transcription_events(text: str, seconds: float) -> list[dict]:
    """Streamed transcription: one transcript.text.delta per word, then transcript.text.done.

    The done event carries token usage (the only usage shape its schema allows); the mock bills
    10 audio tokens per second.
    """
    events = [{"type": "transcript.text.delta", "delta": piece} for piece in word_pieces(text)]
    input_tokens, output_tokens = round(seconds * 10), count_words(text)
    usage = {
        "type": "tokens",
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
    }
    events.append({"type": "transcript.text.done", "text": text, "usage": usage})
    return events
