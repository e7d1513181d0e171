"""Bodies of the runtime configuration endpoints: partial updates of a cortex.yaml section.

The same schemas validate the file and the API (strict booleans, positive integers,
unknown fields rejected); `partial=True` makes every field optional.
"""
from schemas.config import CachingSchema, TokenRefreshSchema

RUNTIME_SECTIONS = {
    "caching": CachingSchema(partial=True),
    "token-refresh": TokenRefreshSchema(partial=True),
}
