"""Runtime configuration: `/api/config/caching` and `/api/config/token-refresh` (admin)."""
import dataclasses

from flask import Blueprint

from app.errors import NotFound
from app.web import cortex, json_response, load_body
from schemas.runtime import RUNTIME_SECTIONS

bp = Blueprint("config", __name__, url_prefix="/api/config")

SETTINGS_SECTION = {"caching": "caching", "token-refresh": "token_refresh"}


def _schema(section: str):
    if section not in RUNTIME_SECTIONS:
        raise NotFound(f"Unknown configuration section '{section}'")
    return RUNTIME_SECTIONS[section]


@bp.get("/<section>")
def show(section):
    _schema(section)
    values = getattr(cortex().settings, SETTINGS_SECTION[section])()
    return json_response(dataclasses.asdict(values))


@bp.put("/<section>")
def update(section):
    changes = load_body(_schema(section))
    values = cortex().settings.update(SETTINGS_SECTION[section], changes)
    return json_response(dataclasses.asdict(values))
