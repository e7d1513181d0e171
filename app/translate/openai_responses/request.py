"""OpenAI Responses request <-> hub request (the Anthropic Messages form, see ``app.translate.hub``).

Responses -> hub
    * ``instructions`` and leading ``system``/``developer`` messages become ``system``; later
      ones stay in place as ``role: "system"`` messages. ``input`` as a string is one user turn.
    * Items: ``message`` (parts ``input_text``, ``output_text``, ``refusal`` as text,
      ``input_image`` and ``input_file`` as image/document blocks, see ``content``),
      ``function_call``/``custom_tool_call`` as ``tool_use`` (a custom call's text input as
      ``{"input": text}``), their outputs as ``tool_result``, ``reasoning`` as a thinking
      block (its summary is the thinking, its ``encrypted_content`` the signature Cortex gave
      it, ``REDACTED_PREFIX`` marking redacted thinking). Consecutive items of one role are
      merged so user/assistant alternate.
    * ``function`` and ``custom`` tools become tools (``custom`` as for Chat Completions);
      built-in tools (``web_search``, ``file_search``, ``local_shell``, ``computer_use``,
      ``code_interpreter``, ``image_generation``, ``mcp``...) run inside OpenAI only: dropped and
      named. Items of built-in tool calls (``web_search_call``...), ``item_reference`` and
      ``reasoning`` with nothing to replay are dropped and named too.
    * ``reasoning.effort`` becomes ``thinking`` (table in ``mappings``), ``text.format``
      becomes ``output_config.format``, ``max_output_tokens`` ``max_tokens``,
      ``safety_identifier``/``user`` ``metadata.user_id``, ``parallel_tool_calls: false``
      ``disable_parallel_tool_use``, ``top_logprobs`` a hub extension.
    * Read by the service, not translated: ``store``, ``previous_response_id``, ``include``,
      ``metadata`` (echoed in the response), ``prompt_cache_key`` (providers cache prefixes;
      Anthropic gets breakpoints). Any other field (``truncation``, ``service_tier``,
      ``background``, ``prompt``, ``text.verbosity``...) is dropped and named.

Hub -> Responses (models with ``api: responses``)
    * ``system`` becomes ``instructions``; in-place system messages ``system`` message items.
    * Text, images and PDFs become ``input_text``/``input_image``/``input_file`` parts,
      assistant text an assistant message, ``tool_use`` a ``function_call``, ``tool_result``
      a ``function_call_output`` (images it carried follow as a user message).
    * Thinking blocks that came from a Responses upstream (signature made by
      ``reasoning_signature``) become the ``reasoning`` items they were; other thinking
      (Claude's) cannot be replayed to OpenAI: dropped and named.
    * ``thinking``/``output_config.effort`` become ``reasoning.effort`` (with ``summary:
      auto``) for models that reason, ``output_config.format`` ``text.format``,
      ``disable_parallel_tool_use`` ``parallel_tool_calls: false``. Cortex sends ``store:
      false`` and asks for ``reasoning.encrypted_content``: the conversation travels whole.
    * Dropped and named: ``stop_sequences``, ``top_k``, ``metadata``, ``cache_control``,
      server tools, the hub extensions but ``top_logprobs``.
"""
import json

from ..capabilities import Target
from ..content import (
    anthropic_blocks_from_openai_content,
    arguments_from_tool_input,
    client_tools,
    compact_anthropic_content,
    joined_text,
    system_and_turns,
    text_block,
    tool_input_from_arguments,
)
from ..openai_chat.request import (
    CUSTOM_TOOL_INPUT,
    _chat_tool_choice,
    _custom_tool_input_schema,
    _empty_input_schema,
    _has_cache_control,
    _hub_output_format,
    _hub_thinking,
    _hub_tool_choice,
    _name_unread,
    _reasoning_effort,
    _set_if_present,
)

REDACTED_PREFIX = "cortex-redacted:"  # encrypted_content that carries Claude's redacted thinking
REASONING_SIGNATURE_PREFIX = "openai-reasoning:"  # a thinking signature that carries a Responses reasoning item
# Fields read by `request_to_hub`, or by the service (anything else is named as dropped).
_READ_FIELDS = frozenset({
    "model", "input", "instructions", "stream", "stream_options", "max_output_tokens", "temperature", "top_p",
    "tools", "tool_choice", "parallel_tool_calls", "reasoning", "text", "user", "safety_identifier",
    "top_logprobs", "store", "previous_response_id", "include", "metadata", "prompt_cache_key",
})
_HUB_FIELDS = frozenset({
    "model", "messages", "system", "max_tokens", "temperature", "top_p", "stream", "tools", "tool_choice",
    "thinking", "output_config", "top_logprobs",
})
_TOOL_OUTPUTS = {"function_call_output", "custom_tool_call_output"}
# Input part types that are Chat Completions parts under another name.
_PART_AS_CHAT = {"input_text": "text", "output_text": "text"}


