"""Gemini ``generateContent`` request <-> hub request (the Anthropic Messages form).

The model and streaming are in Gemini's URL, not its body: the ``/gemini`` surface puts
them in the body as ``model`` and ``stream`` before translation, and going out the
adapter puts them back in the URL (``app.providers.gemini``).

Gemini -> hub
    * Field names are read in Google's snake_case spelling too (``named``).
    * ``contents`` role ``user``/``model`` become ``user``/``assistant`` turns (consecutive
      ones of a role merged); ``systemInstruction`` becomes ``system``.
    * Parts: ``text``; ``inlineData`` and ``fileData`` as image blocks (``image/*``) or
      documents (``application/pdf``), other media as a text placeholder naming what was
      left out; ``functionCall`` as ``tool_use`` (a call without ``id`` gets one, and its
      ``functionResponse`` is paired by name, in order; its ``thoughtSignature``, or the
      ``skip_thought_signature_validator`` Gemini CLI puts on calls of other models, is
      dropped: no other provider takes it); ``functionResponse`` as
      ``tool_result`` (``{"output": text}`` / ``{"error": text}``, Gemini CLI's shapes, as
      text and ``is_error``; any other object as its JSON). A ``thought`` part becomes the
      hub thinking block Cortex wrapped in it (``parts``); other thoughts are dropped (the
      signed record of a Gemini model means nothing to another provider).
      ``executableCode``/``codeExecutionResult`` and the like are dropped and named.
    * ``functionDeclarations`` become tools (``parametersJsonSchema`` as it is;
      ``parameters``, an OpenAPI subset with upper-case types, as JSON Schema); other
      tools (``googleSearch``, ``codeExecution``, ...) run inside Google and are dropped.
    * ``toolConfig.functionCallingConfig``: ``AUTO``/``VALIDATED`` -> auto, ``NONE`` -> none,
      ``ANY`` -> any, or the one tool when ``allowedFunctionNames`` names exactly one.
    * ``generationConfig``: ``temperature``, ``topP``, ``topK``, ``maxOutputTokens``,
      ``stopSequences``; ``candidateCount``, ``seed``, ``presencePenalty``,
      ``frequencyPenalty``, ``responseLogprobs``/``logprobs`` as the hub extensions;
      ``responseMimeType: application/json`` with ``responseJsonSchema``/``responseSchema``
      as ``output_config.format``; ``thinkingConfig`` (``thinkingBudget`` 0 -> disabled,
      -1 -> adaptive, n -> enabled with that budget; ``thinkingLevel`` -> the budget of that
      reasoning effort). Dropped and named: ``safetySettings``, ``cachedContent`` and every
      other field.

Hub -> Gemini
    * ``system`` becomes ``systemInstruction``; a system message in place is added to it
      (Gemini has no such role: its position is lost).
    * ``tool_use`` -> ``functionCall`` with its signature restored from the id (``parts``);
      the first call of a model turn that has none gets Gemini's documented
      ``skip_thought_signature_validator`` (the turn came from another model).
      ``tool_result`` -> ``functionResponse`` named after its call (``{"output"}`` or
      ``{"error"}``); images in a result follow it as ``inlineData``.
    * Images and PDFs (base64 -> ``inlineData``, URL -> ``fileData``), plain-text documents
      as text. Thinking blocks are dropped and named (Gemini keeps its own reasoning in
      signatures), as are ``cache_control``, server tools, ``metadata`` and
      ``disable_parallel_tool_use``.
    * Tools as ``functionDeclarations`` with ``parametersJsonSchema``; sampling, limits,
      structured output (``responseJsonSchema``) and thinking (``thinkingConfig`` with
      ``includeThoughts``; ``output_config.effort`` alone as the budget of that effort) in
      ``generationConfig``.
"""
import mimetypes

import orjson

from ..capabilities import Target
from ..content import client_tools, joined_text, placeholder_block, text_block
from ..mappings import REASONING_EFFORT_BUDGETS
from . import parts as gemini_parts

