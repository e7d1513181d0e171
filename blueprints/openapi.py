"""`GET /openapi.json`: the OpenAPI 3.1 document of every route (public: it is a schema, no data)."""
import orjson
from flask import Blueprint, current_app

from app.openapi import build_document

bp = Blueprint("openapi", __name__)


@bp.get("/openapi.json")
def document():
    """The OpenAPI 3.1 document of this server"""
    # Built on first use, once the URL map is complete, and kept with the app.
    body = current_app.extensions.get("openapi")
    if body is None:
        body = current_app.extensions["openapi"] = orjson.dumps(build_document(current_app))
    return current_app.response_class(body, mimetype="application/json")
