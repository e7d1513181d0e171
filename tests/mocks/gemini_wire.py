"""Gemini wire format (generateContent): replies, stream chunks, errors, models, token counts, embeddings.

Like the real API, the mock signs every functionCall it emits with a ``thoughtSignature``
(gemini_rules checks it comes back), reports thinking apart in ``thoughtsTokenCount``, and
omits functionCall ids (the Developer API sends none), so that clients pair calls by name.
"""

from __future__ import annotations

import itertools
import json

from . import openai_wire
from .conversation import (
    Turn,
    count_words,
    decide_turn,
    reasoning_text,
    schema_instance,
    sign,
    text_turn,
    word_pieces,
)
from .gemini_rules import call_signature

_ids = itertools.count(1)

# HTTP status -> Google's canonical status.
STATUSES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
            429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}


def error_body(status: int, message: str) -> dict:
    return {"error": {"code": status, "message": message, "status": STATUSES.get(status, "UNKNOWN")}}


def _texts(content: dict) -> list[str]:
    texts = []
    for part in content.get("parts") or []:
        if "text" in part and not part.get("thought"):
            texts.append(part["text"])
        elif "functionResponse" in part:
            texts.append(_response_text(part["functionResponse"]))
    return texts


def _response_text(response: dict) -> str:
    payload = response.get("response") or {}
    if isinstance(payload, dict) and isinstance(payload.get("output"), str):
        return payload["output"]
    return json.dumps(payload)


def _prompt_texts(request: dict) -> list[str]:
    contents = [request.get("systemInstruction") or {}, *(request.get("contents") or [])]
    return [text for content in contents for text in _texts(content)]


def _last_user(request: dict) -> dict:
    users = [c for c in request.get("contents") or [] if c.get("role", "user") == "user"]
    return users[-1] if users else {}


def answers_tool_result(request: dict) -> bool:
    return any("functionResponse" in part for part in _last_user(request).get("parts") or [])


def last_tool_result_text(request: dict) -> str:
    return " ".join(_texts(_last_user(request)))


def tools(request: dict) -> dict[str, dict]:
    return {declaration["name"]: declaration.get("parametersJsonSchema") or declaration.get("parameters") or {}
            for tool in request.get("tools") or [] for declaration in tool.get("functionDeclarations") or []}


def tool_names(request: dict) -> list[str]:
    return list(tools(request))


def prompt_tokens(request: dict) -> int:
    return sum(count_words(text) for text in _prompt_texts(request))


def decide_content_turn(request: dict) -> Turn:
    config = (request.get("toolConfig") or {}).get("functionCallingConfig") or {}
    allowed = config.get("allowedFunctionNames") or []
    turn = decide_turn(
        prompt_texts=_prompt_texts(request),
        last_input_text=" ".join(_texts(_last_user(request))),
        tools=tools(request),
        forced_tool=allowed[0] if config.get("mode") == "ANY" and allowed else None,
        tools_allowed=config.get("mode") != "NONE",
        answering_tool_result=answers_tool_result(request),
    )
    generation = request.get("generationConfig") or {}
    schema = generation.get("responseJsonSchema") or generation.get("responseSchema")
    if turn.text is not None and schema:
        turn = text_turn(json.dumps(schema_instance(schema)), turn.prompt_tokens)
    thinking = generation.get("thinkingConfig") or {}
    if thinking.get("includeThoughts"):
        turn = turn.with_reasoning(reasoning_text(" ".join(_texts(_last_user(request)))))
    return turn


def _function_call_part(turn: Turn) -> dict:
    call = {"name": turn.tool_name, "args": turn.tool_arguments}
    return {"functionCall": call, "thoughtSignature": sign(call_signature(call))}


def _usage(turn: Turn) -> dict:
    thoughts = count_words(turn.thinking or "")
    candidates = turn.completion_tokens - thoughts
    usage = {"promptTokenCount": turn.prompt_tokens, "candidatesTokenCount": candidates,
             "totalTokenCount": turn.prompt_tokens + turn.completion_tokens}
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    return usage


def _response(parts: list[dict], model: str, response_id: str, turn: Turn | None) -> dict:
    candidate = {"content": {"role": "model", "parts": parts}, "index": 0}
    body = {"candidates": [candidate], "modelVersion": model, "responseId": response_id}
    if turn is not None:
        candidate["finishReason"] = "STOP"
        body["usageMetadata"] = _usage(turn)
    return body


def generate_content(request: dict, model: str, turn: Turn | None = None) -> dict:
    turn = turn or decide_content_turn(request)
    parts = [{"text": turn.thinking, "thought": True}] if turn.thinking else []
    parts.append(_function_call_part(turn) if turn.tool_name else {"text": turn.text})
    return _response(parts, model, f"mockresp{next(_ids)}", turn)


def stream_chunks(request: dict, model: str, turn: Turn | None = None) -> list[str]:
    """The SSE events of streamGenerateContent?alt=sse, framed as Google frames them (CRLF)."""
    turn = turn or decide_content_turn(request)
    response_id = f"mockresp{next(_ids)}"
    parts = [[{"text": turn.thinking, "thought": True}]] if turn.thinking else []
    if turn.tool_name:
        parts.append([_function_call_part(turn)])
    else:
        parts += [[{"text": piece}] for piece in word_pieces(turn.text)]
    chunks = [_response(chunk, model, response_id, turn if index == len(parts) - 1 else None)
              for index, chunk in enumerate(parts)]
    return [f"data: {json.dumps(chunk, separators=(',', ':'))}\r\n\r\n" for chunk in chunks]


def count_tokens(request: dict) -> dict:
    inner = request.get("generateContentRequest") or request
    return {"totalTokens": prompt_tokens(inner)}


def models_list(model_ids: list[str]) -> dict:
    return {"models": [{"name": f"models/{model_id}", "displayName": model_id.title(), "version": "001",
                        "supportedGenerationMethods": ["generateContent", "countTokens"]}
                       for model_id in model_ids]}


def batch_embed_contents(request: dict) -> dict:
    embeddings = []
    for item in request.get("requests") or []:
        text = " ".join(part.get("text", "") for part in (item.get("content") or {}).get("parts") or [])
        embeddings.append({"values": openai_wire.embedding_vector(text, item.get("outputDimensionality") or 8)})
    return {"embeddings": embeddings}