# Fields read by `request_to_hub` (anything else is named as dropped).
_READ_FIELDS = frozenset({"model", "stream", "contents", "systemInstruction", "tools", "toolConfig",
                          "generationConfig"})
_HUB_FIELDS = frozenset({"model", "stream", "messages", "system", "max_tokens", "temperature", "top_p", "top_k",
                         "stop_sequences", "tools", "tool_choice", "thinking", "output_config", "seed", "n",
                         "presence_penalty", "frequency_penalty", "logprobs", "top_logprobs"})
# generationConfig field <-> hub field, carried as they are.
_SAMPLING = (("temperature", "temperature"), ("topP", "top_p"), ("topK", "top_k"),
             ("maxOutputTokens", "max_tokens"), ("stopSequences", "stop_sequences"), ("candidateCount", "n"),
             ("seed", "seed"), ("presencePenalty", "presence_penalty"), ("frequencyPenalty", "frequency_penalty"),
             ("responseLogprobs", "logprobs"), ("logprobs", "top_logprobs"))
_READ_GENERATION = frozenset({gemini for gemini, _ in _SAMPLING} | {
    "responseMimeType", "responseSchema", "responseJsonSchema", "thinkingConfig"})
_MODES_TO_HUB = {"AUTO": "auto", "VALIDATED": "auto", "NONE": "none", "ANY": "any"}
_MODES_FROM_HUB = {"auto": "AUTO", "none": "NONE", "any": "ANY", "tool": "ANY"}
_ROLES_TO_HUB = {"user": "user", "model": "assistant", "function": "user"}  # "function": v1beta's old role of results
_ROLES_FROM_HUB = {"user": "user", "assistant": "model"}
JSON_MIME_TYPE = "application/json"
PDF = "application/pdf"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def named(mapping) -> dict:
    """An object of the request with its field names in camelCase. Google's JSON takes snake_case
    as well (proto JSON) and its SDKs send some that way (google-genai writes ``thinkingConfig`` as
    ``{"thinking_budget": …}``); each object is renamed where it is read, so that the client's own
    data (arguments, schemas) keeps its keys, and a body without snake_case is not copied."""
    if not isinstance(mapping, dict):
        return {}
    if not any("_" in key for key in mapping):
        return mapping
    return {(_camel(key) if "_" in key else key): value for key, value in mapping.items()}


def _name_unread(body: dict, read: frozenset, dropped: list, prefix: str = "") -> None:
    dropped.extend(prefix + key for key, value in body.items() if key not in read and value is not None)


# --- Gemini -> hub ---------------------------------------------------------------------

def json_schema(schema):
    """Gemini's OpenAPI-subset ``Schema`` (``type: "OBJECT"``, ``nullable``) as JSON Schema."""
    if isinstance(schema, list):
        return [json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, str):
            converted["type"] = value.lower()
        elif key in ("properties", "$defs", "defs"):
            converted["$defs" if key == "defs" else key] = {name: json_schema(sub) for name, sub in value.items()}
        elif key in ("items", "anyOf", "additionalProperties"):
            converted[key] = json_schema(value)
        elif key not in ("nullable", "propertyOrdering"):
            converted[key] = value
    if schema.get("nullable") and isinstance(converted.get("type"), str):
        converted["type"] = [converted["type"], "null"]
    return converted


def _media_block(mime_type: str, source: dict) -> dict:
    if mime_type.startswith("image/"):
        return {"type": "image", "source": source}
    if mime_type == PDF:
        return {"type": "document", "source": source}
    return placeholder_block(mime_type or "file")


class _Pairing:
    """Tool ids for calls and their responses when the client sent none (paired by name, in order)."""

    def __init__(self):
        self._open: list[tuple[str, str]] = []  # (name, hub id) of calls not answered yet

    def call(self, part: dict) -> dict:
        # Gemini's signature stays behind: it means nothing to another provider.
        block = gemini_parts.tool_use_block(part["functionCall"], None)
        self._open.append((block["name"], block["id"]))
        return block

    def response_id(self, response: dict) -> str:
        response = named(response)
        name, given = response.get("name"), response.get("id")
        match = next((entry for entry in self._open if (entry[1] == given if given else entry[0] == name)), None)
        if match is None:
            return given or gemini_parts.id_with_signature(None, None)
        self._open.remove(match)
        return match[1]


