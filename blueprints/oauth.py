"""OAuth logins to upstream providers: `/oauth/{provider}/*` (admin key; the callback is public)."""
from flask import Blueprint, redirect, url_for

from app.oauth import login_result
from app.web import cortex, json_response, load_query
from schemas.oauth import AUTHORIZE_QUERY, CALLBACK_QUERY

bp = Blueprint("oauth", __name__, url_prefix="/oauth")
# The provider's redirect carries no Cortex key: the single-use state guards this one route.
callback_bp = Blueprint("oauth_callback", __name__, url_prefix="/oauth")


@bp.get("/<provider>/authorize")
def authorize(provider):
    query = load_query(AUTHORIZE_QUERY)
    callback_url = url_for("oauth_callback.callback", provider=provider, _external=True)
    return redirect(cortex().oauth.begin_login(provider, callback_url, query["redirect_url"]), code=302)


@callback_bp.get("/<provider>/callback")
def callback(provider):
    tokens, redirect_url = cortex().oauth.complete_login(provider, **load_query(CALLBACK_QUERY))
    if redirect_url:
        return redirect(redirect_url, code=302)
    return json_response(login_result(provider, tokens))


@bp.get("/<provider>/status")
def status(provider):
    return json_response(cortex().oauth.status(provider))


@bp.post("/<provider>/refresh")
def refresh(provider):
    return json_response(login_result(provider, cortex().oauth.refresh(provider)))


@bp.delete("/<provider>/token")
def delete_token(provider):
    cortex().oauth.logout(provider)
    return json_response({"success": True, "provider": provider, "message": "Token revoked successfully"})


@bp.post("/<provider>/device")
def start_device_login(provider):
    return json_response(cortex().oauth.start_device_login(provider).as_dict())


@bp.post("/<provider>/device/poll")
def poll_device_login(provider):
    return json_response(cortex().oauth.device_login_state(provider))
