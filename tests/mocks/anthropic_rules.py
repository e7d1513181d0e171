"""What the Messages API rejects with 400 invalid_request_error, checked the way the API checks it.

The pinned SDK's request types are the reference for what is accepted (fields, roles, block
types); the rules below are the ones the API states in its docs and error messages. Each check
returns the API's message for the first problem it finds, or None.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable, Iterator

from anthropic.types import message_create_params
from anthropic.types.beta import BetaContentBlockParam, BetaMessageParam
from anthropic.types.beta import message_create_params as beta_message_create_params

from .conversation import redacted_data_valid, signature_valid


def _literal_types(union: object, key: str) -> set[str]:
    """The tags a union of types (nested unions, TypedDicts, models) accepts in ``key``: block
    types, message roles. The SDK's annotations are forward references such as "Required[Literal['text']]"."""
    if not isinstance(union, type):
        return set().union(*(_literal_types(member, key) for member in typing.get_args(union)))
    annotation = str(union.__annotations__.get(key, ""))
    literals = re.findall(r"Literal\[([^\]]*)\]", annotation)
    return {tag for literal in literals for tag in re.findall(r"[\"']([^\"']+)[\"']", literal)}


# Sampling fields the API still takes though the 2.14 SDK no longer types them.
_UNTYPED_FIELDS = {"stream", "temperature", "top_p", "top_k"}
FIELDS = set(message_create_params.MessageCreateParamsBase.__annotations__) | _UNTYPED_FIELDS
# Fields only a request with an anthropic-beta header may carry (the beta MessageCreateParams).
BETA_FIELDS = set(beta_message_create_params.MessageCreateParamsBase.__annotations__) - FIELDS - {"betas"}
ROLES = _literal_types(BetaMessageParam, "role")  # user, assistant, system
BLOCK_TYPES = _literal_types(BetaContentBlockParam, "type")
EFFORTS = {"low", "medium", "high", "xhigh", "max"}
THINKING_TYPES = {"enabled", "adaptive", "disabled", "between_tools"}
THINKING_DISPLAYS = {None, "summarized", "omitted"}
MIN_THINKING_BUDGET = 1024

# Current models: Sonnet/Haiku 4.5 and Opus 4.1 onwards, and every family from generation 5
# (claude-sonnet-5, claude-fable-5-1...). They take structured outputs (output_config.format)
# and reject temperature together with top_p. Older names (claude-3-5-sonnet-...) do neither.
_MODEL_VERSION = re.compile(r"^claude-([a-z]+)-(\d+)(?:-(\d{1,2}))?(?![\d])")
_CURRENT_SINCE = {"opus": (4, 1), "sonnet": (4, 5), "haiku": (4, 5)}


def is_current_model(model: str) -> bool:
    match = _MODEL_VERSION.match(model or "")
    if not match:
        return False
    version = (int(match[2]), int(match[3] or 0))
    return version >= _CURRENT_SINCE.get(match[1], (5, 0))


Check = Callable[[dict, bool], "str | None"]


