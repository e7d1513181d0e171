"""The OpenAI-compatible surface: `/v1/*`."""
import time

from flask import Blueprint, g, request

from app.transcriptions import read_upload
from app.web import cortex, json_response, load_body, load_data, render_result
from schemas.openai import (
    CHAT_COMPLETION_REQUEST,
    EMBEDDING_REQUEST,
    TRANSCRIPTION_REQUEST,
)

bp = Blueprint("openai", __name__, url_prefix="/v1")


@bp.post("/chat/completions")
def chat_completions():
    body = load_body(CHAT_COMPLETION_REQUEST)
    return render_result(cortex().inference.chat(g.call, body, "openai", request.headers))


def _model_object(model, created: int) -> dict:
    return {"id": model.id, "object": "model", "created": created, "owned_by": "cortex"}


@bp.get("/models")
def list_models():
    created = int(time.time())
    return json_response({
        "object": "list",
        "data": [_model_object(model, created) for model in cortex().inference.visible_models(g.principal)],
    })


@bp.get("/models/<path:model_id>")
def retrieve_model(model_id):
    return json_response(_model_object(cortex().inference.model(g.principal, model_id), int(time.time())))


@bp.post("/embeddings")
def embeddings():
    body = load_body(EMBEDDING_REQUEST)
    return render_result(cortex().embeddings.create(g.call, body))


@bp.post("/audio/transcriptions")
def audio_transcriptions():
    with read_upload(request.environ) as upload:  # the audio is spooled, never held in memory whole
        form = load_data(TRANSCRIPTION_REQUEST, upload.form())
        return render_result(cortex().transcriptions.create(g.call, form, upload))
