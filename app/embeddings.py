"""Embeddings (`POST /v1/embeddings`) on the providers that serve them (API.md, Embeddings).

The body goes upstream as the client sent it, with the resolved model id; the reply comes
back as the provider sent it (base64 vectors included) with `model` set to what the client
asked for.
"""
from app.errors import InvalidRequest
from app.inference import CallContext, InferenceResult, route_headers
from app.provider_types import EMBEDDINGS
from app.providers import UpstreamCall
from app.routing import require_endpoint
from app.translate import usage_from_openai


class EmbeddingService:
    def __init__(self, inference):
        self.inference = inference

    def create(self, ctx: CallContext, body: dict) -> InferenceResult:
        ctx.requested_model = body["model"]
        resolution = self.inference.router.resolve(ctx.requested_model)
        if resolution.virtual and len(resolution.routes) != 1:
            raise InvalidRequest(
                f"Virtual model '{resolution.requested}' has {len(resolution.routes)} enabled candidates; "
                "embeddings need exactly one, because vectors from different models cannot be compared",
                code="invalid_virtual_model", param="model")
        routes = self.inference.allowed_routes(ctx, resolution)
        require_endpoint(routes, EMBEDDINGS, "Embeddings")

        def open_route(route, adapter):
            return adapter.send(UpstreamCall(path="/embeddings", body={**body, "model": route.model},
                                             model=route.model, traceparent=ctx.traceparent))

        route, reply = self.inference.first_answer(ctx, resolution, routes, open_route)
        ctx.usage = usage_from_openai(reply.body.get("usage"))
        return InferenceResult(body={**reply.body, "model": ctx.requested_model}, headers=route_headers(route))
