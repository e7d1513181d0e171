"""Chat Completions request <-> hub request (the Anthropic Messages form, see ``app.translate.hub``).

Chat Completions -> hub
    * Leading ``system``/``developer`` messages become the top-level ``system`` blocks; later
      ones stay where they stand as ``role: "system"`` messages (the current Messages API
      takes them in place).
    * Consecutive messages of the same role are merged and ``tool`` messages become
      ``tool_result`` blocks of one user turn, so user/assistant alternate. Messages left
      with no content are left out.
    * Assistant ``reasoning_details`` (OpenRouter's form) or ``thinking_blocks`` (LiteLLM's)
      become the turn's leading ``thinking``/``redacted_thinking`` blocks, signatures intact,
      which is how a client replays Claude's thinking across tool turns. A bare
      ``reasoning_content`` carries no signature and is dropped.
    * ``custom`` tools take one string: they become tools whose input is ``{"input": str}``.
    * ``reasoning_effort`` becomes ``thinking`` (table in ``mappings``), ``response_format``
      becomes ``output_config.format`` (``json_object`` kept as a hub-only type that the
      Anthropic side turns into a forced tool), ``user`` becomes ``metadata.user_id``,
      ``parallel_tool_calls: false`` becomes ``disable_parallel_tool_use``, ``cache_control``
      on content parts, messages and tools (the LiteLLM/OpenRouter extension) is kept.
    * ``seed``, ``presence_penalty``, ``frequency_penalty``, ``n``, ``logprobs`` and
      ``top_logprobs`` are kept as hub extensions: a target that has them takes them, the
      Anthropic side drops and names them.
    * Any other field is dropped and named.

Hub -> Chat Completions
    * ``system`` and positional system messages become ``system`` messages in place (plain
      strings: several OpenAI-compatible servers take nothing else there).
    * ``tool_result`` blocks become ``tool`` messages (``is_error`` as an ``Error:`` prefix),
      followed by one user message with the turn's other blocks and any images the results
      carried (tool messages cannot hold images).
    * Thinking blocks are dropped (they are Anthropic's signed record, never content).
    * ``thinking``/``output_config.effort`` become ``reasoning_effort`` for models that reason
      (``capabilities``), with ``max_completion_tokens``; otherwise they are dropped and the
      limit is sent as ``max_tokens``. ``output_config.format`` becomes ``response_format``.
    * ``metadata.user_id`` becomes ``user`` when OpenAI would take it (at most 64 characters).
    * Dropped and named: ``top_k``, ``cache_control`` (top-level or on any block), server
      tools, and every other field the Chat Completions API has no counterpart for.
"""
import hashlib

from ..capabilities import Target
from ..content import (
    anthropic_blocks_from_openai_content,
    anthropic_tool_use_block,
    client_tools,
    compact_anthropic_content,
    joined_text,
    openai_assistant_message,
    openai_content_from_anthropic_blocks,
    system_and_turns,
    text_block,
)
from ..hub import HUB_EXTENSIONS
from ..mappings import ANTHROPIC_EFFORTS, REASONING_EFFORT_BUDGETS, reasoning_effort_for_budget
from .reasoning import thinking_blocks_from_message

# Fields read by `request_to_hub` (anything else is named as dropped).
_READ_FIELDS = frozenset({
    "model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens", "temperature",
    "top_p", "stop", "user", "tools", "tool_choice", "parallel_tool_calls", "reasoning_effort", "response_format",
    *HUB_EXTENSIONS,
})
# Hub fields `request_from_hub` writes or deliberately reads (anything else is named as dropped).
_HUB_FIELDS = frozenset({
    "model", "messages", "system", "max_tokens", "temperature", "top_p", "stop_sequences", "stream", "metadata",
    "tools", "tool_choice", "thinking", "output_config", *HUB_EXTENSIONS,
})
_OPENAI_TO_HUB_TOOL_CHOICE = {"auto": "auto", "none": "none", "required": "any"}
_HUB_TO_OPENAI_TOOL_CHOICE = {value: key for key, value in _OPENAI_TO_HUB_TOOL_CHOICE.items()}
CUSTOM_TOOL_INPUT = "input"  # the one property of a custom (free-form text) tool's input
MAX_USER_LENGTH = 64  # OpenAI answers 400 to a longer `user` (OpenRouter: 128)
MAX_TOOL_CALL_ID = 40  # OpenAI answers 400 to a longer tool call id


