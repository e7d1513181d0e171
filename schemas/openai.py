"""Schemas for the OpenAI-compatible surface (`/v1/*`).

Only the fields Cortex reads are declared; every other field is kept (INCLUDE) and passed
to the provider untouched.
"""
from marshmallow import INCLUDE, Schema, fields, validate

ROLES = ("system", "developer", "user", "assistant", "tool", "function")


def StrictBoolean(**kwargs):
    """A JSON boolean only: "true" or 1 are type errors, not booleans."""
    return fields.Boolean(truthy={True}, falsy={False}, **kwargs)


class ChatMessageSchema(Schema):
    class Meta:
        unknown = INCLUDE

    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    content = fields.Raw(allow_none=True)


class ChatCompletionRequestSchema(Schema):
    class Meta:
        unknown = INCLUDE

    model = fields.String(required=True, validate=validate.Length(min=1))
    messages = fields.List(fields.Nested(ChatMessageSchema), required=True, validate=validate.Length(min=1))
    stream = StrictBoolean(allow_none=True)
    stream_options = fields.Dict(allow_none=True)
    max_tokens = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1))
    max_completion_tokens = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1))
    n = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=128))
    temperature = fields.Float(allow_none=True, validate=validate.Range(0, 2))
    top_p = fields.Float(allow_none=True, validate=validate.Range(0, 1))
    tools = fields.List(fields.Dict(), allow_none=True)
    tool_choice = fields.Raw(allow_none=True)


CHAT_COMPLETION_REQUEST = ChatCompletionRequestSchema()
