"""Prometheus scrape endpoint: `GET /metrics` (admin key, or loopback without a key)."""
from flask import Blueprint, current_app, g, request

from app import sessions
from app.auth import presented_key, require_admin_or_loopback
from app.web import cortex

bp = Blueprint("metrics", __name__)


@bp.before_request
def admin_or_loopback():
    if presented_key(request.headers) is None and sessions.COOKIE_NAME in request.cookies:
        g.principal = sessions.signed_in(cortex().keys, request.method,
                                         request.headers.get(sessions.CSRF_HEADER))  # the dashboard's charts
    else:
        g.principal = require_admin_or_loopback(cortex().keys, request.headers, request.remote_addr)


@bp.get("/metrics")
def scrape():
    body, content_type = cortex().metrics.exposition(request.headers.get("Accept"))
    return current_app.response_class(body, content_type=content_type)
