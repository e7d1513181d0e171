"""Chat requests shaped for the chosen provider, and replies shaped back for the client.

Pure functions over dicts. Same format: the body as the client sent it, the model name
aside. Otherwise through the translation hub (`app.translate`), which also names what the
provider's format could not carry.
"""
import functools
import logging

from app.errors import InvalidRequest, UpstreamError
from app.providers import UpstreamCall
from app.translate import FORMATS, Usage, inject_anthropic_cache_control, target_for, translate_request, translate_response

CHAT_PATHS = {"openai": "/chat/completions", "anthropic": "/messages", "responses": "/responses",
              "gemini": ":generateContent"}  # a method of the model, whose URL the adapter builds
# Request fields a format carries in its URL: the client's surface put them in the body.
URL_FIELDS = {"gemini": ("model", "stream")}
# What the translators raise when a field the schemas leave open has an unexpected type.
SHAPE_ERRORS = (LookupError, TypeError, AttributeError, ValueError)

log = logging.getLogger("cortex.shaping")


def _shape_errors_become(make_error):
    """Decorator: a body the translation cannot read becomes `make_error(message)`, not a 500."""
    def decorate(translate):
        @functools.wraps(translate)
        def translated(*args, **kwargs):
            try:
                return translate(*args, **kwargs)
            except SHAPE_ERRORS as exc:
                log.info("%s failed on an unexpected shape: %s: %s", translate.__name__, type(exc).__name__, exc)
                raise make_error(exc) from None
        return translated
    return decorate


def _unreadable_request(exc: Exception) -> InvalidRequest:
    return InvalidRequest(f"A field of the request has an unexpected type or shape ({type(exc).__name__}: {exc})",
                          code="invalid_value")


def _unreadable_reply(exc: Exception) -> UpstreamError:
    return UpstreamError("The provider sent a reply of an unexpected shape", code="upstream_bad_response")


def upstream_format(provider, model: str, client_format: str, wire_format: str) -> str:
    """The format a request goes upstream in: the Responses API for a model entry with `api:
    responses`, and for a Responses client on an OpenAI-type provider serving it natively
    (`responses_api`); else the provider's chat format."""
    entry = provider.model(model)
    if entry is not None and entry.api == "responses":
        return "responses"
    if client_format == "responses" and wire_format == "openai" and provider.responses_api == "native":
        return "responses"
    return wire_format


def client_wants_usage(client_format: str, body: dict) -> bool:
    """Whether an OpenAI client asked for the final usage chunk (Anthropic streams always carry usage)."""
    options = body.get("stream_options")
    return client_format == "anthropic" or (isinstance(options, dict) and options.get("include_usage") is True)


@_shape_errors_become(_unreadable_request)
def upstream_chat_body(client_format: str, provider_format: str, body: dict, model: str,
                       *, inject_cache_control: bool) -> tuple[dict, list[str]]:
    """(the body for the provider, names of what translation dropped)."""
    if client_format == provider_format:
        shaped, dropped = dict(body), []
        shaped["model"] = model
        for key in URL_FIELDS.get(provider_format, ()):
            shaped.pop(key, None)
    else:
        shaped, dropped = translate_request(body, client_format, provider_format, target_for(provider_format, model))
    if provider_format == "openai" and shaped.get("stream"):
        # Ask for usage on every stream; the relay drops the chunk if the client did not ask.
        shaped["stream_options"] = {**(shaped.get("stream_options") or {}), "include_usage": True}
    if provider_format == "anthropic" and inject_cache_control:
        shaped = inject_anthropic_cache_control(shaped)
    return shaped, dropped


def chat_call(client_format: str, provider_format: str, body: dict, model: str, *,
              inject_cache_control: bool, client_headers: dict) -> tuple[UpstreamCall, list[str]]:
    shaped, dropped = upstream_chat_body(client_format, provider_format, body, model,
                                         inject_cache_control=inject_cache_control)
    call = UpstreamCall(path=CHAT_PATHS[provider_format], body=shaped, model=model, stream=bool(body.get("stream")),
                        headers=client_headers)
    return call, dropped


# What a token count reads of a hub request (Anthropic's count_tokens takes nothing else).
COUNTED_FIELDS = ("model", "messages", "system", "tools", "tool_choice", "thinking")


@_shape_errors_become(_unreadable_request)
def count_tokens_request(client_format: str, body: dict) -> dict:
    """A client's request to count as the hub (Anthropic count_tokens) body InferenceService.count_tokens takes."""
    hub = FORMATS[client_format].request_to_hub(body, [])
    return {key: hub[key] for key in COUNTED_FIELDS if hub.get(key) is not None}


def _anthropic_count(hub: dict, model: str, client_headers: dict) -> tuple:
    call = UpstreamCall(path="/messages/count_tokens", body={**hub, "model": model}, model=model,
                        headers=client_headers)
    return call, lambda reply: reply["input_tokens"]


def _gemini_count(hub: dict, model: str, client_headers: dict) -> tuple:
    shaped, _ = translate_request(hub, "anthropic", "gemini", target_for("gemini", model))
    call = UpstreamCall(path=":countTokens", body={"generateContentRequest": {"model": f"models/{model}", **shaped}},
                        model=model)
    return call, lambda reply: reply["totalTokens"]


# Provider formats with a token-counting endpoint: (hub request, model, client headers) ->
# (the upstream call, how to read the count from its reply).
TOKEN_COUNTERS = {"anthropic": _anthropic_count, "gemini": _gemini_count}


def count_tokens_call(provider_format: str, hub: dict, model: str, client_headers: dict) -> tuple | None:
    """How to count a hub request's tokens upstream; None when the provider's format cannot."""
    counter = TOKEN_COUNTERS.get(provider_format)
    return counter(hub, model, client_headers) if counter else None


@_shape_errors_become(_unreadable_reply)
def reply_usage(provider_format: str, reply: dict) -> Usage:
    return FORMATS[provider_format].usage_of(reply)


@_shape_errors_become(_unreadable_reply)
def client_chat_reply(client_format: str, provider_format: str, reply: dict, requested_model: str,
                      request: dict | None = None) -> dict:
    if client_format == provider_format:
        return {**reply, "model": requested_model}
    return translate_response(reply, provider_format, client_format, requested_model, request)
