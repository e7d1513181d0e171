"""Schemas for the Anthropic-compatible surface (`/anthropic/v1/*`).

Declared fields are the ones Cortex reads, validated; everything else (new top-level fields,
roles, block types) passes through to an Anthropic-type provider untouched (INCLUDE), and
translation names what it cannot carry.
"""
from marshmallow import fields, validate

from schemas.body import RequestBodySchema
from schemas.fields import Messages, StrictBoolean


class CountTokensRequestSchema(RequestBodySchema):
    model = fields.String(required=True, validate=validate.Length(min=1))
    messages = Messages(content_required=True, required=True)
    system = fields.Raw(allow_none=True)
    tools = fields.List(fields.Dict(), allow_none=True)
    tool_choice = fields.Dict(allow_none=True)
    thinking = fields.Dict(allow_none=True)


class MessagesRequestSchema(CountTokensRequestSchema):
    max_tokens = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    stream = StrictBoolean(allow_none=True)
    metadata = fields.Dict(allow_none=True)
    stop_sequences = fields.List(fields.String(), allow_none=True)
    temperature = fields.Float(allow_none=True, validate=validate.Range(0, 1))
    top_p = fields.Float(allow_none=True, validate=validate.Range(0, 1))
    top_k = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=0))


MESSAGES_REQUEST = MessagesRequestSchema()
COUNT_TOKENS_REQUEST = CountTokensRequestSchema()
