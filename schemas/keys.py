"""Bodies of /api/keys: a key's limits as cortex.yaml writes them, plus what only runtime keys have."""
from marshmallow import fields

from schemas.config import KeyLimitsSchema
from schemas.fields import StrictBoolean
from schemas.usage import RFC3339Timestamp


class KeyCreateSchema(KeyLimitsSchema):
    expires_at = RFC3339Timestamp(load_default=None, allow_none=True)
    disabled = StrictBoolean(load_default=False)
    metadata = fields.Dict(keys=fields.String(), load_default=dict)


KEY_CREATE_REQUEST = KeyCreateSchema()
# A partial update: no defaults filled in, and the name stays (usage and rate limits go by it).
KEY_UPDATE_REQUEST = KeyCreateSchema(partial=True, exclude=("name",))