def _empty_input_schema() -> dict:
    return {"type": "object", "properties": {}}  # fresh each time: callers may edit the result


def _custom_tool_input_schema() -> dict:
    return {"type": "object", "properties": {CUSTOM_TOOL_INPUT: {"type": "string"}}, "required": [CUSTOM_TOOL_INPUT]}


def _set_if_present(target: dict, key: str, value) -> None:
    if value is not None:
        target[key] = value


def _name_unread(body: dict, read: frozenset, dropped: list) -> None:
    dropped.extend(key for key, value in body.items() if key not in read and value is not None)


# --- Chat Completions -> hub -----------------------------------------------------------

def _tool_result_block(message: dict) -> dict:
    content = message.get("content")
    return {
        "type": "tool_result",
        "tool_use_id": message.get("tool_call_id"),
        "content": content if isinstance(content, str) else anthropic_blocks_from_openai_content(content),
    }


def _hub_tool_use(call: dict) -> dict:
    if call.get("type") == "custom":
        custom = call.get("custom") or {}
        return {"type": "tool_use", "id": call.get("id"), "name": custom.get("name"),
                "input": {CUSTOM_TOOL_INPUT: custom.get("input") or ""}}
    return anthropic_tool_use_block(call)


def _assistant_blocks(message: dict, dropped: list) -> list[dict]:
    blocks = thinking_blocks_from_message(message)
    if not blocks and message.get("reasoning_content"):
        dropped.append("messages[].reasoning_content")  # unsigned: Anthropic would reject it
    blocks += anthropic_blocks_from_openai_content(message.get("content"))
    if message.get("refusal"):
        blocks.append(text_block(message["refusal"]))
    blocks.extend(_hub_tool_use(call) for call in message.get("tool_calls") or [])
    return blocks


def _content_blocks(message: dict) -> list[dict]:
    """A message's content as blocks; a message-level ``cache_control`` (LiteLLM's extension) marks the last."""
    blocks = anthropic_blocks_from_openai_content(message.get("content"))
    if blocks and message.get("cache_control"):
        blocks[-1] = {**blocks[-1], "cache_control": message["cache_control"]}
    return blocks


def _hub_turn(message: dict, dropped: list) -> tuple[str, list[dict]] | None:
    """One Chat Completions message as (hub role, blocks); None for roles with no turn."""
    role = message.get("role")
    if message.get("name") and role != "tool":
        dropped.append("messages[].name")
    if role == "user":
        return "user", _content_blocks(message)
    if role == "assistant":
        return "assistant", _assistant_blocks(message, dropped)
    if role == "tool":
        return "user", [_tool_result_block(message)]
    if role in ("system", "developer"):
        return "system", [block for block in _content_blocks(message) if block["type"] == "text"]  # text-only
    dropped.append(f"messages[].role={role}")
    return None



def _hub_tools(tools: list[dict] | None, dropped: list) -> list[dict]:
    converted = []
    for tool in tools or []:
        kind = tool.get("type")
        if kind == "function":
            function = tool.get("function") or {}
            definition = {"name": function.get("name"),
                          "input_schema": function.get("parameters") or _empty_input_schema()}
            _set_if_present(definition, "description", function.get("description"))
        elif kind == "custom":
            custom = tool.get("custom") or {}
            definition = {"name": custom.get("name"), "input_schema": _custom_tool_input_schema()}
            _set_if_present(definition, "description", custom.get("description"))
        else:
            dropped.append(f"tools[].type={kind}")
            continue
        _set_if_present(definition, "cache_control", tool.get("cache_control"))
        converted.append(definition)
    return converted


