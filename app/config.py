"""Load `cortex.yaml` once at start-up into typed, immutable objects.

`${VAR}` and `${VAR:-default}` are expanded in every string; the whole file is validated
(schemas/config.py) and any problem stops start-up with the key path that is wrong.
"""
import hashlib
import ipaddress
import os
import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from urllib.parse import unquote

import yaml
from marshmallow import ValidationError

from app.provider_types import PROVIDER_TYPES
from schemas.config import CortexConfigSchema

ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
# `[${KEY}]` (as DESIGN.md writes it) is not valid YAML: in a flow sequence `{` opens a
# mapping. References that start a flow item are quoted before a second parse.
FLOW_ITEM_REFERENCE = re.compile(r"([\[,]\s*)(\$\{[^}\n]*\})")

GLOB_CHARS = "*?["
BUDGET_ANCHOR = 345_600.0  # 1970-01-05T00:00:00Z, a Monday: hours, days and weeks start on time
DEVELOPMENT_KEY = "cortex-dev-key-001"  # the README's key: anyone can read it
DEVELOPMENT_KEY_DIGEST = hashlib.sha256(DEVELOPMENT_KEY.encode()).digest()


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key path."""


@dataclass(frozen=True)
class ServerConfig:
    host: str
    port: int
    workers: int
    trusted_proxies: int
    max_body_mb: float


@dataclass(frozen=True)
class StorageConfig:
    database_url: str
    encryption_key: str
    redis_url: str
    responses_retention_days: float = 30


@dataclass(frozen=True)
class ApiKeyConfig:
    name: str
    key_digest: bytes  # sha256 of the key; plaintext is never kept
    permissions: frozenset
    rate_limit: str
    allowed_models: tuple
    allowed_providers: tuple
    id: str = ""                       # config keys: "config:<name>"; runtime keys: "key_<hex>"
    max_budget_usd: float | None = None  # refused once the spend of the current window reaches it
    soft_budget_usd: float | None = None  # logged and counted in /metrics when crossed
    budget_duration: str = ""          # "" = one budget for the key's life (app.budgets.window)
    budget_anchor: float = BUDGET_ANCHOR  # fixed-length windows are counted from here
    expires_at: float | None = None    # unix seconds
    disabled: bool = False
    metadata: dict = field(default_factory=dict, compare=False)
    source: str = "config"             # "config" (cortex.yaml, read-only) or "api" (/api/keys)
    key_prefix: str = ""               # runtime keys: the plaintext's first characters, to recognise it by
    created_at: float | None = None
    capture_content: bool = True  # False: traces never carry this key's messages


@dataclass(frozen=True)
class OAuthConfig:
    client_id: str
    client_secret: str
    authorize_url: str
    token_url: str
    device_authorization_url: str
    scopes: tuple
    redirect_uri: str
    allowed_redirect_origins: tuple


@dataclass(frozen=True)
class ModelConfig:
    id: str
    display_name: str
    enabled: bool
    aliases: tuple
    kind: str
    input_cost_per_mtok: float | None  # USD per million tokens; None = not priced
    output_cost_per_mtok: float | None
    cache_read_cost_per_mtok: float | None   # None = priced as input (app.usage.cost_usd)
    cache_write_cost_per_mtok: float | None
    created_at: str
    api: str = ""  # "responses": reached through the Responses API (app.provider_types.MODEL_APIS)

    @property
    def is_pattern(self) -> bool:
        """`claude-*`, `o[0-9]*`: an entry that matches (and prices) every id of that shape."""
        return any(char in self.id for char in GLOB_CHARS)


@dataclass(frozen=True)
class ProviderConfig:
    name: str
    type: str
    base_url: str
    api_keys: tuple
    missing_key_variables: tuple  # env variables that were referenced but empty
    auth_method: str
    oauth: OAuthConfig | None
    api_version: str
    headers: dict
    timeout_secs: float
    connect_timeout_secs: float
    default_model: str
    models: tuple
    discover_models: bool = False
    responses_api: str = "translate"  # app.provider_types.RESPONSES_API_MODES

    def model(self, model_id: str) -> ModelConfig | None:
        """The entry of `model_id`: its own, else the first pattern that matches it."""
        exact = next((m for m in self.models if m.id == model_id), None)
        if exact is not None:
            return exact
        return next((m for m in self.models if m.is_pattern and fnmatchcase(model_id, m.id)), None)


@dataclass(frozen=True)
class Candidate:
    provider: str
    model: str
    enabled: bool


@dataclass(frozen=True)
class VirtualModelConfig:
    name: str
    strategy: str
    candidates: tuple

    @property
    def enabled_candidates(self) -> tuple:
        return tuple(c for c in self.candidates if c.enabled)


@dataclass(frozen=True)
class CachingConfig:
    auto_inject_anthropic_cache_control: bool
    response_cache_enabled: bool
    response_cache_ttl_secs: int


@dataclass(frozen=True)
class TokenRefreshConfig:
    enabled: bool
    refresh_threshold_secs: int
    check_interval_secs: int


@dataclass(frozen=True)
class ObservabilityConfig:
    """OTLP trace export, resolved from `observability:` and the standard OTEL_* variables."""

    traces_endpoint: str = ""  # "" = tracing off
    headers: dict = field(default_factory=dict, repr=False)  # may hold credentials (Langfuse)
    resource: dict = field(default_factory=dict)  # service.name and OTEL_RESOURCE_ATTRIBUTES
    capture_content: bool = False
    max_queue_size: int = 2048
    max_export_batch_size: int = 512
    schedule_delay_secs: float = 1.0

    @property
    def enabled(self) -> bool:
        return bool(self.traces_endpoint)


@dataclass(frozen=True)
class CortexConfig:
    path: Path
    server: ServerConfig
    storage: StorageConfig
    api_keys: tuple
    providers: tuple
    provider_patterns: dict
    virtual_models: tuple
    caching: CachingConfig
    token_refresh: TokenRefreshConfig
    rate_limit_storage_uri: str
    observability: ObservabilityConfig = ObservabilityConfig()
    secrets: tuple = field(default=(), repr=False)  # every configured secret, for log scrubbing

    def provider(self, name: str) -> ProviderConfig | None:
        return next((p for p in self.providers if p.name == name), None)


def expand_env(value: str, environ=os.environ) -> str:
    return ENV_REFERENCE.sub(lambda m: environ.get(m.group(1)) or (m.group(2) or ""), value)


def _expand_tree(node, environ):
    if isinstance(node, str):
        return expand_env(node, environ)
    if isinstance(node, list):
        return [_expand_tree(item, environ) for item in node]
    if isinstance(node, dict):
        return {key: _expand_tree(item, environ) for key, item in node.items()}
    return node


def _key_path(errors, prefix="") -> list[str]:
    """Flatten marshmallow's nested error dict into `providers[1].base_url: message` lines."""
    lines = []
    for key, value in errors.items():
        if isinstance(key, int):
            path = f"{prefix}[{key}]"
        elif key == "_schema":
            path = prefix or "(root)"
        else:
            path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            lines.extend(_key_path(value, path))
        else:
            lines.extend(f"{path}: {message}" for message in value)
    return lines


