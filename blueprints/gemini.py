"""The Gemini surface: Google's generateContent API under `/gemini/v1beta/*` (and `/gemini/v1/*`),
so that `GOOGLE_GEMINI_BASE_URL=http://host:8090/gemini` points Gemini CLI and Google's SDKs here.

The model and streaming are in Gemini's URL: the views put them in the body as `model` and
`stream` for the inference service (app.shaping takes them out again for a Gemini provider).
"""
from flask import Blueprint, current_app, g, request

from app.shaping import count_tokens_request
from app.web import cortex, json_response, load_body, load_query, render_result
from schemas.gemini import COUNT_TOKENS_REQUEST, GENERATE_CONTENT_REQUEST, STREAM_QUERY

VERSIONS = ("v1beta", "v1")  # Google's SDKs default to v1beta; v1 is the stable alias
GENERATION_METHODS = ["generateContent", "streamGenerateContent", "countTokens"]

bp = Blueprint("gemini", __name__, url_prefix="/gemini")


def route(method: str, path: str):
    """The view under every API version: /gemini/v1beta/models… and /gemini/v1/models…"""
    def register(view):
        for version in VERSIONS:
            bp.add_url_rule(f"/{version}/models{path}", view_func=view, methods=[method])
        return view
    return register


@route("POST", "/<model>:generateContent")
def generate_content(model):
    body = load_body(GENERATE_CONTENT_REQUEST)
    body = {**body, "model": model, "stream": False}  # the method says whether it streams, not the body
    return render_result(cortex().inference.chat(g.call, body, "gemini", request.headers))


@route("POST", "/<model>:streamGenerateContent")
def stream_generate_content(model):
    query = load_query(STREAM_QUERY)
    body = load_body(GENERATE_CONTENT_REQUEST)
    result = cortex().inference.chat(g.call, {**body, "model": model, "stream": True}, "gemini", request.headers)
    if query["alt"] == "sse":
        return render_result(result)
    # Without alt=sse Google streams one JSON array, its elements written as they come.
    return current_app.response_class(json_array(result.stream), headers=result.headers,
                                      mimetype="application/json")


@route("POST", "/<model>:countTokens")
def count_tokens(model):
    body = load_body(COUNT_TOKENS_REQUEST)
    hub = count_tokens_request("gemini", {**(body.get("generateContentRequest") or body), "model": model})
    counted = cortex().inference.count_tokens(g.call, hub, request.headers)
    return json_response({"totalTokens": counted["input_tokens"]})


@route("GET", "")
def list_models():
    return json_response({"models": [_model(model) for model in cortex().inference.visible_models(g.principal)]})


@route("GET", "/<model>")
def get_model(model):
    return json_response(_model(cortex().inference.model(g.principal, model.removeprefix("models/"))))


def _model(model) -> dict:
    return {"name": f"models/{model.id}", "version": "cortex", "displayName": model.display_name or model.id,
            "supportedGenerationMethods": GENERATION_METHODS}


def json_array(events):
    """SSE `data:` events as the elements of one JSON array (Google's stream without alt=sse)."""
    separator = b"["
    try:
        for chunk in events:
            for event in chunk.split(b"\n\n"):
                if event.startswith(b"data: "):
                    yield separator + event[6:] + b"\n"
                    separator = b","
        yield b"]" if separator == b"," else b"[]"
    finally:
        events.close()
