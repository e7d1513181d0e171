"""The OpenAI-compatible surface: `/v1/*`."""
import time

from flask import Blueprint, g, request

from app.web import cortex, json_response, load_body, render_result
from schemas.openai import CHAT_COMPLETION_REQUEST

bp = Blueprint("openai", __name__, url_prefix="/v1")


@bp.post("/chat/completions")
def chat_completions():
    body = load_body(CHAT_COMPLETION_REQUEST)
    return render_result(cortex().inference.chat(g.call, body, "openai", request.headers))


@bp.get("/models")
def list_models():
    created = int(time.time())
    return json_response({
        "object": "list",
        "data": [{"id": model.id, "object": "model", "created": created, "owned_by": "cortex"}
                 for model in cortex().inference.visible_models(g.principal)],
    })
