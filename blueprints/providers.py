"""Provider management: `/api/providers/{name}/models` and `/auth` (admin key)."""
from flask import Blueprint

from app.web import cortex, json_response

bp = Blueprint("providers", __name__, url_prefix="/api/providers")


@bp.get("/<name>/models")
def models(name):
    return json_response(cortex().catalog.models(name))


@bp.get("/<name>/auth")
def auth(name):
    return json_response(cortex().catalog.auth(name))
