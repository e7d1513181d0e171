"""Query strings of the OAuth endpoints (`/oauth/{provider}/*`)."""
from marshmallow import EXCLUDE, RAISE, Schema, fields


class AuthorizeQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    redirect_url = fields.String(load_default="")


class CallbackQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE  # providers add their own parameters (scope, iss, authuser, ...)

    code = fields.String(load_default="")
    state = fields.String(load_default="")
    error = fields.String(load_default="")
    error_description = fields.String(load_default="")


AUTHORIZE_QUERY = AuthorizeQuerySchema()
CALLBACK_QUERY = CallbackQuerySchema()
