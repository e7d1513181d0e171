"""Liveness and readiness; no key needed."""
from flask import Blueprint

from app.errors import ServiceUnavailable
from app.redis_state import reachable
from app.web import cortex, json_response

bp = Blueprint("health", __name__)


@bp.get("/health")
def health():
    return json_response({"status": "ok"})


@bp.get("/ready")
def ready():
    if not cortex().store.ping():
        raise ServiceUnavailable("The store is not reachable")
    if cortex().redis is not None and not reachable(cortex().redis):
        raise ServiceUnavailable("Redis (storage.redis_url) is not reachable")
    return json_response({"status": "ready", "usage_queued": cortex().usage.pending})
