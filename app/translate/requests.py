"""Request bodies: OpenAI Chat Completions <-> Anthropic Messages.

Only fields with a counterpart are written; everything else is left out.

OpenAI -> Anthropic
    * ``system`` and ``developer`` messages, wherever they stand, are lifted into the
      top-level ``system`` (a string for one text, else a list of text blocks).
    * Consecutive messages of the same role are merged, ``tool`` messages become
      ``tool_result`` blocks in a user turn, so Anthropic's user/assistant alternation holds.
      Messages that end up with no content at all are left out.
    * ``max_completion_tokens`` (else ``max_tokens``, else ``default_max_tokens``) becomes
      the required ``max_tokens``. ``temperature`` is clamped to Anthropic's 0..1 range.
    * ``reasoning_effort`` becomes ``thinking`` with the budget of
      ``mappings.REASONING_EFFORT_BUDGETS``. Without a client ``max_tokens`` the budget is
      added on top of ``default_max_tokens`` (the default is meant for the answer); with
      one, the budget shrinks to fit below it, and thinking is left off if less than
      Anthropic's 1024-token minimum would remain.
    * ``user`` becomes ``metadata.user_id``; ``parallel_tool_calls: false`` becomes
      ``tool_choice.disable_parallel_tool_use``.
    * Dropped, no Anthropic equivalent: ``n`` (always one choice), ``logprobs``,
      ``top_logprobs``, ``logit_bias``, ``response_format``, ``seed``, ``presence_penalty``,
      ``frequency_penalty``, ``stream_options`` (Anthropic always reports usage),
      ``service_tier``, ``store``, ``metadata``, ``modalities``, ``audio``, ``prediction``,
      ``web_search_options``, tools of a type other than ``function``, the legacy
      ``functions``/``function_call`` fields and ``function`` role messages, message
      ``name`` fields and assistant ``reasoning_content`` (Anthropic only accepts thinking
      blocks carrying the signature it issued).

Anthropic -> OpenAI
    * ``system`` (string or text blocks, ``cache_control`` ignored) becomes one leading
      system message whose blocks are joined by a blank line, a plain string because
      several OpenAI-compatible providers accept nothing else there.
    * A user turn with ``tool_result`` blocks becomes one ``tool`` message per result
      (text joined into a string, ``is_error`` marked by an ``Error:`` prefix as OpenAI has
      no such flag), then one user message with the turn's other blocks and any images the
      results carried (tool messages cannot hold images).
    * ``thinking`` becomes ``reasoning_effort`` (see ``mappings``); with it the limit is
      sent as ``max_completion_tokens`` (reasoning models reject ``max_tokens``), else as
      ``max_tokens``. ``stream`` adds ``stream_options.include_usage``.
    * Dropped: ``top_k`` (no OpenAI sampling parameter), ``cache_control`` anywhere (OpenAI
      caches prefixes by itself), thinking and redacted_thinking blocks in assistant turns
      (signed, Anthropic-only), server tools (``web_search_*``, ``bash_*`` ... have no
      function schema), ``service_tier``, ``container``, ``mcp_servers``.
"""

from .content import (
    anthropic_blocks_from_openai_content,
    anthropic_tool_use_block,
    compact_anthropic_content,
    joined_text,
    openai_assistant_message,
    openai_content_from_anthropic_blocks,
    text_block,
)
from .mappings import MIN_THINKING_BUDGET, REASONING_EFFORT_BUDGETS, reasoning_effort_for_budget


def _empty_input_schema() -> dict:
    return {"type": "object", "properties": {}}  # fresh each time: callers may edit the result


_OPENAI_TO_ANTHROPIC_TOOL_CHOICE = {"auto": "auto", "none": "none", "required": "any"}
_ANTHROPIC_TO_OPENAI_TOOL_CHOICE = {value: key for key, value in _OPENAI_TO_ANTHROPIC_TOOL_CHOICE.items()}


def _set_if_present(target: dict, key: str, value) -> None:
    if value is not None:
        target[key] = value


# --- OpenAI -> Anthropic -------------------------------------------------------------

