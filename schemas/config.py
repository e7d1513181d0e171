"""Marshmallow schemas for the whole `cortex.yaml` contract (DESIGN.md).

Validation only: `app.config_loader` turns the loaded dicts into typed objects.
Unknown keys are rejected everywhere so a typo stops start-up instead of being ignored.
"""
import base64
import binascii
import re
from urllib.parse import urlparse

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates, validates_schema

from app.provider_types import MODEL_APIS, PROVIDER_TYPES, RESPONSES_API_MODES
from schemas.fields import StrictBoolean

PERMISSIONS = ("inference", "usage", "admin")
BUDGET_DURATIONS = ("1h", "1d", "7d", "30d", "month")  # app.budgets computes their windows
MODEL_KINDS = ("chat", "embedding", "transcription")
# flask-limiter's grammar (limits.util.EXPR), restated: importing `limits` in gunicorn's
# master would import ssl before gevent patches it.
RATE_LIMIT = re.compile(r"^\s*\d+\s*(/|\s+per\s+)\s*(\d+\s*)?(second|minute|hour|day|month|year)s?\s*$", re.I)


def _is_url(value: str) -> bool:
    parts = urlparse(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def decode_encryption_key(text: str) -> bytes:
    """A 32-byte AES-256 key from its base64 text; ValueError otherwise."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except binascii.Error:
        key = b""
    if len(key) != 32:
        raise ValueError("expected 32 bytes, base64-encoded (e.g. the output of `openssl rand -base64 32`)")
    return key


def _url_or_empty(value: str) -> None:
    if value and not _is_url(value):
        raise ValidationError("not a URL")


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class ServerSchema(StrictSchema):
    host = fields.String(load_default="0.0.0.0")
    port = fields.Integer(load_default=8090, validate=validate.Range(1, 65535), strict=True)
    workers = fields.Integer(load_default=2, validate=validate.Range(1, 256), strict=True)
    trusted_proxies = fields.Integer(load_default=0, validate=validate.Range(0, 10), strict=True)
    max_body_mb = fields.Float(load_default=30, validate=validate.Range(min=0, min_inclusive=False))


class StorageSchema(StrictSchema):
    database_url = fields.String(load_default="sqlite:///cortex.db")
    encryption_key = fields.String(load_default="")
    redis_url = fields.String(load_default="")
    # Responses stored by /v1/responses (store: true, translated) are deleted after this many days.
    responses_retention_days = fields.Float(load_default=30, validate=validate.Range(min=0, min_inclusive=False))

    @validates("database_url")
    def _database_url(self, value, **_):
        if not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValidationError("expected sqlite:///PATH or postgresql://...")

    @validates("encryption_key")
    def _encryption_key(self, value, **_):
        if value:
            try:
                decode_encryption_key(value)
            except ValueError as exc:
                raise ValidationError(str(exc)) from None

    @validates("redis_url")
    def _redis_url(self, value, **_):
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValidationError("expected redis://...")


class KeyLimitsSchema(StrictSchema):
    """What a key may do and spend: the same in cortex.yaml and in /api/keys (schemas.keys)."""

    name = fields.String(required=True, validate=validate.Length(1, 200))
    permissions = fields.List(fields.String(validate=validate.OneOf(PERMISSIONS)),
                              load_default=lambda: ["inference"])
    rate_limit = fields.String(load_default="")
    allowed_models = fields.List(fields.String(), load_default=lambda: ["*"])
    allowed_providers = fields.List(fields.String(), load_default=lambda: ["*"])
    max_budget_usd = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0))
    soft_budget_usd = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0))
    budget_duration = fields.String(load_default="", validate=validate.OneOf(("", *BUDGET_DURATIONS)))

    @validates("rate_limit")
    def _rate_limit(self, value, **_):
        if value and not all(RATE_LIMIT.match(part) for part in re.split(r"[,;|]", value)):
            raise ValidationError(f"not a rate limit: {value!r} (expected e.g. '60/minute;1000/hour')")


class ApiKeySchema(KeyLimitsSchema):
    key = fields.String()
    capture_content = StrictBoolean(load_default=True)  # false: this key's messages never go into traces
    key_sha256 = fields.String(validate=validate.Regexp(r"^[0-9a-fA-F]{64}$", error="not a sha256 hex digest"))

    @validates_schema
    def _one_secret(self, data, **_):
        if bool(data.get("key")) == bool(data.get("key_sha256")):
            raise ValidationError("set exactly one of key or key_sha256", "key")


class OAuthSchema(StrictSchema):
    client_id = fields.String(load_default="")
    client_secret = fields.String(load_default="")
    authorize_url = fields.String(load_default="", validate=_url_or_empty)
    token_url = fields.String(load_default="", validate=_url_or_empty)
    device_authorization_url = fields.String(load_default="", validate=_url_or_empty)
    scopes = fields.List(fields.String(), load_default=list)
    redirect_uri = fields.String(load_default="", validate=_url_or_empty)
    allowed_redirect_origins = fields.List(fields.String(), load_default=list)


class ModelSchema(StrictSchema):
    id = fields.String(required=True, validate=validate.Length(min=1))
    display_name = fields.String(load_default="")
    enabled = StrictBoolean(load_default=True)
    aliases = fields.List(fields.String(), load_default=list)
    kind = fields.String(load_default="chat", validate=validate.OneOf(MODEL_KINDS))
    input_cost_per_mtok = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0))
    output_cost_per_mtok = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0))
    cache_read_cost_per_mtok = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0))
    cache_write_cost_per_mtok = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0))
    created_at = fields.String(load_default="")
    api = fields.String(load_default="", validate=validate.OneOf(MODEL_APIS))  # "" = the provider's chat format


class ProviderSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.-]+$", error="letters, digits, _ . - only"))
    type = fields.String(required=True, validate=validate.OneOf(tuple(PROVIDER_TYPES)))
    base_url = fields.String(load_default="", validate=_url_or_empty)
    api_keys = fields.List(fields.String(allow_none=True), load_default=list)
    auth_method = fields.String(load_default="api_key", validate=validate.OneOf(("api_key", "oauth", "auto")))
    oauth = fields.Nested(OAuthSchema, load_default=None, allow_none=True)
    api_version = fields.String(load_default="")
    headers = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    timeout_secs = fields.Float(load_default=600, validate=validate.Range(min=0, min_inclusive=False))
    connect_timeout_secs = fields.Float(load_default=10, validate=validate.Range(min=0, min_inclusive=False))
    default_model = fields.String(load_default="")
    models = fields.List(fields.Nested(ModelSchema), load_default=list)
    discover_models = StrictBoolean(load_default=False)  # list the provider's own models (app.catalog)
    # How /v1/responses reaches an OpenAI-type provider; "" = its type's default (app.provider_types).
    responses_api = fields.String(load_default="", validate=validate.OneOf(("", *RESPONSES_API_MODES)))


class CandidateSchema(StrictSchema):
    provider = fields.String(required=True)
    model = fields.String(required=True)
    enabled = StrictBoolean(load_default=True)


class VirtualModelSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1))
    strategy = fields.String(load_default="fallback", validate=validate.OneOf(("fallback", "round_robin")))
    candidates = fields.List(fields.Nested(CandidateSchema), required=True)


class CachingSchema(StrictSchema):
    auto_inject_anthropic_cache_control = StrictBoolean(load_default=True)
    response_cache_enabled = StrictBoolean(load_default=False)
    response_cache_ttl_secs = fields.Integer(load_default=300, strict=True, validate=validate.Range(min=1))


class TokenRefreshSchema(StrictSchema):
    enabled = StrictBoolean(load_default=True)
    refresh_threshold_secs = fields.Integer(load_default=300, strict=True, validate=validate.Range(min=1))
    check_interval_secs = fields.Integer(load_default=60, strict=True, validate=validate.Range(min=1))


class RateLimitsSchema(StrictSchema):
    storage_uri = fields.String(load_default="")


class ObservabilitySchema(StrictSchema):
    """OpenTelemetry export; empty values fall back to the standard OTEL_* variables (app.config)."""

    otlp_endpoint = fields.String(load_default="", validate=_url_or_empty)  # base URL; /v1/traces is appended
    otlp_traces_endpoint = fields.String(load_default="", validate=_url_or_empty)  # used as is
    otlp_headers = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    service_name = fields.String(load_default="")
    capture_content = StrictBoolean(load_default=False)
    max_queue_size = fields.Integer(load_default=2048, strict=True, validate=validate.Range(1, 1_000_000))
    max_export_batch_size = fields.Integer(load_default=512, strict=True, validate=validate.Range(1, 100_000))
    schedule_delay_secs = fields.Float(load_default=1.0, validate=validate.Range(min=0.01, max=60))

    @validates_schema
    def _batch_fits_queue(self, data, **_):
        if data.get("max_export_batch_size", 0) > data.get("max_queue_size", 0):
            raise ValidationError("must not exceed max_queue_size", "max_export_batch_size")


class CortexConfigSchema(StrictSchema):
    server = fields.Nested(ServerSchema, load_default=lambda: ServerSchema().load({}))
    storage = fields.Nested(StorageSchema, load_default=lambda: StorageSchema().load({}))
    api_keys = fields.List(fields.Nested(ApiKeySchema), load_default=list)
    providers = fields.List(fields.Nested(ProviderSchema), load_default=list)
    provider_patterns = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    virtual_models = fields.List(fields.Nested(VirtualModelSchema), load_default=list)
    caching = fields.Nested(CachingSchema, load_default=lambda: CachingSchema().load({}))
    token_refresh = fields.Nested(TokenRefreshSchema, load_default=lambda: TokenRefreshSchema().load({}))
    rate_limits = fields.Nested(RateLimitsSchema, load_default=lambda: RateLimitsSchema().load({}))
    observability = fields.Nested(ObservabilitySchema, load_default=lambda: ObservabilitySchema().load({}))

    @validates_schema
    def _cross_references(self, data, **_):
        errors = {}
        names = [p["name"] for p in data.get("providers", [])]
        for index, name in enumerate(names):
            if names.index(name) != index:
                errors.setdefault("providers", {})[index] = {"name": [f"duplicate provider name {name!r}"]}
        for provider in data.get("provider_patterns", {}):
            if provider not in names:
                errors.setdefault("provider_patterns", {})[provider] = [f"unknown provider {provider!r}"]
        for vindex, virtual in enumerate(data.get("virtual_models", [])):
            if virtual["name"] in names:
                errors.setdefault("virtual_models", {})[vindex] = {"name": ["clashes with a provider name"]}
            for cindex, candidate in enumerate(virtual["candidates"]):
                if candidate["provider"] not in names:
                    errors.setdefault("virtual_models", {}).setdefault(vindex, {}).setdefault(
                        "candidates", {})[cindex] = {"provider": [f"unknown provider {candidate['provider']!r}"]}
        key_names = [k["name"] for k in data.get("api_keys", [])]
        for index, name in enumerate(key_names):
            if key_names.index(name) != index:
                errors.setdefault("api_keys", {})[index] = {"name": [f"duplicate key name {name!r}"]}
        if errors:
            raise ValidationError(errors)