def _missing_variables(raw_template: str, environ) -> tuple:
    return tuple(m.group(1) for m in ENV_REFERENCE.finditer(raw_template or "") if not environ.get(m.group(1)))


def _provider(data: dict, raw: dict, index: int, environ) -> ProviderConfig:
    base_url = (data["base_url"] or PROVIDER_TYPES[data["type"]].default_base_url).rstrip("/")
    if not base_url:
        raise ConfigError(f"providers[{index}].base_url: required for type {data['type']}")
    keys, missing = [], []
    raw_keys = raw.get("api_keys") or []
    for position, key in enumerate(data["api_keys"]):
        if key:
            keys.append(key)
        else:
            template = raw_keys[position] if position < len(raw_keys) else ""
            missing.extend(_missing_variables(template if isinstance(template, str) else "", environ))
    oauth = data["oauth"]
    models = tuple(
        ModelConfig(**{**m, "display_name": m["display_name"] or m["id"], "aliases": tuple(m["aliases"])})
        for m in data["models"]
    )
    return ProviderConfig(
        name=data["name"], type=data["type"], base_url=base_url, api_keys=tuple(keys),
        missing_key_variables=tuple(missing), auth_method=data["auth_method"],
        oauth=OAuthConfig(**{**oauth, "scopes": tuple(oauth["scopes"]),
                             "allowed_redirect_origins": tuple(oauth["allowed_redirect_origins"])})
        if oauth else None,
        api_version=data["api_version"], headers=dict(data["headers"]), timeout_secs=data["timeout_secs"],
        connect_timeout_secs=data["connect_timeout_secs"],
        default_model=data["default_model"] or next((m.id for m in models if m.enabled and not m.is_pattern), ""),
        models=models, discover_models=data["discover_models"],
        responses_api=data["responses_api"] or PROVIDER_TYPES[data["type"]].responses_api,
    )