def _tool_result_block(message: dict) -> dict:
    content = message.get("content")
    return {
        "type": "tool_result",
        "tool_use_id": message.get("tool_call_id"),
        "content": content if isinstance(content, str) else anthropic_blocks_from_openai_content(content),
    }


def _anthropic_turn(message: dict) -> tuple[str, list[dict]] | None:
    """One OpenAI message as (Anthropic role, blocks); None for roles with no turn."""
    role = message.get("role")
    if role == "user":
        return "user", anthropic_blocks_from_openai_content(message.get("content"))
    if role == "assistant":
        blocks = anthropic_blocks_from_openai_content(message.get("content"))
        if message.get("refusal"):
            blocks.append(text_block(message["refusal"]))
        blocks.extend(anthropic_tool_use_block(call) for call in message.get("tool_calls") or [])
        return "assistant", blocks
    if role == "tool":
        return "user", [_tool_result_block(message)]
    return None


def _split_system_and_turns(messages: list[dict]) -> tuple[list[dict], list[dict]]:
    system_blocks: list[dict] = []
    turns: list[dict] = []
    for message in messages:
        if message.get("role") in ("system", "developer"):
            blocks = anthropic_blocks_from_openai_content(message.get("content"))
            system_blocks.extend(block for block in blocks if block["type"] == "text")  # system is text-only
            continue
        turn = _anthropic_turn(message)
        if turn is None:
            continue
        role, blocks = turn
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    for turn in turns:
        turn["content"] = compact_anthropic_content(turn["content"])
    return system_blocks, turns


def _anthropic_tools(tools: list[dict] | None) -> list[dict]:
    converted = []
    for tool in tools or []:
        if tool.get("type") != "function":
            continue
        function = tool.get("function") or {}
        definition = {"name": function.get("name"), "input_schema": function.get("parameters") or _empty_input_schema()}
        _set_if_present(definition, "description", function.get("description"))
        converted.append(definition)
    return converted


def _anthropic_tool_choice(tool_choice: str | dict | None, parallel_tool_calls: bool | None) -> dict | None:
    choice = None
    if isinstance(tool_choice, str) and tool_choice in _OPENAI_TO_ANTHROPIC_TOOL_CHOICE:
        choice = {"type": _OPENAI_TO_ANTHROPIC_TOOL_CHOICE[tool_choice]}
    elif isinstance(tool_choice, dict) and tool_choice.get("type") == "function":
        choice = {"type": "tool", "name": (tool_choice.get("function") or {}).get("name")}
    if parallel_tool_calls is False:
        choice = choice or {"type": "auto"}
        if choice["type"] != "none":  # "none" takes no parallelism flag
            choice["disable_parallel_tool_use"] = True
    return choice


def _max_tokens_and_thinking(body: dict, default_max_tokens: int) -> tuple[int, dict | None]:
    requested = body.get("max_completion_tokens")
    if requested is None:
        requested = body.get("max_tokens")
    budget = REASONING_EFFORT_BUDGETS.get(body.get("reasoning_effort"))
    if budget is None:
        return (default_max_tokens if requested is None else requested), None
    if requested is None:
        return default_max_tokens + budget, {"type": "enabled", "budget_tokens": budget}
    budget = min(budget, requested - 1)  # Anthropic requires budget_tokens < max_tokens
    if budget < MIN_THINKING_BUDGET:
        return requested, None
    return requested, {"type": "enabled", "budget_tokens": budget}


