"""Model name → the provider(s) and upstream model id that serve it (DESIGN.md, Routing).

All lookups are dicts built once from the config; resolving costs a few dict hits.
"""
import itertools
from dataclasses import dataclass
from fnmatch import fnmatchcase

from app.config import CortexConfig, ProviderConfig, VirtualModelConfig
from app.errors import InvalidRequest, ModelNotFound
from app.provider_types import PROVIDER_TYPES, types_serving


@dataclass(frozen=True)
class Route:
    provider: ProviderConfig
    model: str  # the id sent upstream


def require_endpoint(routes, endpoint: str, label: str) -> None:
    """400 unless every route's provider type serves `endpoint` (app.provider_types); `label` names it."""
    for route in routes:
        if not PROVIDER_TYPES[route.provider.type].serves(endpoint):
            raise InvalidRequest(f"{label} are not supported by provider '{route.provider.name}' "
                                 f"(type {route.provider.type}); supported types: {', '.join(types_serving(endpoint))}",
                                 code="unsupported_provider", param="model")


@dataclass(frozen=True)
class ListedModel:
    id: str
    display_name: str
    created_at: str  # RFC 3339, "" when the config does not say


@dataclass(frozen=True)
class Resolution:
    requested: str       # what the client asked for; echoed back in responses
    routes: tuple        # Routes in the order to try them
    virtual: VirtualModelConfig | None = None


class Router:
    def __init__(self, config: CortexConfig):
        self._providers = {p.name: p for p in config.providers}
        # Longest prefix first so "groq/llama/" wins over "groq/".
        self._patterns = sorted(((prefix, name) for name, prefix in config.provider_patterns.items() if prefix),
                                key=lambda item: -len(item[0]))
        self._virtual = {v.name: v for v in config.virtual_models}
        self._round_robin = {v.name: itertools.count() for v in config.virtual_models}
        self._by_name = {}   # id or alias -> Route, first provider in config order wins
        self._by_provider = {}  # (provider, id or alias) -> upstream id
        self._globs = []  # (pattern, provider) in config order: `claude-*` routes every id of that shape
        self._discovered = {}  # id -> Route, from providers with discover_models (app.catalog)
        for provider in config.providers:
            for model in provider.models:
                if not model.enabled:
                    continue
                if model.is_pattern:
                    self._globs.append((model.id, provider))
                    continue
                for name in (model.id, *model.aliases):
                    self._by_provider.setdefault((provider.name, name), model.id)
                    self._by_name.setdefault(name, Route(provider, model.id))

    def provider(self, name: str) -> ProviderConfig | None:
        return self._providers.get(name)

    def virtual(self, name: str) -> VirtualModelConfig | None:
        return self._virtual.get(name)

    def _explicit(self, requested: str) -> Route | None:
        provider_name, sep, model = requested.partition(":")
        if not sep or provider_name not in self._providers:
            for prefix, name in self._patterns:
                if requested.startswith(prefix):
                    provider_name, model = name, requested[len(prefix):]
                    break
            else:
                return None
        if not model:
            raise InvalidRequest(f"Model name is empty after provider '{provider_name}'", code="invalid_model",
                                 param="model")
        provider = self._providers[provider_name]
        # A model the provider does not list is passed through as is: providers add models
        # faster than configs are edited.
        return Route(provider, self._by_provider.get((provider_name, model), model))

    def resolve(self, requested) -> Resolution:
        if not isinstance(requested, str) or not requested.strip():
            raise InvalidRequest("'model' is required and must be a non-empty string", code="invalid_model",
                                 param="model")
        route = self._explicit(requested)
        if route:
            return Resolution(requested, (route,))
        virtual = self._virtual.get(requested)
        if virtual:
            return Resolution(requested, self._virtual_routes(virtual), virtual)
        route = self._by_name.get(requested) or self._discovered.get(requested) or self._matching_glob(requested)
        if route:
            return Resolution(requested, (route,))
        raise ModelNotFound(f"The model '{requested}' does not exist or is not configured", param="model")

    def _matching_glob(self, requested: str) -> Route | None:
        """The first provider whose pattern matches; the id goes upstream unchanged."""
        for pattern, provider in self._globs:
            if fnmatchcase(requested, pattern):
                return Route(provider, requested)
        return None

    def discovered(self, provider_name: str, model_ids) -> None:
        """Make ids a provider listed routable by name (configured names keep their route)."""
        provider = self._providers[provider_name]
        kept = {name: route for name, route in self._discovered.items() if route.provider.name != provider_name}
        for model_id in model_ids:
            if model_id not in self._by_name:
                kept.setdefault(model_id, Route(provider, model_id))
        self._discovered = kept  # one assignment: a concurrent resolve sees the old or the new map

    def _virtual_routes(self, virtual: VirtualModelConfig) -> tuple:
        routes = tuple(
            Route(self._providers[c.provider], self._by_provider.get((c.provider, c.model), c.model))
            for c in virtual.enabled_candidates
        )
        if virtual.strategy == "round_robin" and routes:
            start = next(self._round_robin[virtual.name]) % len(routes)
            routes = routes[start:] + routes[:start]
        return routes

    def listed_models(self) -> list[ListedModel]:
        """Every name a client can use without a provider prefix: ids, aliases, virtual models."""
        listed = []
        for name, route in itertools.chain(self._by_name.items(), self._discovered.items()):
            model = route.provider.model(route.model)
            if model is not None and model.is_pattern:
                model = None  # a discovered id priced by a pattern: the pattern is no display name
            listed.append(ListedModel(name, model.display_name if model else name, model.created_at if model else ""))
        listed.extend(ListedModel(name, name, "") for name in self._virtual)
        return listed