def _blocks(content: object) -> list:
    """A message's content as blocks: a string is one text block (none when empty)."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    return content


def _non_system(messages: list[dict]) -> Iterator[tuple[int, dict]]:
    """(index, message) of the user/assistant turns: system messages sit between turns without
    breaking the tool_use -> tool_result adjacency."""
    return ((index, message) for index, message in enumerate(messages) if message.get("role") != "system")


def _fields(body: dict, beta: bool) -> str | None:
    allowed = FIELDS | BETA_FIELDS if beta else FIELDS
    extra = sorted(set(body) - allowed)
    return f"{extra[0]}: Extra inputs are not permitted" if extra else None


def _required(body: dict, beta: bool) -> str | None:
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model: Field required"
    if "max_tokens" not in body:
        return "max_tokens: Field required"
    if not isinstance(body["max_tokens"], int) or body["max_tokens"] < 0:
        return "max_tokens: Input should be a valid integer greater than or equal to 0"
    messages = body.get("messages")
    if not isinstance(messages, list):
        return "messages: Field required"
    if not messages:
        return "messages: at least one message is required"
    return None


def _message_shapes(body: dict, beta: bool) -> str | None:
    messages = body["messages"]
    for index, message in enumerate(messages):
        where = f"messages.{index}"
        if not isinstance(message, dict):
            return f"{where}: Input should be a valid dictionary"
        role = message.get("role")
        if role not in ROLES:
            return f"{where}.role: Input should be 'user', 'assistant' or 'system'"
        content = message.get("content")
        if not isinstance(content, (str, list)):
            return f"{where}.content: Field required"
        final_assistant = role == "assistant" and index == len(messages) - 1
        if not content and not final_assistant:
            return f"{where}: all messages must have non-empty content except for the optional final assistant message"
        for position, block in enumerate(_blocks(content)):
            problem = _block_problem(role, block, f"{where}.content.{position}")
            if problem:
                return problem
    return None


def _block_problem(role: str, block: object, where: str) -> str | None:
    if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
        tag = block.get("type") if isinstance(block, dict) else None
        return f"{where}: Input tag '{tag}' found using 'type' does not match any of the expected tags"
    kind = block["type"]
    if role == "system" and kind != "text":
        return f"{where}.type: system messages may only contain text blocks"
    if kind == "text" and (not isinstance(block.get("text"), str) or not block["text"]):
        return f"{where}.text: text content blocks must be non-empty"
    if kind in ("thinking", "redacted_thinking", "tool_use") and role != "assistant":
        return f"{where}: `{kind}` blocks may only appear in `assistant` messages"
    if kind == "tool_result" and role != "user":
        return f"{where}: `tool_result` blocks may only appear in `user` messages"
    if kind == "tool_use":
        if not isinstance(block.get("id"), str) or not block["id"]:
            return f"{where}.tool_use.id: Field required"
        if not isinstance(block.get("name"), str) or not block["name"]:
            return f"{where}.tool_use.name: Field required"
        if not isinstance(block.get("input"), dict):
            return f"{where}.tool_use.input: Input should be a valid dictionary"
    if kind == "thinking" and not signature_valid(str(block.get("thinking")), block.get("signature")):
        return f"{where}: Invalid `signature` in `thinking` block"
    if kind == "redacted_thinking" and not redacted_data_valid(block.get("data")):
        return f"{where}: Invalid `data` in `redacted_thinking` block"
    return None


def _tool_pairing(body: dict, beta: bool) -> str | None:
    """Each tool_use is answered by a tool_result in the next turn, and each tool_result answers
    a tool_use of the turn before; tool_result blocks come first in their message."""
    pending: list[str] = []  # tool_use ids of the previous turn
    pending_at = 0
    for index, message in _non_system(body["messages"]):
        blocks = _blocks(message["content"])
        results = [block.get("tool_use_id") for block in blocks if block["type"] == "tool_result"]
        if any(block["type"] != "tool_result" for block in blocks[: len(results)]):
            return f"messages.{index}: `tool_result` blocks must come first in the content, before any other blocks"
        missing = [use for use in pending if use not in results]
        if missing:
            return (f"messages.{pending_at}: `tool_use` ids were found without `tool_result` blocks immediately "
                    f"after: {', '.join(missing)}. Each `tool_use` block must have a corresponding `tool_result` "
                    "block in the next message.")
        stray = [result for result in results if result not in pending]
        if stray:
            return (f"messages.{index}.content.0: unexpected `tool_use_id` found in `tool_result` blocks: "
                    f"{stray[0]}. Each `tool_result` block must have a corresponding `tool_use` block in the "
                    "previous message.")
        pending, pending_at = [block["id"] for block in blocks if block["type"] == "tool_use"], index
    return None


def _thinking(body: dict, beta: bool) -> str | None:
    thinking = body.get("thinking")
    if thinking is None:
        return None
    if not isinstance(thinking, dict) or thinking.get("type") not in THINKING_TYPES:
        return "thinking.type: Input should be 'enabled', 'adaptive', 'disabled' or 'between_tools'"
    if thinking.get("display") not in THINKING_DISPLAYS:
        return f"thinking.{thinking['type']}.display: Input should be 'summarized' or 'omitted'"
    if thinking["type"] != "enabled":
        return None
    budget = thinking.get("budget_tokens")
    if not isinstance(budget, int):
        return "thinking.enabled.budget_tokens: Field required"
    if budget < MIN_THINKING_BUDGET:
        return f"thinking.enabled.budget_tokens: Input should be greater than or equal to {MIN_THINKING_BUDGET}"
    if budget >= body["max_tokens"]:
        return "`max_tokens` must be greater than `thinking.budget_tokens`."
    return _thinking_turn_starts(body)


def _thinking_turn_starts(body: dict) -> str | None:
    """With thinking enabled, the assistant turn of an ongoing tool loop starts with its thinking."""
    turns = [message for _, message in _non_system(body["messages"])]
    if len(turns) < 2 or turns[-1]["role"] != "user" or turns[-2]["role"] != "assistant":
        return None
    blocks = _blocks(turns[-2]["content"])
    if not any(block["type"] == "tool_use" for block in blocks):
        return None
    if blocks[0]["type"] not in ("thinking", "redacted_thinking"):
        return ("messages: When `thinking` is enabled, a final `assistant` message must start with a thinking "
                f"block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). Expected `thinking` "
                f"or `redacted_thinking`, but found `{blocks[0]['type']}`.")
    return None


def _sampling(body: dict, beta: bool) -> str | None:
    temperature, top_p = body.get("temperature"), body.get("top_p")
    for name, value in (("temperature", temperature), ("top_p", top_p)):
        if value is not None and not (isinstance(value, (int, float)) and 0 <= value <= 1):
            return f"{name}: Input should be less than or equal to 1"
    thinking_on = (body.get("thinking") or {}).get("type") in ("enabled", "adaptive")
    if thinking_on and temperature is not None and temperature != 1:
        return "`temperature` may only be set to 1 when thinking is enabled. Please consult our documentation."
    if thinking_on and top_p is not None and top_p < 0.95:
        return "`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled."
    if thinking_on and body.get("top_k") is not None:
        return "`top_k` must be unset when thinking is enabled."
    if thinking_on and (body.get("tool_choice") or {}).get("type") in ("any", "tool"):
        return "Thinking may not be enabled when tool_choice forces tool use."
    if temperature is not None and top_p is not None and is_current_model(body["model"]):
        return "`temperature` and `top_p` cannot both be specified for this model. Please use only one."
    return None


def _output_config(body: dict, beta: bool) -> str | None:
    config = body.get("output_config")
    if config is None:
        return None
    if not isinstance(config, dict):
        return "output_config: Input should be a valid dictionary"
    if config.get("effort") not in EFFORTS | {None}:
        return "output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or 'max'"
    output_format = config.get("format")
    if output_format is not None and (
        not isinstance(output_format, dict) or output_format.get("type") != "json_schema"
        or not isinstance(output_format.get("schema"), dict)
    ):
        return "output_config.format: Input should be {'type': 'json_schema', 'schema': {...}}"
    if output_format is not None and not is_current_model(body["model"]):
        return f"output_config.format: structured outputs are not supported by model '{body['model']}'"
    return None


def _tools(body: dict, beta: bool) -> str | None:
    for index, tool in enumerate(body.get("tools") or []):
        if not isinstance(tool, dict) or not tool.get("name"):
            return f"tools.{index}.name: Field required"
        if "type" not in tool and not isinstance(tool.get("input_schema"), dict):
            return f"tools.{index}.custom.input_schema: Field required"
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "tool" and choice.get("name") not in {
        tool.get("name") for tool in body.get("tools") or []
    }:
        return f"tool_choice.tool.name: Tool '{choice.get('name')}' not found in provided tools"
    return None


def _metadata(body: dict, beta: bool) -> str | None:
    metadata = body.get("metadata")
    if metadata is None:
        return None
    if not isinstance(metadata, dict) or set(metadata) - {"user_id"}:
        return "metadata: only `user_id` is accepted"
    user_id = metadata.get("user_id")
    if user_id is not None and (not isinstance(user_id, str) or len(user_id) > 512):
        return "metadata.user_id: String should have at most 512 characters"
    return None


# In the order the API reports them: shape first, then the conversation, then the options.
CHECKS: tuple[Check, ...] = (_required, _fields, _message_shapes, _tool_pairing, _thinking, _sampling,
                             _output_config, _tools, _metadata)


def problem(body: dict, beta: bool) -> str | None:
    """The API's 400 message for a POST /v1/messages body, or None when it would be accepted.

    ``beta``: the request carries an anthropic-beta header, which admits the beta fields.
    """
    return next((found for check in CHECKS if (found := check(body, beta))), None)
