"""The Anthropic-compatible surface: `/anthropic/v1/*`."""
from flask import Blueprint, g, request

from app.web import cortex, json_response, load_body, render_result
from schemas.anthropic import COUNT_TOKENS_REQUEST, MESSAGES_REQUEST

UNKNOWN_CREATION_TIME = "1970-01-01T00:00:00Z"  # Anthropic's format requires a timestamp

bp = Blueprint("anthropic", __name__, url_prefix="/anthropic/v1")


@bp.post("/messages")
def messages():
    body = load_body(MESSAGES_REQUEST)
    return render_result(cortex().inference.chat(g.call, body, "anthropic", request.headers))


@bp.post("/messages/count_tokens")
def count_tokens():
    body = load_body(COUNT_TOKENS_REQUEST)
    return json_response(cortex().inference.count_tokens(g.call, body, request.headers))


def _model_object(model) -> dict:
    return {"type": "model", "id": model.id, "display_name": model.display_name,
            "created_at": model.created_at or UNKNOWN_CREATION_TIME}


@bp.get("/models")
def list_models():
    data = [_model_object(model) for model in cortex().inference.visible_models(g.principal)]
    return json_response({"data": data, "has_more": False,
                          "first_id": data[0]["id"] if data else None,
                          "last_id": data[-1]["id"] if data else None})


@bp.get("/models/<path:model_id>")
def retrieve_model(model_id):
    return json_response(_model_object(cortex().inference.model(g.principal, model_id)))
