"""The formats Cortex translates between, and the three entry points through the hub."""
from . import anthropic, gemini, openai_chat, openai_responses
from .capabilities import Target
from .hub import Format, StreamTranslation

FORMATS: dict[str, Format] = {
    "openai": openai_chat.FORMAT,
    "anthropic": anthropic.FORMAT,
    "gemini": gemini.FORMAT,
    "responses": openai_responses.FORMAT,
}


def translate_request(body: dict, source: str, target_format: str, target: Target) -> tuple[dict, list[str]]:
    """(request for the target format, names of what it could not carry)."""
    dropped: list[str] = []
    hub = FORMATS[source].request_to_hub(body, dropped)
    return FORMATS[target_format].request_from_hub(hub, target, dropped), dropped


def translate_response(reply: dict, source: str, client_format: str, model: str, request: dict | None = None) -> dict:
    """`request`: the client's body, for formats whose replies repeat it (`Format.echoes_request`)."""
    client = FORMATS[client_format]
    return client.response_from_hub(FORMATS[source].response_to_hub(reply), model, **client.request_context(request))


def stream_translation(source: str, client_format: str, *, model: str, include_usage: bool,
                       request: dict | None = None) -> StreamTranslation:
    return StreamTranslation(FORMATS[source], FORMATS[client_format], model=model, include_usage=include_usage,
                             request=request)