def _otel_pairs(text: str) -> dict:
    """`k=v,k2=v2` as the OTEL_* variables write headers and resource attributes (values URL-encoded)."""
    pairs = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"expected key=value pairs separated by commas, got {item!r}")
        pairs[key.strip()] = unquote(value.strip())
    return pairs


def _observability(data: dict, environ) -> ObservabilityConfig:
    """The file's values first, else the OTEL_* variables the OpenTelemetry SDKs read."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true" \
            or environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return ObservabilityConfig()
    protocol = environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    if protocol and protocol != "http/protobuf":
        raise ConfigError(f"OTEL_EXPORTER_OTLP_PROTOCOL: Cortex exports http/protobuf only, not {protocol!r}")
    base = data["otlp_endpoint"] or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "")
    endpoint = (data["otlp_traces_endpoint"] or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
                or (base.rstrip("/") + "/v1/traces" if base else ""))
    try:
        headers = {**_otel_pairs(environ.get("OTEL_EXPORTER_OTLP_HEADERS", "")),
                   **_otel_pairs(environ.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "")), **data["otlp_headers"]}
        resource = _otel_pairs(environ.get("OTEL_RESOURCE_ATTRIBUTES", ""))
    except ConfigError as exc:
        raise ConfigError(f"OTEL_* variable: {exc}") from None
    resource["service.name"] = data["service_name"] or environ.get("OTEL_SERVICE_NAME") \
        or resource.get("service.name") or "cortex"
    capture = data["capture_content"] or environ.get(
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "").strip().lower() == "true"
    return ObservabilityConfig(traces_endpoint=endpoint, headers=headers, resource=resource, capture_content=capture,
                               max_queue_size=data["max_queue_size"],
                               max_export_batch_size=data["max_export_batch_size"],
                               schedule_delay_secs=data["schedule_delay_secs"])


def _api_key(data: dict) -> ApiKeyConfig:
    digest = (bytes.fromhex(data["key_sha256"]) if data.get("key_sha256")
              else hashlib.sha256(data["key"].encode()).digest())
    return ApiKeyConfig(
        name=data["name"], key_digest=digest, permissions=frozenset(data["permissions"]),
        rate_limit=data["rate_limit"], allowed_models=tuple(data["allowed_models"]),
        allowed_providers=tuple(data["allowed_providers"]), id=f"config:{data['name']}",
        max_budget_usd=data["max_budget_usd"], soft_budget_usd=data["soft_budget_usd"],
        budget_duration=data["budget_duration"],
        capture_content=data["capture_content"],
    )


def parse_config(raw: dict, path: Path, environ=os.environ) -> CortexConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    try:
        data = CortexConfigSchema().load(_expand_tree(raw, environ))
    except ValidationError as exc:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(_key_path(exc.messages))) from None
    server = dict(data["server"])
    for field_name, variable in (("port", "CORTEX_PORT"), ("workers", "CORTEX_WORKERS"), ("host", "CORTEX_HOST")):
        if environ.get(variable):
            try:
                server[field_name] = environ[variable] if field_name == "host" else int(environ[variable])
            except ValueError:
                raise ConfigError(f"{variable}: not an integer: {environ[variable]!r}") from None
    raw_providers = raw.get("providers") or []
    providers = tuple(
        _provider(p, raw_providers[i] if i < len(raw_providers) else {}, i, environ)
        for i, p in enumerate(data["providers"])
    )
    storage = data["storage"]
    database_url = storage["database_url"]
    if database_url.startswith("sqlite:///") and not database_url.startswith("sqlite:////"):
        # Relative SQLite paths are relative to the config file, not to the current directory.
        database_url = "sqlite:///" + str((path.parent / database_url[len("sqlite:///"):]).resolve())
    secrets = [key for p in providers for key in p.api_keys]
    secrets += [k["key"] for k in data["api_keys"] if k.get("key")]
    secrets += [p.oauth.client_secret for p in providers if p.oauth and p.oauth.client_secret]
    if storage["encryption_key"]:
        secrets.append(storage["encryption_key"])
    observability = _observability(data["observability"], environ)
    secrets += observability.headers.values()
    return CortexConfig(
        path=path,
        server=ServerConfig(**server),
        storage=StorageConfig(database_url=database_url, encryption_key=storage["encryption_key"],
                              redis_url=storage["redis_url"],
                              responses_retention_days=storage["responses_retention_days"]),
        api_keys=tuple(_api_key(k) for k in data["api_keys"]),
        providers=providers,
        provider_patterns=dict(data["provider_patterns"]),
        virtual_models=tuple(
            VirtualModelConfig(name=v["name"], strategy=v["strategy"],
                               candidates=tuple(Candidate(**c) for c in v["candidates"]))
            for v in data["virtual_models"]
        ),
        caching=CachingConfig(**data["caching"]),
        token_refresh=TokenRefreshConfig(**data["token_refresh"]),
        rate_limit_storage_uri=data["rate_limits"]["storage_uri"],
        observability=observability,
        secrets=tuple(s for s in secrets if len(s) >= 8),
    )


def _loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name or 0.0.0.0 / :: reach other machines


def exposed_development_key(config: CortexConfig) -> str | None:
    """Why start-up must stop: the documented development key on an address others can reach."""
    if _loopback_host(config.server.host):
        return None
    exposed = [key.name for key in config.api_keys if key.key_digest == DEVELOPMENT_KEY_DIGEST]
    if not exposed:
        return None
    return (f"server.host is {config.server.host}, reachable from other machines, and API key "
            f"'{exposed[0]}' is the documented development key {DEVELOPMENT_KEY}: set CORTEX_ADMIN_KEY to a "
            f"secret of your own (e.g. `export CORTEX_ADMIN_KEY=$(openssl rand -hex 24)`), or bind 127.0.0.1 "
            "(server.host or CORTEX_HOST)")


def config_path(explicit: str | os.PathLike | None = None) -> Path:
    return Path(explicit or os.environ.get("CORTEX_CONFIG") or "cortex.yaml").resolve()


def load_config(path: str | os.PathLike | None = None, environ=os.environ) -> CortexConfig:
    resolved = config_path(path)
    try:
        text = resolved.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read config {resolved}: {exc.strerror}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        try:
            raw = yaml.safe_load(FLOW_ITEM_REFERENCE.sub(r'\1"\2"', text))
        except yaml.YAMLError:
            raise ConfigError(f"{resolved}: not valid YAML: {exc}") from None
    return parse_config(raw or {}, resolved, environ)
