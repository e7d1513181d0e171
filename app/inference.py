"""The inference service: resolve the model, pick a route, call the provider, shape the reply.

Views hand it a parsed body and a `CallContext`; it returns an `InferenceResult` (a JSON
body, or an iterator of SSE bytes) and fills the context, from which exactly one usage
record is written per request.
"""
import logging
import time
from dataclasses import dataclass, field
from typing import Iterator

from app.auth import model_allowed, provider_allowed
from app.errors import ClientDisconnected, CortexError, InvalidRequest, PermissionDenied, UpstreamError
from app.relay import RELAYS
from app.routing import Resolution, Route
from app.shaping import chat_call, client_chat_reply, client_wants_usage, reply_usage
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
    recorded: bool = False

    def served_by(self, route: Route) -> None:
        self.route = route

    def chunk_sent(self) -> None:
        now = time.monotonic()
        if self.first_byte_at is None:
            self.first_byte_at = now
        self.last_chunk_at = now

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
            "cost_usd": cost_usd(model_config, self.usage.input_tokens, self.usage.output_tokens),
        }


@dataclass
class InferenceResult:
    body: dict | None = None
    stream: Iterator[bytes] | None = None
    headers: dict = field(default_factory=dict)


def _route_headers(route: Route) -> dict:
    return {"x-cortex-provider": route.provider.name, "x-cortex-model": route.model}


class InferenceService:
    def __init__(self, router, adapters, settings, usage_writer):
        self.router = router
        self.adapters = adapters
        self.settings = settings
        self.usage_writer = usage_writer

    def record(self, ctx: CallContext) -> None:
        if not ctx.recorded:
            ctx.recorded = True
            self.usage_writer.record(**ctx.usage_fields())

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
        """Anthropic-type providers count exactly; elsewhere a documented estimate (app.translate)."""
        ctx.requested_model = body.get("model")
        route = self.allowed_routes(ctx, self.router.resolve(ctx.requested_model))[0]
        ctx.served_by(route)
        adapter = self.adapters[route.provider.name]
        if adapter.wire_format != "anthropic":
            return {"input_tokens": estimate_input_tokens(body)}
        call = UpstreamCall(path="/messages/count_tokens", body={**body, "model": route.model}, model=route.model,
                            headers=client_headers)
        return adapter.send(call).body

    def allowed_routes(self, ctx: CallContext, resolution: Resolution) -> tuple:
        principal = ctx.principal
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
        routes = self.allowed_routes(ctx, self.router.resolve(ctx.requested_model))
        inject = self.settings.caching().auto_inject_anthropic_cache_control
        for attempt, route in enumerate(routes, 1):
            adapter = self.adapters[route.provider.name]
            ctx.served_by(route)
            call = chat_call(client_format, adapter.wire_format, body, route.model,
                             inject_cache_control=inject, client_headers=client_headers)
            try:
                if ctx.stream:
                    upstream = adapter.stream(call)
                else:
                    reply = adapter.send(call)
            except UpstreamError as exc:
                if exc.retryable and attempt < len(routes):
                    log.warning("request %s: %s failed (%s); trying the next candidate",
                                ctx.request_id, route.provider.name, exc.code)
                    continue
                raise
            if ctx.stream:
                relay = RELAYS[(client_format, adapter.wire_format)](ctx.requested_model,
                                                                     client_wants_usage(client_format, body))
                return InferenceResult(stream=self._relay(ctx, upstream, relay), headers=_route_headers(route))
            ctx.usage = reply_usage(adapter.wire_format, reply.body)
            return InferenceResult(body=client_chat_reply(client_format, adapter.wire_format, reply.body,
                                                          ctx.requested_model),
                                   headers=_route_headers(route))
        raise AssertionError("unreachable: allowed_routes never returns an empty tuple")

    def _relay(self, ctx: CallContext, upstream, relay) -> Iterator[bytes]:
        """Forward the upstream stream; any failure after the first byte becomes an error event."""
        try:
            for raw in upstream:
                try:
                    out = relay.feed(raw)
                except (ValueError, AttributeError, TypeError):
                    raise UpstreamError("The provider sent a malformed stream event",
                                        code="upstream_bad_response") from None
                if out:
                    ctx.chunk_sent()
                    yield out
            tail = relay.finish()
            if tail:
                yield tail
        except UpstreamError as exc:
            ctx.error = exc
            yield relay.error_event(exc)
        except GeneratorExit:
            ctx.error = ClientDisconnected("client closed the connection mid-stream")
            raise
        finally:
            ctx.usage = relay.usage
            upstream.close()
            self.record(ctx)

