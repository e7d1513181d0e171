"""The formats Cortex translates between, and the three entry points through the hub."""
from . import anthropic, gemini, openai_chat
from .capabilities import Target
from .hub import Format, StreamTranslation

FORMATS: dict[str, Format] = {
    "openai": openai_chat.FORMAT,
    "anthropic": anthropic.FORMAT,
    "gemini": gemini.FORMAT,
}


def translate_request(body: dict, source: str, target_format: str, target: Target) -> tuple[dict, list[str]]:
    """(request for the target format, names of what it could not carry)."""
    dropped: list[str] = []
    hub = FORMATS[source].request_to_hub(body, dropped)
    return FORMATS[target_format].request_from_hub(hub, target, dropped), dropped


def translate_response(reply: dict, source: str, client_format: str, model: str) -> dict:
    return FORMATS[client_format].response_from_hub(FORMATS[source].response_to_hub(reply), model)


def stream_translation(source: str, client_format: str, *, model: str, include_usage: bool) -> StreamTranslation:
    return StreamTranslation(FORMATS[source], FORMATS[client_format], model=model, include_usage=include_usage)
