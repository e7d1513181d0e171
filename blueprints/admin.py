"""Admin monitoring: `/api/admin/*` (admin key)."""
import dataclasses
import os

from flask import Blueprint

from app.web import cortex, json_response

bp = Blueprint("admin", __name__, url_prefix="/api/admin")


@bp.get("/inflight")
def inflight():
    requests = [dataclasses.asdict(r) for r in cortex().inflight.snapshot()]
    return json_response({"count": len(requests), "requests": requests})


@bp.get("/providers/health")
def providers_health():
    """The circuit state of each provider and the rotation state of its API keys, as this worker
    sees them (both are tracked per worker)."""
    adapters = cortex().adapters
    providers = [{**entry, "keys": adapters[entry["provider"]].keys.snapshot()} for entry in cortex().health.snapshot()]
    return json_response({"worker": os.getpid(), "providers": providers})