def _tool_result(response: dict, pairing: _Pairing) -> dict:
    response = named(response)
    payload = response.get("response")
    block = {"type": "tool_result", "tool_use_id": pairing.response_id(response)}
    if isinstance(payload, dict) and len(payload) == 1 and isinstance(next(iter(payload.values())), str) \
            and ("output" in payload or "error" in payload):
        block["content"] = payload.get("output", payload.get("error"))
        if "error" in payload:
            block["is_error"] = True
    else:
        block["content"] = orjson.dumps(payload if payload is not None else {}).decode()
    return block


def _hub_block(part: dict, pairing: _Pairing, dropped: list) -> dict | None:
    part = named(part)
    if "functionCall" in part:
        return pairing.call(part)
    if "functionResponse" in part:
        return _tool_result(part["functionResponse"], pairing)
    if part.get("thought"):
        return gemini_parts.thought_block(part)
    if "text" in part:
        return text_block(part["text"]) if part["text"] else None
    if "inlineData" in part:
        data = named(part["inlineData"])
        mime_type = data.get("mimeType", "")
        return _media_block(mime_type, {"type": "base64", "media_type": mime_type, "data": data.get("data", "")})
    if "fileData" in part:
        data = named(part["fileData"])
        return _media_block(data.get("mimeType", ""), {"type": "url", "url": data.get("fileUri", "")})
    dropped.append("parts[]." + next(iter(part), "empty"))
    return None


def _hub_messages(contents: list, dropped: list) -> list[dict]:
    messages: list[dict] = []
    pairing = _Pairing()
    for content in contents:
        content = named(content)
        role = _ROLES_TO_HUB.get(content.get("role") or "user")
        if role is None:
            dropped.append(f"contents[].role={content.get('role')}")
            continue
        blocks = [block for part in content.get("parts") or []
                  if (block := _hub_block(part, pairing, dropped)) is not None]
        if not blocks:
            continue
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"].extend(blocks)
        else:
            messages.append({"role": role, "content": blocks})
    return messages


def _hub_tools(tools: list, dropped: list) -> list[dict]:
    converted = []
    for tool in map(named, tools):
        for declaration in map(named, tool.get("functionDeclarations") or []):
            schema = declaration.get("parametersJsonSchema")
            if schema is None:
                schema = json_schema(declaration.get("parameters")) or {"type": "object", "properties": {}}
            definition = {"name": declaration.get("name"), "input_schema": schema}
            if declaration.get("description"):
                definition["description"] = declaration["description"]
            converted.append(definition)
        dropped.extend(f"tools[].{kind}" for kind in tool if kind != "functionDeclarations")
    return converted


def _hub_tool_choice(tool_config: dict | None) -> dict | None:
    config = named(named(tool_config).get("functionCallingConfig"))
    kind = _MODES_TO_HUB.get(config.get("mode"))
    if kind is None:
        return None
    names = config.get("allowedFunctionNames") or []
    if kind == "any" and len(names) == 1:
        return {"type": "tool", "name": names[0]}
    return {"type": kind}


def _hub_thinking(config: dict | None) -> dict | None:
    config = named(config)
    if not config:
        return None
    budget = config.get("thinkingBudget")
    if budget == 0:
        return {"type": "disabled"}
    if budget == -1:
        return {"type": "adaptive"}
    if budget is None:
        budget = REASONING_EFFORT_BUDGETS.get(str(config.get("thinkingLevel", "")).lower())
    return {"type": "enabled", "budget_tokens": budget} if budget else None