def openai_request_to_anthropic(body: dict, *, default_max_tokens: int = 4096) -> dict:
    system_blocks, messages = _split_system_and_turns(body.get("messages") or [])
    max_tokens, thinking = _max_tokens_and_thinking(body, default_max_tokens)
    result: dict = {"model": body.get("model"), "messages": messages, "max_tokens": max_tokens}
    if system_blocks:
        result["system"] = compact_anthropic_content(system_blocks)
    _set_if_present(result, "thinking", thinking)
    if body.get("temperature") is not None:
        result["temperature"] = min(body["temperature"], 1.0)
    _set_if_present(result, "top_p", body.get("top_p"))
    stop = body.get("stop")
    if stop:
        result["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    _set_if_present(result, "stream", body.get("stream"))
    if body.get("user"):
        result["metadata"] = {"user_id": body["user"]}
    tools = _anthropic_tools(body.get("tools"))
    if tools:
        result["tools"] = tools
        tool_choice = _anthropic_tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
        _set_if_present(result, "tool_choice", tool_choice)
    return result


# --- Anthropic -> OpenAI -------------------------------------------------------------

def _anthropic_blocks(content: str | list | None) -> list[dict]:
    if isinstance(content, str):
        return [text_block(content)]
    return list(content or [])


def _system_text(system: str | list | None) -> str:
    return joined_text(_anthropic_blocks(system), separator="\n\n")


def _openai_tool_message(block: dict) -> tuple[dict, list[dict]]:
    """A tool_result block -> (tool message, non-text blocks it carried)."""
    content = _anthropic_blocks(block.get("content"))
    text = joined_text(content, separator="\n")
    if block.get("is_error"):
        text = f"Error: {text}"
    message = {"role": "tool", "tool_call_id": block.get("tool_use_id"), "content": text}
    return message, [item for item in content if item.get("type") != "text"]


def _openai_user_messages(blocks: list[dict]) -> list[dict]:
    messages: list[dict] = []
    carried: list[dict] = []
    for block in blocks:
        if block.get("type") == "tool_result":
            message, non_text = _openai_tool_message(block)
            messages.append(message)
            carried.extend(non_text)
    rest = carried + [block for block in blocks if block.get("type") != "tool_result"]
    if rest or not messages:
        messages.append({"role": "user", "content": openai_content_from_anthropic_blocks(rest)})
    return messages


def _openai_tools(tools: list[dict] | None) -> list[dict]:
    converted = []
    for tool in tools or []:
        if tool.get("type") not in (None, "custom"):
            continue  # server tool, runs inside Anthropic
        function = {"name": tool.get("name"), "parameters": tool.get("input_schema") or _empty_input_schema()}
        _set_if_present(function, "description", tool.get("description"))
        converted.append({"type": "function", "function": function})
    return converted


def _openai_tool_choice(tool_choice: dict | None) -> str | dict | None:
    kind = (tool_choice or {}).get("type")
    if kind == "tool":
        return {"type": "function", "function": {"name": tool_choice.get("name")}}
    return _ANTHROPIC_TO_OPENAI_TOOL_CHOICE.get(kind)


def anthropic_request_to_openai(body: dict) -> dict:
    messages: list[dict] = []
    system = _system_text(body.get("system"))
    if system:
        messages.append({"role": "system", "content": system})
    for message in body.get("messages") or []:
        blocks = _anthropic_blocks(message.get("content"))
        if message.get("role") == "assistant":
            messages.append(openai_assistant_message(blocks))
        else:
            messages.extend(_openai_user_messages(blocks))

    result: dict = {"model": body.get("model"), "messages": messages}
    thinking = body.get("thinking") or {}
    reasoning_effort = None
    if thinking.get("type") == "enabled":
        reasoning_effort = reasoning_effort_for_budget(thinking.get("budget_tokens") or 0)
        result["reasoning_effort"] = reasoning_effort
    if body.get("max_tokens") is not None:
        result["max_completion_tokens" if reasoning_effort else "max_tokens"] = body["max_tokens"]
    _set_if_present(result, "temperature", body.get("temperature"))
    _set_if_present(result, "top_p", body.get("top_p"))
    if body.get("stop_sequences"):
        result["stop"] = list(body["stop_sequences"])
    if body.get("stream") is not None:
        result["stream"] = body["stream"]
        if body["stream"]:
            result["stream_options"] = {"include_usage": True}
    user_id = (body.get("metadata") or {}).get("user_id")
    _set_if_present(result, "user", user_id)
    tools = _openai_tools(body.get("tools"))
    if tools:
        result["tools"] = tools
        tool_choice = body.get("tool_choice")
        _set_if_present(result, "tool_choice", _openai_tool_choice(tool_choice))
        if (tool_choice or {}).get("disable_parallel_tool_use"):
            result["parallel_tool_calls"] = False
    return result
