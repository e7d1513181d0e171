"""Schemas for the Responses API (`/v1/responses`).

Only the fields Cortex reads are declared; every other field is kept (INCLUDE): passed through
to a native provider, or named as dropped by translation.
"""
from marshmallow import Schema, ValidationError, fields, validate

from schemas.body import RequestBodySchema
from schemas.fields import StrictBoolean


def _input(value) -> None:
    if isinstance(value, str):
        return
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ValidationError("must be a string or an array of input items (objects)")


class ResponseCreateRequestSchema(RequestBodySchema):
    model = fields.String(required=True, validate=validate.Length(min=1))
    input = fields.Raw(allow_none=True, validate=_input)
    instructions = fields.String(allow_none=True)
    stream = StrictBoolean(allow_none=True)
    store = StrictBoolean(allow_none=True)
    previous_response_id = fields.String(allow_none=True)
    max_output_tokens = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1))
    temperature = fields.Float(allow_none=True, validate=validate.Range(0, 2))
    top_p = fields.Float(allow_none=True, validate=validate.Range(0, 1))
    tools = fields.List(fields.Dict(), allow_none=True)
    tool_choice = fields.Raw(allow_none=True)
    metadata = fields.Dict(keys=fields.String(), allow_none=True)
    reasoning = fields.Dict(allow_none=True)
    text = fields.Dict(allow_none=True)


class InputItemsQuerySchema(Schema):
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100))
    order = fields.String(load_default="desc", validate=validate.OneOf(("asc", "desc")))
    after = fields.String(load_default=None)
    include = fields.Raw(load_default=None)


RESPONSE_CREATE_REQUEST = ResponseCreateRequestSchema()
INPUT_ITEMS_QUERY = InputItemsQuerySchema()