def _hub_tool_choice(tool_choice: str | dict | None, parallel_tool_calls: bool | None) -> dict | None:
    choice = None
    if isinstance(tool_choice, str) and tool_choice in _OPENAI_TO_HUB_TOOL_CHOICE:
        choice = {"type": _OPENAI_TO_HUB_TOOL_CHOICE[tool_choice]}
    elif isinstance(tool_choice, dict) and tool_choice.get("type") in ("function", "custom"):
        named = tool_choice.get(tool_choice["type"]) or {}
        choice = {"type": "tool", "name": named.get("name")}
    if parallel_tool_calls is False:
        choice = choice or {"type": "auto"}
        if choice["type"] != "none":  # "none" takes no parallelism flag
            choice["disable_parallel_tool_use"] = True
    return choice


def _hub_output_format(response_format: dict | None) -> dict | None:
    kind = (response_format or {}).get("type")
    if kind == "json_schema":
        spec = response_format.get("json_schema") or {}
        output = {"type": "json_schema", "schema": spec.get("schema") or {"type": "object"}}
        _set_if_present(output, "name", spec.get("name"))
        return output
    if kind == "json_object":
        return {"type": "json_object"}
    return None  # "text" is the default


def _hub_thinking(effort: str | None) -> dict | None:
    if effort == "none":
        return {"type": "disabled"}
    budget = REASONING_EFFORT_BUDGETS.get(effort)
    return {"type": "enabled", "budget_tokens": budget} if budget else None