def _hub_output_format(generation: dict) -> dict | None:
    if generation.get("responseMimeType") != JSON_MIME_TYPE:
        return None
    schema = generation.get("responseJsonSchema")
    if schema is None and generation.get("responseSchema") is not None:
        schema = json_schema(generation["responseSchema"])
    return {"type": "json_schema", "schema": schema} if schema is not None else {"type": "json_object"}


def request_to_hub(body: dict, dropped: list) -> dict:
    body = named(body)
    _name_unread(body, _READ_FIELDS, dropped)
    hub: dict = {"model": body.get("model"), "messages": _hub_messages(body.get("contents") or [], dropped)}
    if body.get("stream"):
        hub["stream"] = True
    system = [text_block(part["text"]) for part in named(body.get("systemInstruction")).get("parts") or []
              if part.get("text")]
    if system:
        hub["system"] = system
    generation = named(body.get("generationConfig"))
    _name_unread(generation, _READ_GENERATION, dropped, "generationConfig.")
    for gemini, hub_field in _SAMPLING:
        if generation.get(gemini) is not None:
            hub[hub_field] = generation[gemini]
    thinking = _hub_thinking(generation.get("thinkingConfig"))
    if thinking:
        hub["thinking"] = thinking
    output_format = _hub_output_format(generation)
    if output_format:
        hub["output_config"] = {"format": output_format}
    tools = _hub_tools(body.get("tools") or [], dropped)
    if tools:
        hub["tools"] = tools
        choice = _hub_tool_choice(body.get("toolConfig"))
        if choice:
            hub["tool_choice"] = choice
    return hub


# --- hub -> Gemini ---------------------------------------------------------------------

def _blocks_of(content) -> list[dict]:
    return [text_block(content)] if isinstance(content, str) else list(content or [])


def _media_part(source: dict, default_type: str) -> dict | None:
    kind = source.get("type")
    if kind == "base64":
        return {"inlineData": {"mimeType": source.get("media_type") or default_type, "data": source.get("data", "")}}
    if kind == "url":
        url = source.get("url", "")
        return {"fileData": {"mimeType": mimetypes.guess_type(url)[0] or default_type, "fileUri": url}}
    if kind == "text":
        return {"text": source.get("data", "")}
    return None


def _function_response(block: dict, names: dict) -> list[dict]:
    content = _blocks_of(block.get("content"))
    text = joined_text(content, separator="\n")
    call_id, _ = gemini_parts.split_id(block.get("tool_use_id"))
    response = {"name": names.get(block.get("tool_use_id"), ""),
                "response": {"error" if block.get("is_error") else "output": text}}
    if call_id:
        response["id"] = call_id
    media = [_media_part(item.get("source") or {}, "image/png") for item in content if item.get("type") == "image"]
    return [{"functionResponse": response}, *(part for part in media if part)]


def _gemini_parts(blocks: list[dict], names: dict, dropped: list) -> list[dict]:
    result: list[dict] = []
    for block in blocks:
        kind = block.get("type")
        if block.get("cache_control"):
            dropped.append("cache_control")
        if kind == "text":
            if block.get("text"):
                result.append({"text": block["text"]})
        elif kind == "tool_use":
            result.append(gemini_parts.function_call_part(block))
        elif kind == "tool_result":
            result.extend(_function_response(block, names))
        elif kind in ("image", "document"):
            part = _media_part(block.get("source") or {}, "image/jpeg" if kind == "image" else PDF)
            if part:
                result.append(part)
            else:
                dropped.append(f"{kind}.source={(block.get('source') or {}).get('type')}")
        elif kind in ("thinking", "redacted_thinking"):
            dropped.append("messages[].thinking")
        else:
            dropped.append(f"messages[].content[].type={kind}")
    return result


def _signed_first_calls(parts: list[dict]) -> list[dict]:
    """Gemini rejects a model turn whose first call has no signature: mark it as not Gemini's."""
    first = next((part for part in parts if "functionCall" in part), None)
    if first is not None and "thoughtSignature" not in first:
        first["thoughtSignature"] = gemini_parts.SKIP_SIGNATURE
    return parts


