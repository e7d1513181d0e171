"""Chat requests shaped for the chosen provider, and replies shaped back for the client.

Pure functions over dicts: which translation applies depends only on the client's format
and the provider's (`openai` or `anthropic`).
"""
from app.providers import UpstreamCall
from app.translate import (Usage, anthropic_request_to_openai, anthropic_response_to_openai,
                           inject_anthropic_cache_control, openai_request_to_anthropic,
                           openai_response_to_anthropic, usage_from_anthropic, usage_from_openai)

CHAT_PATHS = {"openai": "/chat/completions", "anthropic": "/messages"}


def client_wants_usage(client_format: str, body: dict) -> bool:
    """Whether an OpenAI client asked for the final usage chunk (Anthropic streams always carry usage)."""
    options = body.get("stream_options")
    return client_format == "anthropic" or (isinstance(options, dict) and options.get("include_usage") is True)


def upstream_chat_body(client_format: str, provider_format: str, body: dict, model: str,
                       *, inject_cache_control: bool) -> dict:
    if client_format == provider_format:
        shaped = dict(body)
    elif client_format == "openai":
        shaped = openai_request_to_anthropic(body)
    else:
        shaped = anthropic_request_to_openai(body)
    shaped["model"] = model
    if provider_format == "openai" and shaped.get("stream"):
        # Ask for usage on every stream; the relay drops the chunk if the client did not ask.
        shaped["stream_options"] = {**(shaped.get("stream_options") or {}), "include_usage": True}
    if provider_format == "anthropic" and inject_cache_control:
        shaped = inject_anthropic_cache_control(shaped)
    return shaped


def chat_call(client_format: str, provider_format: str, body: dict, model: str, *,
              inject_cache_control: bool, client_headers: dict) -> UpstreamCall:
    return UpstreamCall(
        path=CHAT_PATHS[provider_format],
        body=upstream_chat_body(client_format, provider_format, body, model,
                                inject_cache_control=inject_cache_control),
        model=model, stream=bool(body.get("stream")), headers=client_headers,
    )


def reply_usage(provider_format: str, reply: dict) -> Usage:
    usage = reply.get("usage")
    return usage_from_anthropic(usage) if provider_format == "anthropic" else usage_from_openai(usage)


def client_chat_reply(client_format: str, provider_format: str, reply: dict, requested_model: str) -> dict:
    if client_format == provider_format:
        return {**reply, "model": requested_model}
    if client_format == "openai":
        return anthropic_response_to_openai(reply, model=requested_model)
    return openai_response_to_anthropic(reply, model=requested_model)