def reasoning_signature(item_id: str, encrypted_content: str) -> str:
    """A Responses reasoning item as the signature of the hub thinking block standing for it."""
    return f"{REASONING_SIGNATURE_PREFIX}{item_id}:{encrypted_content}"


def reasoning_item(block: dict) -> dict | None:
    """A hub thinking block that came from a Responses upstream, as its reasoning item; else None."""
    signature = block.get("signature") or ""
    if block.get("type") != "thinking" or not signature.startswith(REASONING_SIGNATURE_PREFIX):
        return None
    item_id, _, encrypted = signature[len(REASONING_SIGNATURE_PREFIX):].partition(":")
    summary = [{"type": "summary_text", "text": block["thinking"]}] if block.get("thinking") else []
    return {"type": "reasoning", "id": item_id, "summary": summary, "encrypted_content": encrypted or None}


# --- Responses -> hub -------------------------------------------------------------------

def _chat_part(part: dict) -> dict:
    """A Responses content part as the Chat Completions part ``content`` translates."""
    kind = part.get("type")
    if kind in _PART_AS_CHAT:
        return {"type": "text", "text": part.get("text") or ""}
    if kind == "refusal":
        return {"type": "text", "text": part.get("refusal") or ""}
    if kind == "input_image":
        return {"type": "image_url", "image_url": {"url": part.get("image_url") or ""}}
    if kind == "input_file":
        return {"type": "file", "file": {"file_data": part.get("file_data") or "", "filename": part.get("filename")}}
    return {"type": kind}  # becomes a placeholder naming it


def _blocks_from_content(content) -> list[dict]:
    if isinstance(content, str):
        return anthropic_blocks_from_openai_content(content)
    return anthropic_blocks_from_openai_content([_chat_part(part) for part in content or []])


def _tool_output_content(output) -> str | list[dict]:
    return output if isinstance(output, str) else _blocks_from_content(output)


def _thinking_block(item: dict) -> dict | None:
    encrypted = item.get("encrypted_content") or ""
    if encrypted.startswith(REDACTED_PREFIX):
        return {"type": "redacted_thinking", "data": encrypted[len(REDACTED_PREFIX):]}
    if not encrypted:
        return None  # nothing signed to replay
    thinking = "".join(part.get("text", "") for part in item.get("summary") or [])
    return {"type": "thinking", "thinking": thinking, "signature": encrypted}


def _item_turn(item: dict, dropped: list) -> tuple[str, list[dict]] | None:
    """One input item as (hub role, blocks); None for items with nothing to carry."""
    kind = item.get("type") or "message"
    if kind == "message":
        role = item.get("role")
        blocks = _blocks_from_content(item.get("content"))
        if role in ("system", "developer"):
            return "system", [block for block in blocks if block["type"] == "text"]
        if role in ("user", "assistant"):
            return role, blocks
        dropped.append(f"input[].role={role}")
        return None
    if kind == "function_call":
        return "assistant", [{"type": "tool_use", "id": item.get("call_id"), "name": item.get("name"),
                              "input": tool_input_from_arguments(item.get("arguments"))}]
    if kind == "custom_tool_call":
        return "assistant", [{"type": "tool_use", "id": item.get("call_id"), "name": item.get("name"),
                              "input": {CUSTOM_TOOL_INPUT: item.get("input") or ""}}]
    if kind in _TOOL_OUTPUTS:
        return "user", [{"type": "tool_result", "tool_use_id": item.get("call_id"),
                         "content": _tool_output_content(item.get("output"))}]
    if kind == "reasoning":
        block = _thinking_block(item)
        if block is None:
            dropped.append("input[].reasoning")
            return None
        return "assistant", [block]
    dropped.append(f"input[].type={kind}")
    return None


def input_items(body_input) -> list[dict]:
    """``input`` as a list of items (a string is one user message)."""
    if isinstance(body_input, str):
        return [{"type": "message", "role": "user", "content": body_input}]
    return list(body_input or [])



