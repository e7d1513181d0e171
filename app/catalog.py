"""What /api/providers/{name}/* report: a provider's models and how it authenticates."""
import logging
import time

import gevent

from app.errors import CortexError, InvalidRequest, NotFound
from app.provider_types import MODEL_LIST
from app.providers import UpstreamCall

log = logging.getLogger("cortex.catalog")

MODEL_LIST_DEADLINE_SECS = 10.0  # the page must not hang on a slow provider
MODEL_LIST_TTL_SECS = 600.0
DISCOVERY_INTERVAL_SECS = MODEL_LIST_TTL_SECS  # discover_models: the provider's list is read again this often
FAILED_LIST_TTL_SECS = 60.0       # a failing provider is asked again after this
MASK = "****...****"
REVEALED_CHARS = 4
MIN_REVEALING_LENGTH = 16  # shorter keys are masked entirely: 8 shown characters would be half of them


def mask_key(key: str) -> str:
    if len(key) < MIN_REVEALING_LENGTH:
        return MASK
    return key[:REVEALED_CHARS] + MASK + key[-REVEALED_CHARS:]


def _display_names(body: dict) -> dict:
    """id -> display name from a model list: Anthropic's `display_name`, OpenRouter's `name`,
    Gemini's `models[]` (`name` "models/<id>", `displayName`)."""
    if isinstance(body.get("models"), list):
        return {entry["name"].removeprefix("models/"): str(entry.get("displayName") or "")
                for entry in body["models"] if isinstance(entry, dict) and isinstance(entry.get("name"), str)}
    entries = body.get("data") if isinstance(body.get("data"), list) else []
    return {entry["id"]: str(entry.get("display_name") or entry.get("name") or "")
            for entry in entries if isinstance(entry, dict) and isinstance(entry.get("id"), str)}


class ProviderCatalog:
    def __init__(self, config, adapters, oauth):
        self._providers = {p.name: p for p in config.providers}
        self._patterns = config.provider_patterns
        self._adapters = adapters
        self._oauth = oauth
        self._listed = {}  # provider -> (monotonic expiry, {id: display name}, error message)
        self._discovery = None

    def start_discovery(self, router) -> None:
        """Providers with `discover_models`: their own lists become routable names in /v1/models,
        read now (in the background, start-up does not wait on a provider) and then periodically."""
        names = [name for name, provider in self._providers.items() if provider.discover_models]
        if names:
            self._discovery = gevent.spawn(self._discover_forever, router, names)

    def _discover_forever(self, router, names: list) -> None:
        while True:
            for name in names:
                listed, _ = self._upstream_models(name)
                if listed:  # a failed read keeps what the last one found
                    router.discovered(name, listed)
            gevent.sleep(DISCOVERY_INTERVAL_SECS)

    def close(self) -> None:
        if self._discovery is not None:
            self._discovery.kill(block=False)

    def _provider(self, name: str):
        if not name.strip():
            raise InvalidRequest("Provider name is required", code="missing_provider", param="name")
        provider = self._providers.get(name)
        if provider is None:
            raise NotFound(f"Provider '{name}' not found")
        return provider

    def _upstream_models(self, name: str) -> tuple[dict, str]:
        """The provider's own model list (cached per worker), and why it is empty if it failed."""
        now = time.monotonic()
        cached = self._listed.get(name)
        if cached and cached[0] > now:
            return cached[1], cached[2]
        adapter = self._adapters[name]
        listed, error, ttl = {}, "", MODEL_LIST_TTL_SECS
        if adapter.provider_type.serves(MODEL_LIST):
            try:
                listed = _display_names(adapter.send(UpstreamCall(path="/models", method="GET",
                                                                  deadline_secs=MODEL_LIST_DEADLINE_SECS)).body)
            except CortexError as exc:  # unreachable, rejected, not logged in: the config still answers
                error, ttl = exc.message, FAILED_LIST_TTL_SECS
                log.info("model list of provider %s unavailable: %s", name, error)
        self._listed[name] = (now + ttl, listed, error)
        return listed, error

    def models(self, name: str) -> dict:
        provider = self._provider(name)
        listed, error = self._upstream_models(name)
        prefix = self._patterns.get(name, "")
        models = [{"id": prefix + m.id, "display_name": listed.get(m.id) or m.display_name, "enabled": m.enabled}
                  for m in provider.models]
        configured = {m.id for m in provider.models}
        models += [{"id": prefix + model_id, "display_name": display_name or model_id, "enabled": True}
                   for model_id, display_name in listed.items() if model_id not in configured]
        if not models and error:
            raise CortexError(f"Failed to retrieve models for provider '{name}': {error}", code="models_unavailable")
        default_model = prefix + provider.default_model if provider.default_model else (
            models[0]["id"] if models else "")
        return {"provider": name, "models": models, "default_model": default_model}

    def auth(self, name: str) -> dict:
        provider = self._provider(name)
        return {
            "provider": name,
            "auth_method": provider.auth_method,
            "api_keys": [{"masked": mask_key(key), "index": index} for index, key in enumerate(provider.api_keys)],
            "oauth": {"configured": self._oauth.configured(name), "authenticated": self._oauth.authenticated(name)},
        }