def request_to_hub(body: dict, dropped: list) -> dict:
    _name_unread(body, _READ_FIELDS, dropped)
    system_blocks, messages = system_and_turns(body.get("messages") or [], _hub_turn, dropped)
    hub: dict = {"model": body.get("model"), "messages": messages}
    limit = body.get("max_completion_tokens")
    _set_if_present(hub, "max_tokens", body.get("max_tokens") if limit is None else limit)
    if system_blocks:
        hub["system"] = compact_anthropic_content(system_blocks)
    _set_if_present(hub, "thinking", _hub_thinking(body.get("reasoning_effort")))
    output_format = _hub_output_format(body.get("response_format"))
    if output_format:
        hub["output_config"] = {"format": output_format}
    for key in ("temperature", "top_p", "stream", *HUB_EXTENSIONS):
        _set_if_present(hub, key, body.get(key))
    stop = body.get("stop")
    if stop:
        hub["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if body.get("user"):
        hub["metadata"] = {"user_id": body["user"]}
    tools = _hub_tools(body.get("tools"), dropped)
    if tools:
        hub["tools"] = tools
        _set_if_present(hub, "tool_choice", _hub_tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls")))
    return hub


# --- hub -> Chat Completions -----------------------------------------------------------

def fitted_tool_id(tool_id: str | None) -> str | None:
    """A tool call id OpenAI accepts (at most 40 characters): a longer one, such as a Gemini call
    id carrying its thought signature, is replaced by a digest of it, the same in the assistant's
    call and in the tool's answer."""
    if tool_id is None or len(tool_id) <= MAX_TOOL_CALL_ID:
        return tool_id
    return "call_" + hashlib.blake2b(tool_id.encode(), digest_size=16).hexdigest()


def _blocks_of(content: str | list | None) -> list[dict]:
    if isinstance(content, str):
        return [text_block(content)]
    return list(content or [])


def _tool_message(block: dict) -> tuple[dict, list[dict]]:
    """A tool_result block -> (tool message, non-text blocks it carried)."""
    content = _blocks_of(block.get("content"))
    text = joined_text(content, separator="\n")
    if block.get("is_error"):
        text = f"Error: {text}"
    message = {"role": "tool", "tool_call_id": fitted_tool_id(block.get("tool_use_id")), "content": text}
    return message, [item for item in content if item.get("type") != "text"]


def _user_messages(blocks: list[dict]) -> list[dict]:
    messages: list[dict] = []
    carried: list[dict] = []
    for block in blocks:
        if block.get("type") == "tool_result":
            message, non_text = _tool_message(block)
            messages.append(message)
            carried.extend(non_text)
    rest = carried + [block for block in blocks if block.get("type") != "tool_result"]
    if rest or not messages:
        messages.append({"role": "user", "content": openai_content_from_anthropic_blocks(rest)})
    return messages


def _chat_messages(hub: dict, dropped: list) -> list[dict]:
    messages: list[dict] = []
    system = joined_text(_blocks_of(hub.get("system")), separator="\n\n")
    if system:
        messages.append({"role": "system", "content": system})
    for message in hub.get("messages") or []:
        blocks = _blocks_of(message.get("content"))
        role = message.get("role")
        if role == "assistant":
            if any(block.get("type") in ("thinking", "redacted_thinking") for block in blocks):
                dropped.append("messages[].thinking")
            assistant = openai_assistant_message(blocks)
            for call in assistant.get("tool_calls") or ():
                call["id"] = fitted_tool_id(call["id"])
            messages.append(assistant)
        elif role == "system":
            messages.append({"role": "system", "content": joined_text(blocks, separator="\n\n")})
        elif role == "user":
            messages.extend(_user_messages(blocks))
        else:
            dropped.append(f"messages[].role={role}")
    return messages


def _chat_tools(tools: list[dict] | None, dropped: list) -> list[dict]:
    converted = []
    for tool in client_tools(tools, dropped):
        function = {"name": tool.get("name"), "parameters": tool.get("input_schema") or _empty_input_schema()}
        _set_if_present(function, "description", tool.get("description"))
        converted.append({"type": "function", "function": function})
    return converted


def _chat_tool_choice(tool_choice: dict | None) -> str | dict | None:
    kind = (tool_choice or {}).get("type")
    if kind == "tool":
        return {"type": "function", "function": {"name": tool_choice.get("name")}}
    return _HUB_TO_OPENAI_TOOL_CHOICE.get(kind)


def _reasoning_effort(hub: dict) -> str | None:
    thinking = hub.get("thinking") or {}
    effort = (hub.get("output_config") or {}).get("effort")
    if thinking.get("type") == "enabled":
        return reasoning_effort_for_budget(thinking.get("budget_tokens") or 0)
    if thinking.get("type") == "disabled":
        return None
    return effort if effort in ANTHROPIC_EFFORTS else None


def _response_format(output_format: dict | None) -> dict | None:
    kind = (output_format or {}).get("type")
    if kind == "json_schema":
        spec = {"name": output_format.get("name") or "output", "schema": output_format.get("schema"), "strict": True}
        return {"type": "json_schema", "json_schema": spec}
    if kind == "json_object":
        return {"type": "json_object"}
    return None


def _has_cache_control(hub: dict) -> bool:
    """Whether any tool, system block or message block carries a prompt-cache breakpoint."""
    for items in (hub.get("tools"), hub.get("system"),
                  *(message.get("content") for message in hub.get("messages") or [])):
        if isinstance(items, list) and any(isinstance(item, dict) and "cache_control" in item for item in items):
            return True
    return False


def request_from_hub(hub: dict, target: Target, dropped: list) -> dict:
    _name_unread(hub, _HUB_FIELDS, dropped)
    if _has_cache_control(hub):
        dropped.append("cache_control")  # OpenAI-compatible servers cache prefixes by themselves
    result: dict = {"model": target.model, "messages": _chat_messages(hub, dropped)}
    effort = _reasoning_effort(hub)
    if effort and not target.reasoning:
        dropped.append("thinking")
        effort = None
    _set_if_present(result, "reasoning_effort", effort)
    if hub.get("max_tokens") is not None:
        result["max_completion_tokens" if target.reasoning else "max_tokens"] = hub["max_tokens"]
    _set_if_present(result, "response_format", _response_format((hub.get("output_config") or {}).get("format")))
    for key in ("temperature", "top_p", *HUB_EXTENSIONS):
        _set_if_present(result, key, hub.get(key))
    if hub.get("stop_sequences"):
        result["stop"] = list(hub["stop_sequences"])
    if hub.get("stream") is not None:
        result["stream"] = hub["stream"]
    user_id = (hub.get("metadata") or {}).get("user_id")
    if user_id and len(user_id) > MAX_USER_LENGTH:
        dropped.append("metadata.user_id")  # Claude Code's are ~150 characters
    else:
        _set_if_present(result, "user", user_id)
    tools = _chat_tools(hub.get("tools"), dropped)
    if tools:
        result["tools"] = tools
        tool_choice = hub.get("tool_choice")
        _set_if_present(result, "tool_choice", _chat_tool_choice(tool_choice))
        if (tool_choice or {}).get("disable_parallel_tool_use"):
            result["parallel_tool_calls"] = False
    return result
