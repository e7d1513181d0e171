"""The inference service: resolve the model, pick a route, call the provider, shape the reply.

Views hand it a parsed body and a `CallContext`; it returns an `InferenceResult` (a JSON
body, or an iterator of SSE bytes) and fills the context, from which exactly one usage
record is written per request.
"""
import logging
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Iterator

import orjson

from app import genai
from app.auth import model_allowed, provider_allowed
from app.cache import cache_key
from app.errors import (ClientDisconnected, CortexError, InvalidRequest, ModelNotFound, PermissionDenied,
                        UpstreamError, scrub)
from app.relay import open_relay
from app.routing import ListedModel, Resolution, Route
from app.shaping import (chat_call, client_chat_reply, client_wants_usage, count_tokens_call, reply_usage,
                         upstream_format)
from app.providers import UpstreamCall
from app.translate import Usage, estimate_input_tokens
from app.usage import cost_usd

log = logging.getLogger("cortex.inference")


@dataclass
class CallContext:
    """What one inference request did; becomes its usage record."""

    request_id: str
    endpoint: str
    principal: object = None
    requested_model: str | None = None
    route: Route | None = None
    stream: bool = False
    started: float = field(default_factory=time.monotonic)
    timestamp: float = field(default_factory=time.time)
    first_byte_at: float | None = None
    last_chunk_at: float | None = None
    usage: Usage = field(default_factory=Usage)
    error: CortexError | None = None
    http_status: int = 200
    cached: bool = False
    recorded: bool = False
    inflight: object = None  # the request's InflightSlot, when listed in the in-flight view
    dropped: list = field(default_factory=list)  # what translation could not carry, by name
    upstream_format: str | None = None  # the wire format the provider was called in
    client_format: str = "openai"  # the wire format the client speaks
    span: object = None  # the request's app.tracing.Span when tracing is on

    def served_by(self, route: Route) -> None:
        self.route = route
        if self.inflight:
            self.inflight.routed(route.provider.name, route.model)

    @property
    def traceparent(self) -> str:
        """The W3C trace context to send upstream: this request's span as the parent; "" untraced."""
        return self.span.traceparent if self.span is not None else ""

    def chunk_sent(self) -> None:
        now = time.monotonic()
        if self.first_byte_at is None:
            self.first_byte_at = now
        self.last_chunk_at = now
        if self.inflight:
            self.inflight.chunk_sent()

    def usage_fields(self) -> dict:
        route = self.route
        model_config = route.provider.model(route.model) if route else None
        return {
            "request_id": self.request_id,
            "timestamp": self.timestamp,
            "api_key_name": self.principal.name if self.principal else None,
            "model": route.model if route else self.requested_model,
            "requested_model": self.requested_model,
            "provider": route.provider.name if route else None,
            "endpoint": self.endpoint,
            "stream": self.stream,
            "input_tokens": self.usage.input_tokens,
            "output_tokens": self.usage.output_tokens,
            "total_tokens": self.usage.total_tokens,
            "cache_read_tokens": self.usage.cache_read_tokens,
            "cache_creation_tokens": self.usage.cache_creation_tokens,
            "latency_ms": int((time.monotonic() - self.started) * 1000),
            "ttft_ms": int((self.first_byte_at - self.started) * 1000) if self.first_byte_at else None,
            "status": "error" if self.error or self.http_status >= 400 else "success",
            "http_status": self.error.status if self.error else self.http_status,
            "error_code": self.error.code if self.error else None,
            "cost_usd": cost_usd(model_config, self.usage),
            "audio_seconds": self.usage.audio_seconds or None,
            "cached": self.cached,
        }


@dataclass
class InferenceResult:
    body: dict | None = None
    stream: Iterator[bytes] | None = None
    headers: dict = field(default_factory=dict)
    content: bytes | None = None  # a reply passed through as the provider sent it, with its type
    content_type: str | None = None


def route_headers(route: Route, cache_key: str | None = None, dropped: list | None = None) -> dict:
    headers = {"x-cortex-provider": route.provider.name, "x-cortex-model": route.model}
    if cache_key:
        headers["x-cortex-cache"] = "miss"
    if dropped:
        headers["x-cortex-dropped"] = ",".join(dict.fromkeys(dropped))
    return headers


