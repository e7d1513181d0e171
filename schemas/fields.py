"""Field types shared by the schemas."""
from marshmallow import ValidationError, fields, validate


def StrictBoolean(**kwargs):
    """A JSON boolean only: "true" or 1 are type errors, not booleans."""
    return fields.Boolean(truthy={True}, falsy={False}, **kwargs)


class Message(fields.Field):
    """A chat message: an object with a string `role` (and `content` where required), kept as is.

    Any role passes, so that a client on a newer API version than Cortex knows still reaches a
    provider of its own format; translation names the roles it cannot carry as dropped.

    A field rather than a nested schema: messages are the bulk of every inference body and
    this checks them without building a schema per message. Errors still name the path
    (`messages.0.role`).
    """

    def __init__(self, content_required: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.content_required = content_required

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError("Not a valid message object.")
        if "role" not in value:
            raise ValidationError({"role": ["Missing data for required field."]})
        if not isinstance(value["role"], str) or not value["role"]:
            raise ValidationError({"role": ["Not a valid string."]})
        if self.content_required and "content" not in value:
            raise ValidationError({"content": ["Missing data for required field."]})
        return value


class Messages(fields.List):
    """A non-empty list of `Message`s, as `fields.List(Message(...), validate=Length(min=1))` with
    the same errors (`messages.3.role`), but each message is checked by a direct call instead of
    List's per-item `deserialize` machinery: ~1.5 us a message, and agents send hundreds."""

    def __init__(self, content_required: bool = False, **kwargs):
        super().__init__(Message(content_required), validate=validate.Length(min=1), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list):
            raise self.make_error("invalid")
        errors = {}
        for index, message in enumerate(value):
            try:
                if message is None:
                    raise self.inner.make_error("null")  # what List's item deserialize says of a null
                self.inner._deserialize(message, attr, data)
            except ValidationError as error:
                errors[index] = error.messages
        if errors:
            raise ValidationError(errors)
        return value
