"""The OpenAI Responses API: `/v1/responses` (OpenAI's envelope, as the rest of `/v1/`)."""
from flask import Blueprint, g, request

from app.web import cortex, json_response, load_body, load_query, render_result
from schemas.responses import INPUT_ITEMS_QUERY, RESPONSE_CREATE_REQUEST

bp = Blueprint("responses", __name__, url_prefix="/v1/responses")


@bp.post("")
def create():
    body = load_body(RESPONSE_CREATE_REQUEST)
    return render_result(cortex().responses.create(g.call, body, request.headers))


@bp.get("/<response_id>")
def retrieve(response_id):
    return json_response(cortex().responses.retrieve(g.call, response_id))


@bp.delete("/<response_id>")
def delete(response_id):
    return json_response(cortex().responses.delete(g.call, response_id))


@bp.get("/<response_id>/input_items")
def input_items(response_id):
    return json_response(cortex().responses.input_items(g.call, response_id, load_query(INPUT_ITEMS_QUERY)))


@bp.post("/input_tokens")
def input_tokens():
    body = load_body(RESPONSE_CREATE_REQUEST)
    return json_response(cortex().responses.input_tokens(g.call, body, request.headers))


@bp.post("/compact")
def compact():
    body = load_body(RESPONSE_CREATE_REQUEST)
    return json_response(cortex().responses.compact(g.call, body, request.headers))
