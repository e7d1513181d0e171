"""Schemas for the Gemini surface (`/gemini/v1beta/*`, `/gemini/v1/*`).

Declared fields are the ones Cortex reads, validated; every other field (safetySettings,
cachedContent, fields of a newer API version) passes through to a Gemini-type provider
untouched (INCLUDE), and translation names what it cannot carry. Gemini's JSON is
camelCase; Google's API also takes snake_case names, which Cortex does not read.
"""
from marshmallow import INCLUDE, Schema, ValidationError, fields, validate

from schemas.body import RequestBodySchema


def _content(value) -> None:
    if not isinstance(value, dict) or not isinstance(value.get("parts", []), list):
        raise ValidationError("Not a valid Content object: expected {role, parts: [...]}.")
    if value.get("role") not in (None, "user", "model", "function"):
        raise ValidationError(f"Invalid role '{value.get('role')}': expected 'user' or 'model'.")


class GenerateContentRequestSchema(RequestBodySchema):
    contents = fields.List(fields.Raw(validate=_content), required=True, validate=validate.Length(min=1))
    systemInstruction = fields.Raw(validate=_content, allow_none=True)  # noqa: N815 - Gemini's field name
    tools = fields.List(fields.Dict(), allow_none=True)
    toolConfig = fields.Dict(allow_none=True)  # noqa: N815
    generationConfig = fields.Dict(allow_none=True)  # noqa: N815


class CountTokensRequestSchema(RequestBodySchema):
    contents = fields.List(fields.Raw(validate=_content), allow_none=True)
    generateContentRequest = fields.Dict(allow_none=True)  # noqa: N815


class StreamQuerySchema(Schema):
    class Meta:
        unknown = INCLUDE  # `key`, and `$alt`/`prettyPrint` some Google clients add

    alt = fields.String(validate=validate.OneOf(("sse", "json")), load_default="json")


GENERATE_CONTENT_REQUEST = GenerateContentRequestSchema()
COUNT_TOKENS_REQUEST = CountTokensRequestSchema()
STREAM_QUERY = StreamQuerySchema()
