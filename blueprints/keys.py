"""Client keys at run time: `/api/keys` (admin key). cortex.yaml's keys are listed read-only."""
from flask import Blueprint

from app.budgets import iso
from app.web import cortex, json_response, load_body
from schemas.keys import KEY_CREATE_REQUEST, KEY_UPDATE_REQUEST

bp = Blueprint("keys", __name__, url_prefix="/api/keys")


def key_view(key, with_budget: bool = False) -> dict:
    view = {
        "id": key.id, "name": key.name, "source": key.source, "read_only": key.source != "api",
        "key_prefix": key.key_prefix or None,
        "permissions": sorted(key.permissions), "allowed_models": list(key.allowed_models),
        "allowed_providers": list(key.allowed_providers), "rate_limit": key.rate_limit or None,
        "max_budget_usd": key.max_budget_usd, "soft_budget_usd": key.soft_budget_usd,
        "budget_duration": key.budget_duration or None,
        "expires_at": iso(key.expires_at) if key.expires_at is not None else None,
        "disabled": key.disabled, "metadata": key.metadata,
        "created_at": iso(key.created_at) if key.created_at is not None else None,
    }
    if with_budget:
        view["budget"] = cortex().budgets.status(key)
    return view


@bp.post("")
def create():
    key, plaintext = cortex().runtime_keys.create(load_body(KEY_CREATE_REQUEST))
    return json_response({**key_view(key, with_budget=True), "key": plaintext}, status=201)


@bp.get("")
def list_keys():
    return json_response({"data": [key_view(key) for key in cortex().runtime_keys.all()]})


@bp.get("/<key_id>")
def show(key_id):
    return json_response(key_view(cortex().runtime_keys.get(key_id), with_budget=True))


@bp.patch("/<key_id>")
def update(key_id):
    changes = load_body(KEY_UPDATE_REQUEST)
    return json_response(key_view(cortex().runtime_keys.update(key_id, changes), with_budget=True))


@bp.delete("/<key_id>")
def revoke(key_id):
    key = cortex().runtime_keys.revoke(key_id)
    return json_response({"id": key.id, "name": key.name, "revoked": True})
