"""Embeddings (`POST /v1/embeddings`) on the providers that serve them (API.md, Embeddings).

To an OpenAI-format provider the body goes upstream as the client sent it, with the resolved
model id; the reply comes back as the provider sent it (base64 vectors included) with `model`
set to what the client asked for. A Gemini provider gets the inputs as `batchEmbedContents`
and its vectors come back in OpenAI's shape (app.translate.gemini.embeddings).
"""
from app.errors import InvalidRequest
from app.inference import CallContext, InferenceResult, route_headers
from app.provider_types import EMBEDDINGS
from app.providers import UpstreamCall
from app.routing import require_endpoint
from app.translate import Usage, usage_from_openai
from app.translate.gemini import embeddings as gemini_embeddings


def _openai_call(body: dict, model: str) -> UpstreamCall:
    return UpstreamCall(path="/embeddings", body={**body, "model": model}, model=model)


def _openai_reply(reply: dict, body: dict, requested: str) -> tuple[dict, Usage]:
    return {**reply, "model": requested}, usage_from_openai(reply.get("usage"))


def _gemini_call(body: dict, model: str) -> UpstreamCall:
    texts = gemini_embeddings.texts_of(body)
    if texts is None:
        raise InvalidRequest("Token-array inputs are not supported by Gemini embedding models: send text",
                             code="invalid_value", param="input")
    return UpstreamCall(path=":batchEmbedContents", body=gemini_embeddings.embeddings_request(texts, body, model),
                        model=model)


def _gemini_reply(reply: dict, body: dict, requested: str) -> tuple[dict, Usage]:
    return gemini_embeddings.embeddings_reply(reply, body, requested), Usage()


# Provider wire format -> (the upstream call for a client body, the client reply and usage of the answer).
WIRE_FORMATS = {"openai": (_openai_call, _openai_reply), "gemini": (_gemini_call, _gemini_reply)}


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
            call = WIRE_FORMATS[adapter.wire_format][0](body, route.model)
            call.traceparent = ctx.traceparent
            return adapter.send(call)

        route, reply = self.inference.first_answer(ctx, resolution, routes, open_route)
        client_body, ctx.usage = WIRE_FORMATS[self.inference.adapters[route.provider.name].wire_format][1](
            reply.body, body, ctx.requested_model)
        return InferenceResult(body=client_body, headers=route_headers(route))
