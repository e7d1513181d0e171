"""Default routes: the realistic answer for each endpoint when no behaviour is scripted."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import (anthropic_rules, anthropic_wire, gemini_rules, gemini_wire, openai_rules, openai_wire, responses_rules,
               responses_wire)
from .behaviours import Behaviour, Fail, Reply, Stream

if TYPE_CHECKING:
    from .conversation import Turn
    from .server import MockUpstream, RecordedRequest

# Azure OpenAI puts the deployment in the path; these suffixes answer like their /v1 twins.
_AZURE_PATH = re.compile(r"^/openai/deployments/[^/]+(/chat/completions|/embeddings|/audio/transcriptions)$")
# Gemini puts the model in the path and the method after a colon; these answer as one route per method.
_GEMINI_PATH = re.compile(r"^/v1beta/models/([^/:]+)(:\w+)$")


def _model(request: RecordedRequest) -> str:
    gemini = _GEMINI_PATH.match(request.path)
    if gemini:
        return gemini.group(1)
    return request.json.get("model") or request.deployment or "mock-model"


def _reply(body: object, mock: MockUpstream) -> Reply:
    return Reply(body, delay=mock.response_delay)


def _stream(events: list, mock: MockUpstream, done: bool = True) -> Stream:
    return Stream(events, first_delay=mock.response_delay, delay=mock.stream_delay, done=done)


# Last path segment -> (streamed answer, whole answer).
_ANSWERS = {
    "completions": (openai_wire.chat_completion_chunks, openai_wire.chat_completion),
    "responses": (responses_wire.response_events, responses_wire.response),
    "messages": (anthropic_wire.message_events, anthropic_wire.message),
}


def invalid_request(request: RecordedRequest) -> Fail | None:
    """The 400 the real API gives a chat completion or message body it rejects, if any."""
    if not isinstance(request.json, dict):
        return Fail(400, "We could not parse the JSON body of your request.")
    if request.path.endswith(("/chat/completions", "/responses")):
        rules = openai_rules if request.path.endswith("/chat/completions") else responses_rules
        found = rules.problem(request.json)
        return Fail(400, found[0], param=found[1]) if found else None
    if request.flavour == "gemini":
        found = gemini_rules.problem(request.json)
        return Fail(400, found) if found else None
    beta = "anthropic-beta" in request.headers
    found = anthropic_rules.problem(request.json, beta)
    return Fail(400, found) if found else None


def answer(request: RecordedRequest, mock: MockUpstream, turn: Turn | None = None) -> Behaviour:
    """The model's answer to a valid chat completion or message request, streamed if asked:
    ``turn`` if given, else what the mock decides from the conversation."""
    if request.flavour == "gemini":
        if request.path.endswith(":streamGenerateContent"):
            return _stream(gemini_wire.stream_chunks(request.json, _model(request), turn), mock)
        return _reply(gemini_wire.generate_content(request.json, _model(request), turn), mock)
    streamed, whole = _ANSWERS.get(request.path.rsplit("/", 1)[-1], _ANSWERS["messages"])
    if request.json.get("stream"):
        events = streamed(request.json, _model(request), turn)
        # Responses streams end with response.completed, not `data: [DONE]`.
        return _stream(events, mock, done=not request.path.endswith("/responses"))
    return _reply(whole(request.json, _model(request), turn), mock)


def _generate(request: RecordedRequest, mock: MockUpstream) -> Behaviour:
    return invalid_request(request) or answer(request, mock)


_STORED_RESPONSE = re.compile(r"^/v1/responses/([^/]+)(/input_items)?$")


def _stored_response(request: RecordedRequest, mock: MockUpstream) -> Behaviour:
    """GET or DELETE of a response the mock issued with store on; GET of its input items."""
    response_id, items_asked = _STORED_RESPONSE.match(request.path).groups()
    issued = responses_wire.ISSUED.get(response_id)
    if issued is None or (items_asked and request.method != "GET"):
        return Fail(404, f"No response found with id '{response_id}'.")
    response, items = issued
    if items_asked:
        return _reply({"object": "list", "data": items, "first_id": items[0]["id"] if items else None,
                       "last_id": items[-1]["id"] if items else None, "has_more": False}, mock)
    if request.method == "DELETE":
        del responses_wire.ISSUED[response_id]
        return _reply({"id": response_id, "object": "response", "deleted": True}, mock)
    return _reply(response, mock)


def _count_tokens(request: RecordedRequest, mock: MockUpstream) -> Behaviour:
    return _reply(anthropic_wire.count_tokens(request.json), mock)


def _gemini_count_tokens(request: RecordedRequest, mock: MockUpstream) -> Behaviour:
    return _reply(gemini_wire.count_tokens(request.json), mock)


def _gemini_embeddings(request: RecordedRequest, mock: MockUpstream) -> Behaviour:
    return _reply(gemini_wire.batch_embed_contents(request.json), mock)


def _list_models(request: RecordedRequest, mock: MockUpstream) -> Behaviour:
    wire = {"anthropic": anthropic_wire, "gemini": gemini_wire}.get(request.flavour, openai_wire)
    return _reply(wire.models_list(mock.models), mock)


def _embeddings(request: RecordedRequest, mock: MockUpstream) -> Behaviour:
    return _reply(openai_wire.embeddings(request.json, _model(request)), mock)


def _transcriptions(request: RecordedRequest, mock: MockUpstream) -> Behaviour:
    upload = request.files.get("file")
    if upload is None:
        return Fail(400, "Missing required parameter: 'file'.")
    text = openai_wire.transcript_text(upload.filename, upload.size)
    seconds = openai_wire.audio_seconds(upload.size)
    if request.form.get("stream") == "true":
        return _stream(openai_wire.transcription_events(text, seconds), mock)
    return _reply(openai_wire.transcription(request.form.get("response_format", "json"), text, seconds), mock)


Route = Callable[["RecordedRequest", "MockUpstream"], Behaviour]

# (method, path) -> (route, whether the route needs a JSON object body)
_ROUTES: dict[tuple[str, str], tuple[Route, bool]] = {
    ("POST", "/v1/chat/completions"): (_generate, True),
    ("POST", "/v1/messages"): (_generate, True),
    ("POST", "/v1/messages/count_tokens"): (_count_tokens, True),
    ("POST", "/v1/responses"): (_generate, True),
    ("GET", "/v1/models"): (_list_models, False),
    ("POST", "/v1/embeddings"): (_embeddings, True),
    ("POST", "/v1/audio/transcriptions"): (_transcriptions, False),
    ("GET", "/v1beta/models"): (_list_models, False),
    ("POST", ":generateContent"): (_generate, True),
    ("POST", ":streamGenerateContent"): (_generate, True),
    ("POST", ":countTokens"): (_gemini_count_tokens, True),
    ("POST", ":batchEmbedContents"): (_gemini_embeddings, True),
}


def _credentials_problem(request: RecordedRequest) -> Behaviour | None:
    """The error the real API gives for missing credentials or version header, if any."""
    if request.flavour == "gemini":
        if "x-goog-api-key" not in request.headers and "authorization" not in request.headers:
            return Fail(403, "Method doesn't allow unregistered callers (callers without established identity). "
                             "Please use API Key or other form of API consumer identity to call this API.")
        if request.path.endswith(":streamGenerateContent") and request.query.get("alt") != "sse":
            return Fail(400, "the mock streams only with alt=sse (what Cortex asks for)")
        return None
    if request.flavour == "anthropic":
        # The API takes x-api-key, or a Bearer token (which the current Python SDK sends).
        if "x-api-key" not in request.headers and "authorization" not in request.headers:
            return Fail(401, "x-api-key header is required")
        if request.path.startswith("/v1/messages") and "anthropic-version" not in request.headers:
            return Fail(400, "anthropic-version: header is required")
        return None
    if "authorization" not in request.headers and "api-key" not in request.headers:
        return Fail(401, "You didn't provide an API key. You need to provide your API key in an Authorization header.")
    return None


def default_behaviour(request: RecordedRequest, mock: MockUpstream) -> Behaviour:
    azure, gemini = _AZURE_PATH.match(request.path), _GEMINI_PATH.match(request.path)
    path = "/v1" + azure.group(1) if azure else gemini.group(2) if gemini else request.path
    route = _ROUTES.get((request.method, path))
    if route is None and _STORED_RESPONSE.match(path):
        route = (_stored_response, False)
    if route is None:
        return Fail(404, f"Invalid URL ({request.method} {request.path})")
    problem = _credentials_problem(request)
    if problem:
        return problem
    handler, needs_json = route
    if needs_json and not isinstance(request.json, dict):
        return Fail(400, "We could not parse the JSON body of your request.")
    return handler(request, mock)