def custom_tool_names(body: dict) -> frozenset:
    """Names of the request's ``custom`` tools: their calls go back as ``custom_tool_call``."""
    return frozenset(tool.get("name") for tool in body.get("tools") or () if tool.get("type") == "custom")


def _hub_tools(tools: list[dict] | None, dropped: list) -> list[dict]:
    converted = []
    for tool in tools or []:
        kind = tool.get("type")
        if kind == "function":
            definition = {"name": tool.get("name"), "input_schema": tool.get("parameters") or _empty_input_schema()}
        elif kind == "custom":
            definition = {"name": tool.get("name"), "input_schema": _custom_tool_input_schema()}
        else:
            dropped.append(f"tools[].type={kind}")
            continue
        _set_if_present(definition, "description", tool.get("description"))
        converted.append(definition)
    return converted


def _as_chat_tool_choice(tool_choice):
    """Responses names a forced tool at the top level; Chat Completions under the tool's type."""
    if isinstance(tool_choice, dict) and tool_choice.get("type") in ("function", "custom"):
        return {"type": tool_choice["type"], tool_choice["type"]: {"name": tool_choice.get("name")}}
    return tool_choice


def _hub_text_format(text: dict | None, dropped: list) -> dict | None:
    text = text or {}
    if text.get("verbosity"):
        dropped.append("text.verbosity")
    response_format = text.get("format")
    if (response_format or {}).get("type") == "json_schema":
        # Responses puts the schema's fields beside `type`, Chat Completions under `json_schema`.
        response_format = {"type": "json_schema", "json_schema": response_format}
    return _hub_output_format(response_format)


def request_to_hub(body: dict, dropped: list) -> dict:
    _name_unread(body, _READ_FIELDS, dropped)
    items = input_items(body.get("input"))
    system_blocks, messages = system_and_turns(items, _item_turn, dropped)
    if body.get("instructions"):
        system_blocks.insert(0, text_block(body["instructions"]))
    hub: dict = {"model": body.get("model"), "messages": messages}
    _set_if_present(hub, "max_tokens", body.get("max_output_tokens"))
    if system_blocks:
        hub["system"] = compact_anthropic_content(system_blocks)
    _set_if_present(hub, "thinking", _hub_thinking((body.get("reasoning") or {}).get("effort")))
    output_format = _hub_text_format(body.get("text"), dropped)
    if output_format:
        hub["output_config"] = {"format": output_format}
    for key in ("temperature", "top_p", "stream", "top_logprobs"):
        _set_if_present(hub, key, body.get(key))
    user = body.get("safety_identifier") or body.get("user")
    if user:
        hub["metadata"] = {"user_id": user}
    tools = _hub_tools(body.get("tools"), dropped)
    if tools:
        hub["tools"] = tools
        _set_if_present(hub, "tool_choice", _hub_tool_choice(_as_chat_tool_choice(body.get("tool_choice")),
                                                             body.get("parallel_tool_calls")))
    return hub


# --- hub -> Responses -------------------------------------------------------------------

def _input_part(block: dict) -> dict:
    kind = block.get("type")
    source = block.get("source") or {}
    if kind == "image" and source.get("type") in ("url", "base64"):
        url = source["url"] if source["type"] == "url" else f"data:{source['media_type']};base64,{source['data']}"
        return {"type": "input_image", "image_url": url, "detail": "auto"}
    if kind == "document" and source.get("type") == "base64":
        return {"type": "input_file", "filename": block.get("title") or "document.pdf",
                "file_data": f"data:{source['media_type']};base64,{source['data']}"}
    if kind == "document" and source.get("type") == "text":
        return {"type": "input_text", "text": source.get("data", "")}
    if kind == "text":
        return {"type": "input_text", "text": block.get("text", "")}
    return {"type": "input_text", "text": f"[{kind} omitted: not supported by the upstream API]"}


def _blocks_of(content) -> list[dict]:
    return [text_block(content)] if isinstance(content, str) else list(content or [])


def _tool_output(block: dict) -> tuple[dict, list[dict]]:
    """A tool_result block -> (function_call_output item, non-text blocks it carried)."""
    content = _blocks_of(block.get("content"))
    text = joined_text(content, separator="\n")
    if block.get("is_error"):
        text = f"Error: {text}"
    item = {"type": "function_call_output", "call_id": block.get("tool_use_id"), "output": text}
    return item, [part for part in content if part.get("type") != "text"]