def _contents(hub: dict, dropped: list) -> tuple[list[dict], list[str]]:
    names = {block.get("id"): block.get("name") for message in hub.get("messages") or []
             for block in _blocks_of(message.get("content")) if block.get("type") == "tool_use"}
    contents: list[dict] = []
    system_in_place: list[str] = []
    for message in hub.get("messages") or []:
        role = message.get("role")
        blocks = _blocks_of(message.get("content"))
        if role == "system":
            system_in_place.append(joined_text(blocks, separator="\n\n"))
            continue
        parts = _gemini_parts(blocks, names, dropped)
        if role == "assistant":
            parts = _signed_first_calls(parts)
        if parts:
            contents.append({"role": _ROLES_FROM_HUB.get(role, "user"), "parts": parts})
    return contents, system_in_place


def _function_declarations(tools: list, dropped: list) -> list[dict]:
    declarations = []
    for tool in client_tools(tools, dropped):
        if tool.get("cache_control"):
            dropped.append("cache_control")
        declaration = {"name": tool.get("name"),
                       "parametersJsonSchema": tool.get("input_schema") or {"type": "object", "properties": {}}}
        if tool.get("description"):
            declaration["description"] = tool["description"]
        declarations.append(declaration)
    return declarations


def _tool_config(choice: dict | None, dropped: list) -> dict | None:
    if not choice:
        return None
    if choice.get("disable_parallel_tool_use"):
        dropped.append("tool_choice.disable_parallel_tool_use")
    config = {"mode": _MODES_FROM_HUB.get(choice.get("type"), "AUTO")}
    if choice.get("type") == "tool":
        config["allowedFunctionNames"] = [choice.get("name")]
    return {"functionCallingConfig": config}


def _thinking_config(thinking: dict | None, effort: str | None) -> dict | None:
    kind = (thinking or {}).get("type")
    if kind is None and effort in REASONING_EFFORT_BUDGETS:  # an effort alone: its budget
        return {"thinkingBudget": REASONING_EFFORT_BUDGETS[effort], "includeThoughts": True}
    if kind == "disabled":
        return {"thinkingBudget": 0}
    if kind == "adaptive":
        return {"thinkingBudget": -1, "includeThoughts": True}
    if kind == "enabled":
        return {"thinkingBudget": thinking.get("budget_tokens") or -1, "includeThoughts": True}
    return None


def _generation_config(hub: dict) -> dict:
    generation = {gemini: hub[hub_field] for gemini, hub_field in _SAMPLING if hub.get(hub_field) is not None}
    output_format = (hub.get("output_config") or {}).get("format") or {}
    if output_format.get("type") in ("json_schema", "json_object"):
        generation["responseMimeType"] = JSON_MIME_TYPE
        if output_format.get("schema") is not None:
            generation["responseJsonSchema"] = output_format["schema"]
    thinking = _thinking_config(hub.get("thinking"), (hub.get("output_config") or {}).get("effort"))
    if thinking:
        generation["thinkingConfig"] = thinking
    return generation


def request_from_hub(hub: dict, target: Target, dropped: list) -> dict:
    _name_unread(hub, _HUB_FIELDS, dropped)
    contents, system_in_place = _contents(hub, dropped)
    body: dict = {"contents": contents or [{"role": "user", "parts": [{"text": "."}]}]}
    system_blocks = _blocks_of(hub.get("system"))
    if any(block.get("cache_control") for block in system_blocks):
        dropped.append("cache_control")
    system = [text for text in (joined_text(system_blocks, separator="\n\n"), *system_in_place) if text]
    if system:
        body["systemInstruction"] = {"parts": [{"text": text} for text in system]}
    tools = _function_declarations(hub.get("tools") or [], dropped)
    if tools:
        body["tools"] = [{"functionDeclarations": tools}]
        tool_config = _tool_config(hub.get("tool_choice"), dropped)
        if tool_config:
            body["toolConfig"] = tool_config
    generation = _generation_config(hub)
    if generation:
        body["generationConfig"] = generation
    return body
