"""Field types shared by the schemas."""
from marshmallow import fields


def StrictBoolean(**kwargs):
    """A JSON boolean only: "true" or 1 are type errors, not booleans."""
    return fields.Boolean(truthy={True}, falsy={False}, **kwargs)