def _user_items(blocks: list[dict]) -> list[dict]:
    items, carried = [], []
    for block in blocks:
        if block.get("type") == "tool_result":
            item, non_text = _tool_output(block)
            items.append(item)
            carried.extend(non_text)
    rest = carried + [block for block in blocks if block.get("type") != "tool_result"]
    if rest:
        items.append({"type": "message", "role": "user", "content": [_input_part(block) for block in rest]})
    return items


def _assistant_items(blocks: list[dict], dropped: list) -> list[dict]:
    items: list[dict] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "text" and block.get("text"):
            items.append({"type": "message", "role": "assistant", "content": block["text"]})
        elif kind == "tool_use":
            items.append({"type": "function_call", "call_id": block.get("id"), "name": block.get("name"),
                          "arguments": arguments_from_tool_input(block.get("input"))})
        elif kind in ("thinking", "redacted_thinking"):
            item = reasoning_item(block)
            if item is None:
                dropped.append("messages[].thinking")  # Claude's signed thinking means nothing to OpenAI
            else:
                items.append(item)
    return items


def _items(hub: dict, dropped: list) -> list[dict]:
    items: list[dict] = []
    for message in hub.get("messages") or []:
        blocks = _blocks_of(message.get("content"))
        role = message.get("role")
        if role == "assistant":
            items.extend(_assistant_items(blocks, dropped))
        elif role == "user":
            items.extend(_user_items(blocks))
        elif role == "system":
            items.append({"type": "message", "role": "system", "content": joined_text(blocks, separator="\n\n")})
        else:
            dropped.append(f"messages[].role={role}")
    return items


def _responses_tools(tools: list[dict] | None, dropped: list) -> list[dict]:
    converted = []
    for tool in client_tools(tools, dropped):
        function = {"type": "function", "name": tool.get("name"),
                    "parameters": tool.get("input_schema") or _empty_input_schema(), "strict": False}
        _set_if_present(function, "description", tool.get("description"))
        converted.append(function)
    return converted


def _responses_tool_choice(tool_choice: dict | None):
    choice = _chat_tool_choice(tool_choice)
    if isinstance(choice, dict):
        return {"type": "function", "name": choice["function"]["name"]}
    return choice


def _text_format(output_format: dict | None) -> dict | None:
    kind = (output_format or {}).get("type")
    if kind == "json_schema":
        return {"format": {"type": "json_schema", "name": output_format.get("name") or "output",
                           "schema": output_format.get("schema"), "strict": True}}
    if kind == "json_object":
        return {"format": {"type": "json_object"}}
    return None


def request_from_hub(hub: dict, target: Target, dropped: list) -> dict:
    _name_unread(hub, _HUB_FIELDS, dropped)
    if _has_cache_control(hub):
        dropped.append("cache_control")  # OpenAI caches prefixes by itself
    result: dict = {"model": target.model, "input": _items(hub, dropped), "store": False}
    instructions = joined_text(_blocks_of(hub.get("system")), separator="\n\n")
    _set_if_present(result, "instructions", instructions or None)
    effort = _reasoning_effort(hub)
    if effort and not target.reasoning:
        dropped.append("thinking")
    elif effort:
        result["reasoning"] = {"effort": effort, "summary": "auto"}
    if target.reasoning:
        result["include"] = ["reasoning.encrypted_content"]  # store is off: reasoning travels with the client
    _set_if_present(result, "max_output_tokens", hub.get("max_tokens"))
    _set_if_present(result, "text", _text_format((hub.get("output_config") or {}).get("format")))
    for key in ("temperature", "top_p", "top_logprobs", "stream"):
        _set_if_present(result, key, hub.get(key))
    tools = _responses_tools(hub.get("tools"), dropped)
    if tools:
        result["tools"] = tools
        tool_choice = hub.get("tool_choice")
        _set_if_present(result, "tool_choice", _responses_tool_choice(tool_choice))
        if (tool_choice or {}).get("disable_parallel_tool_use"):
            result["parallel_tool_calls"] = False
    return result


def custom_input(tool_input: dict | None) -> str:
    """The text a custom tool call carries (the hub gives it as ``{"input": text}``)."""
    value = (tool_input or {}).get(CUSTOM_TOOL_INPUT, "")
    return value if isinstance(value, str) else json.dumps(value)