class InferenceService:
    def __init__(self, router, adapters, settings, usage_writer, cache, metrics, health, budgets, *,
                 secrets: tuple = (), tracer=None):
        self.secrets = secrets  # scrubbed from provider messages relayed mid-stream
        self.tracer = tracer  # app.tracing.Tracer, None when tracing is off
        self.router = router
        self.adapters = adapters
        self.settings = settings
        self.usage_writer = usage_writer
        self.cache = cache
        self.metrics = metrics
        self.health = health
        self.budgets = budgets

    def record(self, ctx: CallContext) -> None:
        if not ctx.recorded:
            ctx.recorded = True
            if ctx.inflight:
                ctx.inflight.release()
            fields = ctx.usage_fields()
            self.usage_writer.add(fields)
            self.metrics.observe(ctx, fields)
            if ctx.principal is not None:
                self.budgets.charge(ctx.principal, fields["cost_usd"])
            if ctx.span is not None:
                adapter = self.adapters.get(ctx.route.provider.name) if ctx.route else None
                wire_format = ctx.upstream_format or (adapter.wire_format if adapter else None)
                self.tracer.end(genai.finish(ctx.span, ctx, fields, self.tracer.servers, wire_format,
                                             ctx.client_format))

    def finish(self, ctx: CallContext) -> None:
        """Called when the response is closed: records the call if the body never did."""
        if ctx.stream and not ctx.recorded and ctx.error is None and ctx.http_status < 400 \
                and ctx.first_byte_at is None:
            ctx.error = ClientDisconnected("client closed the connection before the stream started")
        self.record(ctx)

    def visible_models(self, principal) -> list:
        """Listed models the key may use (by name; provider restrictions need a resolution)."""
        return [m for m in self.router.listed_models() if model_allowed(principal, m.id, m.id)]

    def count_tokens(self, ctx: CallContext, body: dict, client_headers: dict) -> dict:
        """Anthropic- and Gemini-type providers count exactly; elsewhere a documented estimate (app.translate)."""
        ctx.requested_model = body.get("model")
        route = self.allowed_routes(ctx, self.router.resolve(ctx.requested_model))[0]
        ctx.served_by(route)
        adapter = self.adapters[route.provider.name]
        counting = count_tokens_call(adapter.wire_format, body, route.model, client_headers)
        if counting is None:
            return {"input_tokens": estimate_input_tokens(body)}
        call, read_count = counting
        call.traceparent = ctx.traceparent
        return {"input_tokens": read_count(adapter.send(call).body)}

    def model(self, principal, model_id: str):
        """The ListedModel of one name this key may use (models.retrieve); 404 otherwise, as the
        APIs answer for a model the caller cannot see."""
        resolution = self.router.resolve(model_id)
        try:
            route = self._routes_for(principal, resolution)[0]
        except (PermissionDenied, InvalidRequest):
            raise ModelNotFound(f"The model '{model_id}' does not exist or is not configured", param="model") from None
        listed = next((m for m in self.router.listed_models() if m.id == model_id), None)
        if listed is not None:
            return listed
        entry = route.provider.model(route.model)
        display = entry.display_name if entry is not None and not entry.is_pattern else model_id
        return ListedModel(model_id, display, entry.created_at if entry is not None and not entry.is_pattern else "")

    def allowed_routes(self, ctx: CallContext, resolution: Resolution) -> tuple:
        return self._routes_for(ctx.principal, resolution)

    def _routes_for(self, principal, resolution: Resolution) -> tuple:
        routes = tuple(r for r in resolution.routes
                       if provider_allowed(principal, r.provider.name)
                       and model_allowed(principal, resolution.requested, r.model))
        if not resolution.routes:
            raise InvalidRequest(f"Virtual model '{resolution.requested}' has no enabled candidates",
                                 code="no_enabled_candidates", param="model")
        if not routes:
            raise PermissionDenied(f"API key '{principal.name}' may not use model '{resolution.requested}'")
        return routes

    def chat(self, ctx: CallContext, body: dict, client_format: str, client_headers: dict) -> InferenceResult:
        ctx.requested_model = body.get("model")
        ctx.stream = bool(body.get("stream"))
        ctx.client_format = client_format
        resolution = self.router.resolve(ctx.requested_model)
        routes = self.allowed_routes(ctx, resolution)
        span = ctx.span
        if span is not None:
            genai.record_request(span, body, self.tracer.captures(ctx.principal), resolution.virtual)
        caching = self.settings.caching()
        key = cache_key(ctx.principal.name, client_format, routes, body) if caching.response_cache_enabled else None
        if key:
            hit = self.cache.get(key)
            self.metrics.observe_cache(hit is not None)
            if hit:
                return self._replay(ctx, hit, routes)

        def open_route(route, adapter):
            ctx.upstream_format = upstream_format(route.provider, route.model, client_format, adapter.wire_format)
            call, ctx.dropped = chat_call(client_format, ctx.upstream_format, body, route.model,
                                          inject_cache_control=caching.auto_inject_anthropic_cache_control,
                                          client_headers=client_headers)
            call.traceparent = ctx.traceparent
            return adapter.stream(call) if ctx.stream else adapter.send(call)

        route, answer = self.first_answer(ctx, resolution, routes, open_route)
        wire_format = ctx.upstream_format
        headers = route_headers(route, key, ctx.dropped)
        store = partial(self._store_in_cache, key, ctx, caching.response_cache_ttl_secs) if key else None
        if ctx.stream:
            relay = open_relay(client_format, wire_format, ctx.requested_model,
                               client_wants_usage(client_format, body), body)
            return InferenceResult(stream=self.relay(ctx, answer, relay, store), headers=headers)
        ctx.usage = reply_usage(wire_format, answer.body)
        client_body = client_chat_reply(client_format, wire_format, answer.body, ctx.requested_model, body)
        if span is not None:
            genai.record_reply(span, client_body, self.tracer.captures(ctx.principal))
        if store:
            store(orjson.dumps(client_body))
        return InferenceResult(body=client_body, headers=headers)

    def first_answer(self, ctx: CallContext, resolution: Resolution, routes: tuple, open_route) -> tuple:
        """(route, answer) of the first candidate for which `open_route(route, adapter)` succeeds.

        A candidate is skipped after a retryable failure (connect error, timeout, 429, 5xx: nothing
        has reached the client yet) and, for a virtual model, while ProviderHealth keeps its
        provider out of rotation.
        """
        failure = None
        for route in routes:
            name = route.provider.name
            if resolution.virtual and not self.health.admit(name):
                continue
            if failure is not None:
                log.warning("request %s: %s failed (%s); trying the next candidate",
                            ctx.request_id, ctx.route.provider.name, failure.code)
                self.metrics.observe_upstream_error(ctx.route.provider.name, failure)  # the record shows only the last
                if ctx.span is not None:
                    genai.record_failover(ctx.span, ctx.route.provider.name, ctx.route.model, failure)
            ctx.served_by(route)
            try:
                answer = open_route(route, self.adapters[name])
            except UpstreamError as exc:
                self.health.observe(name, exc)
                if not exc.retryable:
                    raise
                failure = exc
                continue
            self.health.observe(name)
            return route, answer
        raise failure or self.health.unavailable(resolution.requested, routes)

    def _store_in_cache(self, key: str, ctx: CallContext, ttl_secs: int, body: bytes) -> None:
        self.cache.put(key, stream=ctx.stream, body=body, provider=ctx.route.provider.name, model=ctx.route.model,
                       usage=ctx.usage, ttl_secs=ttl_secs)

    def _replay(self, ctx: CallContext, hit, routes: tuple) -> InferenceResult:
        """Answer from the cache: same body or the same SSE events, and still a usage record."""
        route = next((r for r in routes if (r.provider.name, r.model) == (hit.provider, hit.model)), routes[0])
        ctx.served_by(route)
        ctx.cached = True
        ctx.usage = Usage(input_tokens=hit.input_tokens, output_tokens=hit.output_tokens)
        headers = {**route_headers(route), "x-cortex-cache": "hit"}
        if not hit.stream:
            return InferenceResult(body=orjson.loads(hit.body), headers=headers)
        return InferenceResult(stream=self._replay_events(ctx, hit.body), headers=headers)

    def _replay_events(self, ctx: CallContext, body: bytes) -> Iterator[bytes]:
        try:
            for event in body.split(b"\n\n")[:-1]:
                ctx.chunk_sent()
                yield event + b"\n\n"
        finally:
            self.record(ctx)

    def relay(self, ctx: CallContext, upstream, relay, store=None) -> Iterator[bytes]:
        """Forward the upstream stream; any failure after the first byte becomes an error event.

        `store`, when caching, receives the whole client stream once it completed cleanly.
        """
        sent = [] if store else None
        ready = []  # relayed, not yet handed to gunicorn
        try:
            # The upstream has answered 200: an empty chunk makes gunicorn send the response's
            # headers now, while the model thinks, so the first token later goes out alone (one
            # send instead of two, and no header formatting on a worker just woken from idle).
            yield b""
            for raw in upstream:
                try:
                    out = relay.feed(raw)
                except (ValueError, LookupError, AttributeError, TypeError):  # an event of an unexpected shape
                    raise UpstreamError("The provider sent a malformed stream event",
                                        code="upstream_bad_response") from None
                if out:
                    ctx.chunk_sent()
                    if sent is not None:
                        sent.append(out)
                    ready.append(out)
                # The events of one upstream write go out in one send (an Anthropic stream's first
                # write holds four: the first token waited behind three sends); nothing waits for
                # the network meanwhile.
                if ready and not upstream.has_whole_event():
                    yield b"".join(ready)
                    ready.clear()
            tail = relay.finish()
            if ready or tail:
                yield b"".join(ready) + tail
            if sent is not None:
                ctx.usage = relay.usage
                store(b"".join(sent) + tail)
        except UpstreamError as exc:
            exc.message = scrub(exc.message, self.secrets)  # the provider's words may quote its key
            ctx.error = exc
            yield b"".join(ready) + relay.error_event(exc)  # what was relayed before the failure first
        except GeneratorExit:
            ctx.error = ClientDisconnected("client closed the connection mid-stream")
            raise
        finally:
            ctx.usage = relay.usage
            if ctx.span is not None and relay.finish_reason:
                ctx.span.attributes["gen_ai.response.finish_reasons"] = [relay.finish_reason]
            upstream.close()
            self.record(ctx)

