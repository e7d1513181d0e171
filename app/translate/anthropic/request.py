"""Anthropic Messages request <-> hub request.

The hub is the Anthropic Messages form (``app.translate.hub``), so a request from an
Anthropic client enters the hub as it is. Going out to Anthropic, the hub request is shaped
into one the Messages API accepts:

* Hub extensions with no Anthropic field (``seed``, ``presence_penalty``,
  ``frequency_penalty``, ``n``, ``logprobs``, ``top_logprobs``) are dropped and named.
* ``max_tokens`` (required) defaults to ``target.default_max_tokens``, plus the thinking
  budget when the client gave no limit (the default is meant for the answer). A budget is
  shrunk below ``max_tokens``; under 1024 tokens thinking is left off.
* ``temperature`` is clamped to 0..1. With thinking on, a ``temperature`` other than 1,
  ``top_p`` and ``top_k`` are dropped (Anthropic rejects them). On current models
  (``capabilities``), ``top_p`` is dropped when ``temperature`` is set.
* Structured output: ``output_config.format`` goes as ``{type: json_schema, schema}`` to
  models that support it. Elsewhere, and for ``json_object``, the request gets a tool
  named ``STRUCTURED_OUTPUT_TOOL`` whose input schema is the format's, and the model is
  made to call a tool (that one alone when the client has no tools); the tool's input
  comes back as the answer's text (``response``/``stream``). A forced tool and thinking
  exclude each other on Anthropic, so thinking is dropped then.
* A conversation with no user or assistant turn left (a lone system prompt, an empty user
  message) is sent with the system text as its one user turn: Anthropic rejects an empty
  ``messages``, OpenAI answers such a request.
"""
from ..capabilities import Target
from ..content import joined_text, text_block
from ..hub import HUB_EXTENSIONS
from ..mappings import MIN_THINKING_BUDGET

STRUCTURED_OUTPUT_TOOL = "cortex_structured_output"
_THINKING_ON = ("enabled", "adaptive")


def request_to_hub(body: dict, dropped: list) -> dict:
    return body


def _limit_and_thinking(hub: dict, target: Target, dropped: list) -> tuple[int, dict | None]:
    requested, thinking = hub.get("max_tokens"), hub.get("thinking")
    if not thinking or thinking.get("type") != "enabled":
        return (target.default_max_tokens if requested is None else requested), thinking
    budget = thinking.get("budget_tokens") or MIN_THINKING_BUDGET
    if requested is None:
        return target.default_max_tokens + budget, thinking
    budget = min(budget, requested - 1)  # Anthropic requires budget_tokens < max_tokens
    if budget < MIN_THINKING_BUDGET:
        dropped.append("thinking")
        return requested, None
    return requested, {**thinking, "budget_tokens": budget}


def _structured_output_tool(output_format: dict) -> dict:
    schema = output_format.get("schema") if output_format.get("type") == "json_schema" else None
    return {"name": STRUCTURED_OUTPUT_TOOL,
            "description": "Answer by calling this tool: its input is the answer, in the required format.",
            "input_schema": schema or {"type": "object"}}


def _shape_output_format(shaped: dict, target: Target) -> bool:
    """Native or forced-tool structured output; True when a tool is now forced."""
    output_config = dict(shaped.get("output_config") or {})
    output_format = output_config.pop("format", None)
    if not output_format:
        return False
    if target.native_structured_output and output_format.get("type") == "json_schema":
        shaped["output_config"] = {**output_config, "format": {"type": "json_schema",
                                                               "schema": output_format.get("schema")}}
        return False
    if output_config:
        shaped["output_config"] = output_config
    else:
        shaped.pop("output_config", None)
    client_tools = shaped.get("tools") or []
    shaped["tools"] = [*client_tools, _structured_output_tool(output_format)]
    shaped["tool_choice"] = {"type": "any"} if client_tools else {"type": "tool", "name": STRUCTURED_OUTPUT_TOOL}
    return True


def _shape_sampling(shaped: dict, target: Target, dropped: list) -> None:
    if shaped.get("temperature") is not None:
        shaped["temperature"] = min(shaped["temperature"], 1.0)
    if (shaped.get("thinking") or {}).get("type") in _THINKING_ON:
        if shaped.get("temperature") not in (None, 1):
            del shaped["temperature"]
            dropped.append("temperature")
        for key in ("top_p", "top_k"):
            if shaped.pop(key, None) is not None:
                dropped.append(key)
    if target.exclusive_sampling and shaped.get("temperature") is not None and shaped.pop("top_p", None) is not None:
        dropped.append("top_p")


def _ensure_a_turn(shaped: dict) -> None:
    if any(message.get("role") in ("user", "assistant") for message in shaped.get("messages") or []):
        return
    system = shaped.pop("system", None)
    text = system if isinstance(system, str) else joined_text(system or [], separator="\n\n")
    shaped["messages"] = [{"role": "user", "content": [text_block(text or ".")]}]


def request_from_hub(hub: dict, target: Target, dropped: list) -> dict:
    shaped = {key: value for key, value in hub.items() if key not in HUB_EXTENSIONS}
    dropped.extend(key for key in HUB_EXTENSIONS if hub.get(key) is not None)
    shaped["model"] = target.model
    shaped["max_tokens"], thinking = _limit_and_thinking(hub, target, dropped)
    if thinking is None:
        shaped.pop("thinking", None)
    else:
        shaped["thinking"] = thinking
    if _shape_output_format(shaped, target) and (shaped.get("thinking") or {}).get("type") in _THINKING_ON:
        dropped.append("thinking")
        del shaped["thinking"]
    _shape_sampling(shaped, target, dropped)
    _ensure_a_turn(shaped)
    return shaped
