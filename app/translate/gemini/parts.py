"""Gemini ``parts`` <-> hub content blocks, thought signatures and finish reasons.

Thought signatures. Gemini signs its reasoning with an opaque ``thoughtSignature`` on a
part and answers 400 when the first ``functionCall`` of a model turn comes back without
it on the next tool turn. Clients of other formats echo a tool call's *id* reliably (they
must, to pair the result) while few keep unknown fields, so a signed ``functionCall``
becomes a hub ``tool_use`` whose id carries the signature (LiteLLM's ``__thought__``
convention)::

    <call id>__thought__<signature, URL-safe base64 without padding>

which is a valid tool id for OpenAI and Anthropic (``[a-zA-Z0-9_-]``); ``request`` puts it
back on the ``functionCall`` and sends the original id. Gemini's signatures on text
parts are optional to return and are dropped.

The other way, a Gemini client must be able to replay a provider's signed thinking
(Claude's): hub ``thinking``/``redacted_thinking`` blocks become ``thought`` parts whose
``thoughtSignature`` wraps the whole hub block, text and signature (``thoughtSignature`` is
bytes in Google's SDKs, so it must be base64 to survive them; the text rides along because
clients merge or split streamed thought parts); ``wrap``/``unwrap`` mark the kind, so a
thought part replayed by the client becomes the same hub block again. A
signature Gemini made is never unwrapped into a hub thinking block: no other provider
would take it.
"""
import base64
import binascii
import uuid

import orjson

THOUGHT_SEPARATOR = "__thought__"
GENERATED_ID_PREFIX = "gcall_"  # ids Cortex made up for calls Gemini sent without one
# Gemini's documented value for a call it did not sign (history from another model).
SKIP_SIGNATURE = "skip_thought_signature_validator"
_WRAPPED = {"thinking": b"cortex-thinking:", "redacted_thinking": b"cortex-redacted:"}
_HUB_FIELDS = {"thinking": ("thinking", "signature"), "redacted_thinking": ("data",)}

# Gemini finishReason -> hub stop_reason (anything unlisted ends the turn normally).
STOP_REASONS = {
    "STOP": "end_turn",
    "MAX_TOKENS": "max_tokens",
    "SAFETY": "refusal",
    "RECITATION": "refusal",
    "LANGUAGE": "refusal",
    "BLOCKLIST": "refusal",
    "PROHIBITED_CONTENT": "refusal",
    "SPII": "refusal",
    "IMAGE_SAFETY": "refusal",
}
# hub stop_reason -> Gemini finishReason (anything unlisted is STOP).
FINISH_REASONS = {"max_tokens": "MAX_TOKENS", "model_context_window_exceeded": "MAX_TOKENS", "refusal": "SAFETY"}


# HTTP status -> Google's canonical status name (the error envelope's `status`).
GOOGLE_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                 413: "INVALID_ARGUMENT", 429: "RESOURCE_EXHAUSTED", 499: "CANCELLED", 500: "INTERNAL",
                 502: "UNAVAILABLE", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED", 529: "UNAVAILABLE"}


def google_error(status: int, message: str) -> dict:
    return {"error": {"code": status, "message": message, "status": GOOGLE_STATUS.get(status, "UNKNOWN")}}


def stop_reason(finish_reason: str | None, *, has_tool_calls: bool) -> str:
    reason = STOP_REASONS.get(finish_reason or "", "end_turn")
    return "tool_use" if has_tool_calls and reason == "end_turn" else reason


def finish_reason(stop: str | None) -> str:
    return FINISH_REASONS.get(stop or "", "STOP")


# --- signatures ------------------------------------------------------------------------

def id_with_signature(call_id: str | None, signature: str | None) -> str:
    call_id = call_id or GENERATED_ID_PREFIX + uuid.uuid4().hex[:24]
    if not signature:
        return call_id
    return call_id + THOUGHT_SEPARATOR + signature.replace("+", "-").replace("/", "_").rstrip("=")


def split_id(tool_id: str | None) -> tuple[str | None, str | None]:
    """(the call id to send Gemini, or None if Cortex made it up; the signature it carried)."""
    call_id, _, encoded = (tool_id or "").partition(THOUGHT_SEPARATOR)
    signature = None
    if encoded:
        signature = encoded.replace("-", "+").replace("_", "/") + "=" * (-len(encoded) % 4)
    return (None if not call_id or call_id.startswith(GENERATED_ID_PREFIX) else call_id), signature


def wrap(block: dict) -> str:
    """A hub thinking block, whole, as a thoughtSignature: the part's text is for display only (a
    client may merge or split streamed thought parts), so the signature must carry the text too."""
    kind = block["type"]
    fields = {name: block.get(name, "") for name in _HUB_FIELDS[kind]}
    return base64.b64encode(_WRAPPED[kind] + orjson.dumps(fields)).decode()


def unwrap(signature: str | None) -> dict | None:
    """The hub block a wrapped signature carries; None for Gemini's own signatures."""
    try:
        raw = base64.b64decode(signature or "", validate=True)
    except (binascii.Error, ValueError):
        return None
    for kind, prefix in _WRAPPED.items():
        if raw.startswith(prefix):
            fields = orjson.loads(raw[len(prefix):])
            return {"type": kind, **{name: str(fields.get(name, "")) for name in _HUB_FIELDS[kind]}}
    return None


# --- parts -> hub blocks -----------------------------------------------------------------

def thought_block(part: dict) -> dict | None:
    """A ``thought`` part as the hub block it stood for; None when no provider could take it back."""
    try:
        return unwrap(part.get("thoughtSignature"))
    except orjson.JSONDecodeError:
        return None


def tool_use_block(call: dict, signature: str | None) -> dict:
    return {"type": "tool_use", "id": id_with_signature(call.get("id"), signature), "name": call.get("name") or "",
            "input": call.get("args") or {}}


def reply_blocks(parts: list) -> list[dict]:
    """A reply's parts as hub blocks; Gemini's thoughts become thinking blocks with no signature."""
    blocks: list[dict] = []
    for part in parts:
        if "functionCall" in part:
            blocks.append(tool_use_block(part["functionCall"], part.get("thoughtSignature")))
        elif part.get("thought"):
            blocks.append({"type": "thinking", "thinking": part.get("text", ""), "signature": ""})
        elif part.get("text"):
            if blocks and blocks[-1]["type"] == "text":
                blocks[-1] = {**blocks[-1], "text": blocks[-1]["text"] + part["text"]}
            else:
                blocks.append({"type": "text", "text": part["text"]})
    return blocks


# --- hub blocks -> parts -----------------------------------------------------------------

def thought_part(block: dict) -> dict:
    """A hub thinking/redacted_thinking block as a Gemini ``thought`` part a client can replay."""
    part = {"text": block.get("thinking", ""), "thought": True}
    if block.get("signature") or block.get("data"):
        part["thoughtSignature"] = wrap(block)
    return part


def function_call_part(block: dict) -> dict:
    call_id, signature = split_id(block.get("id"))
    call = {"name": block.get("name"), "args": block.get("input") or {}}
    if call_id:
        call["id"] = call_id
    part = {"functionCall": call}
    if signature:
        part["thoughtSignature"] = signature
    return part


def arguments(partial_json: str) -> dict:
    return orjson.loads(partial_json) if partial_json else {}
