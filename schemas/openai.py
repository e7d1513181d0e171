"""Schemas for the OpenAI-compatible surface (`/v1/*`).

Only the fields Cortex reads are declared; every other field is kept (INCLUDE) and passed
to the provider untouched.
"""
import orjson
from marshmallow import ValidationError, fields, validate

from schemas.body import RequestBodySchema
from schemas.fields import Messages, StrictBoolean

TRANSCRIPTION_FORMATS = ("json", "text", "srt", "verbose_json", "vtt", "diarized_json")
MAX_KNOWN_SPEAKERS = 4


class ChatCompletionRequestSchema(RequestBodySchema):
    model = fields.String(required=True, validate=validate.Length(min=1))
    messages = Messages(required=True)
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


def _token_ids(item) -> bool:
    return isinstance(item, list) and bool(item) and all(
        isinstance(token, int) and not isinstance(token, bool) for token in item)


def _embedding_input(value) -> None:
    """A non-empty string, or a non-empty array of non-empty strings, of token ids, or of token id arrays."""
    if isinstance(value, str):
        valid = bool(value)
    elif isinstance(value, list) and value:
        valid = (all(isinstance(item, str) and item for item in value) or _token_ids(value)
                 or all(map(_token_ids, value)))
    else:
        valid = False
    if not valid:
        raise ValidationError("must be a non-empty string, or a non-empty array of non-empty strings, "
                              "of token ids, or of non-empty token id arrays")


class EmbeddingRequestSchema(RequestBodySchema):
    model = fields.String(required=True, validate=validate.Length(min=1))
    input = fields.Raw(required=True, validate=_embedding_input)
    encoding_format = fields.String(allow_none=True, validate=validate.OneOf(("float", "base64")))
    dimensions = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1))
    user = fields.String(allow_none=True)


def _auto_or_json_object(value: str) -> None:
    try:
        parsed = orjson.loads(value) if value != "auto" else {}
    except orjson.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise ValidationError('must be "auto" or a JSON object')


class TranscriptionRequestSchema(RequestBodySchema):
    """The non-file fields of a multipart transcription request; array fields keep their `[]` names."""

    model = fields.String(required=True, validate=validate.Length(min=1))
    language = fields.String()
    prompt = fields.String()
    response_format = fields.String(validate=validate.OneOf(TRANSCRIPTION_FORMATS))
    temperature = fields.Float(validate=validate.Range(0, 1))
    stream = fields.Boolean()
    include = fields.List(fields.String(), data_key="include[]")
    timestamp_granularities = fields.List(fields.String(validate=validate.OneOf(("word", "segment"))),
                                          data_key="timestamp_granularities[]")
    chunking_strategy = fields.String(validate=_auto_or_json_object)
    known_speaker_names = fields.List(fields.String(), data_key="known_speaker_names[]",
                                      validate=validate.Length(max=MAX_KNOWN_SPEAKERS))
    known_speaker_references = fields.List(fields.String(), data_key="known_speaker_references[]",
                                           validate=validate.Length(max=MAX_KNOWN_SPEAKERS))


EMBEDDING_REQUEST = EmbeddingRequestSchema()
TRANSCRIPTION_REQUEST = TranscriptionRequestSchema()
