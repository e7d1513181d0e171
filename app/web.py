"""HTTP plumbing shared by every surface: request ids, authentication, the error handler,
JSON/SSE responses and the request log line."""
import logging
import random
import time
from functools import partial

import orjson
import peewee
from flask import current_app, g, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from app import sessions
from app.auth import presented_key, require_permission
from app.errors import (CortexError, InvalidRequest, MethodNotAllowed, NotFound, RateLimited, RequestTooLarge,
                        ServiceUnavailable, scrub)
from app.inference import CallContext
from app.process import current_pid

log = logging.getLogger("cortex.access")
error_log = logging.getLogger("cortex.errors")

SURFACE_PREFIXES = (("/v1/", "openai"), ("/anthropic/", "anthropic"), ("/gemini/", "gemini"))
# The error envelope of each surface (DESIGN.md, client formats); elsewhere CortexError.plain_body.
ENVELOPES = {"openai": CortexError.openai_body, "anthropic": CortexError.anthropic_body,
             "gemini": CortexError.gemini_body}
# Surfaces whose clients may send their key as `?key=` (Google's API keys); it never reaches a log line,
# which shows the path only.
QUERY_KEY_SURFACES = ("/gemini/",)
STORE_UNAVAILABLE = (peewee.OperationalError, peewee.InterfaceError)  # unreachable, locked, closed
# orjson encodes at most ~254 levels. Cortex re-encodes every body it forwards, some nested a few
# levels deeper (translation, the cache key): a body must encode with this many levels to spare.
SPARE_JSON_LEVELS = 50
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def cortex():
    return current_app.extensions["cortex"]


def surface_of(path: str) -> str:
    for prefix, surface in SURFACE_PREFIXES:
        if path.startswith(prefix):
            return surface
    return "plain"


def json_response(body, status: int = 200, headers: dict | None = None):
    return current_app.response_class(orjson.dumps(body), status=status, headers=headers,
                                      mimetype="application/json")


def sse_response(stream, headers: dict | None = None):
    return current_app.response_class(stream, headers={**SSE_HEADERS, **(headers or {})},
                                      mimetype="text/event-stream")


def render_result(result):
    """An `InferenceResult` as a JSON, SSE or passed-through response, with the route headers."""
    if result.stream is not None:
        return sse_response(result.stream, result.headers)
    if result.content is not None:
        return current_app.response_class(result.content, headers=result.headers, content_type=result.content_type)
    return json_response(result.body, headers=result.headers)


def _flatten(messages, prefix="") -> list[str]:
    if isinstance(messages, dict):
        return [line for key, value in messages.items()
                for line in _flatten(value, f"{prefix}.{key}" if prefix else str(key))]
    return [f"{prefix}: {message}" if prefix else str(message) for message in messages]


def load_body(schema) -> dict:
    """The request's JSON object validated by `schema`; 400 naming the field otherwise."""
    raw = request.get_data(cache=False)
    if request.content_length is None and len(raw) >= current_app.config["MAX_CONTENT_LENGTH"]:
        # Werkzeug cuts a chunked body off at the limit without a word: one that filled it is too large.
        raise RequestEntityTooLarge()
    if not raw:
        raise InvalidRequest("Request body is empty: expected a JSON object", code="invalid_json")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"Request body is not valid JSON: {exc}", code="invalid_json") from None
    if raw.count(b"[") + raw.count(b"{") > SPARE_JSON_LEVELS and _nested_too_deeply(body):
        raise InvalidRequest("Request body is nested too deeply", code="invalid_json")
    return load_data(schema, body)


def _nested_too_deeply(body) -> bool:
    """Whether `body` fails to encode inside SPARE_JSON_LEVELS extra levels (orjson, C speed)."""
    probe = body
    for _ in range(SPARE_JSON_LEVELS):
        probe = [probe]
    try:
        orjson.dumps(probe)
    except orjson.JSONEncodeError:
        return True
    return False


def load_query(schema) -> dict:
    """The query string validated by `schema`; a repeated parameter is a 400, not first-wins."""
    args = request.args.to_dict(flat=False)
    repeated = next((name for name, values in args.items() if len(values) > 1), None)
    if repeated:
        raise InvalidRequest(f"Query parameter '{repeated}' is given more than once", code="invalid_value",
                             param=repeated)
    return load_data(schema, {name: values[0] for name, values in args.items()})


def load_data(schema, data) -> dict:
    if not isinstance(data, dict):
        raise InvalidRequest("Expected a JSON object", code="invalid_json")
    try:
        return schema.load(data)
    except ValidationError as exc:
        lines = _flatten(exc.messages)
        first_field = lines[0].split(":", 1)[0] if lines else None
        raise InvalidRequest("Invalid request: " + "; ".join(lines), code="invalid_value",
                             param=first_field) from None


def new_request_id() -> str:
    """Unique and time-ordered: the usage table's request_id index grows at its end instead of
    taking a random page per row. The random bits come from `random` (reseeded in every forked
    child) rather than `secrets`, a system call per request: a request id is no secret."""
    return f"req_{time.time_ns() // 1000:013x}{random.getrandbits(44):011x}"


def assign_request_id():
    g.request_id = (request.headers.get("x-request-id") or "")[:128] or new_request_id()
    g.started = time.monotonic()


def authenticate():
    """Check the key against the permission the matched blueprint needs; open the usage context."""
    app_wide, current = cortex(), request._get_current_object()  # each proxy lookup costs a context lookup
    permission = app_wide.permissions.get(current.blueprint)
    if permission is None:
        return
    key = presented_key(current.headers)
    if key is None and current.path.startswith(QUERY_KEY_SURFACES):
        key = current.args.get("key")
    if key is None and permission != "inference" and sessions.COOKIE_NAME in current.cookies:
        principal = sessions.signed_in(app_wide.keys, current.method,
                                       current.headers.get(sessions.CSRF_HEADER))  # the dashboard's calls
    else:
        principal = app_wide.keys.authenticate(key)
    require_permission(principal, permission)
    g.principal = principal
    if permission == "inference":
        if principal.max_budget_usd is not None or principal.soft_budget_usd is not None:  # Budgets.applies, inline
            app_wide.budgets.check(principal)  # before the request reaches a provider
        path = current.path
        g.call = call = CallContext(request_id=g.request_id, endpoint=path, principal=principal,
                                    inflight=app_wide.inflight.register(current.method, path, principal.name))
        if app_wide.tracer is not None and current.method == "POST":  # a model listing is no GenAI operation
            call.span = app_wide.tracer.start(current.headers.get("traceparent"), current.headers.get("tracestate"))
        app_wide.metrics.request_started()  # InferenceService.record ends it, once per call


def finish_request(response):
    state = g._get_current_object()  # each proxy lookup costs a context lookup
    response.headers["x-request-id"] = state.get("request_id", "")
    call = state.get("call")
    if call is not None:
        call.http_status = response.status_code
        inference = cortex().inference  # the close callback runs outside the app context
        response.call_on_close(lambda: inference.finish(call))
    if log.isEnabledFor(logging.INFO):
        current, principal = request._get_current_object(), state.get("principal")
        route = call.route if call else None
        entry = {
            "request_id": state.get("request_id"), "worker": current_pid(), "method": current.method,
            "path": current.path, "status": response.status_code, "ms": None,  # set as the line is written
            "client": current.remote_addr, "key": principal.name if principal else None,
            "provider": route.provider.name if route else None, "model": route.model if route else None,
        }
        if call is not None and call.dropped:
            entry["dropped"] = call.dropped
        write_line = partial(_write_access_line, entry, state.get("started", time.monotonic()))
        if response.is_streamed:
            response.response = AfterFirstChunk(response.response, write_line)
        else:
            write_line()
    return response


def _write_access_line(entry: dict, started: float) -> None:
    entry["ms"] = round((time.monotonic() - started) * 1000, 2)
    log.info(orjson.dumps(entry).decode())


class AfterFirstChunk:
    """A streamed body as it is, calling `then()` once its first chunk has gone out.

    A stream's access line is written there, so that formatting it (~0.1 ms on a worker that
    was idle) does not delay the first token; its "ms" is then the time to that first chunk.
    A body that ends, or is closed, before a second chunk is asked for calls `then()` on close.
    """

    def __init__(self, chunks, then):
        self._chunks = iter(chunks)
        self._then = then
        self._started = False

    def __iter__(self):
        return self

    def __next__(self):
        if self._started and self._then is not None:
            self._call_then()
        chunk = next(self._chunks)
        self._started = self._started or bool(chunk)  # an empty chunk only sends the headers early
        return chunk

    def close(self):
        if self._then is not None:
            self._call_then()
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()

    def _call_then(self):
        then, self._then = self._then, None
        then()


def _as_cortex_error(exc: Exception) -> CortexError:
    if isinstance(exc, CortexError):
        return exc
    if isinstance(exc, HTTPException):
        if exc.code == 404:
            return NotFound(f"Unknown route: {request.method} {request.path}")
        if exc.code == 405:
            return MethodNotAllowed(f"Method {request.method} is not allowed on {request.path}")
        if exc.code == 413:
            limit = current_app.config.get("MAX_CONTENT_LENGTH")
            return RequestTooLarge(f"Request body exceeds the limit of {limit} bytes")
        if exc.code == 429:
            return RateLimited(f"Rate limit exceeded: {exc.description}")
        if exc.code == 400:
            return InvalidRequest(exc.description or "Bad request")
        return CortexError(exc.description or exc.name, status=exc.code, code=exc.name.lower().replace(" ", "_"))
    if isinstance(exc, STORE_UNAVAILABLE):
        # A database outage is the operator's to fix and the client's to retry: 503, not a 500.
        error_log.warning("store unavailable in request %s: %s", g.get("request_id"), exc)
        return ServiceUnavailable("The store is unavailable; retry shortly", code="store_unavailable",
                                  headers={"Retry-After": "1"})
    error_log.exception("unhandled error in request %s", g.get("request_id"))
    return CortexError("Internal server error")


def handle_error(exc: Exception):
    """The one error handler: the surface's envelope, status and headers; secrets scrubbed."""
    error = _as_cortex_error(exc)
    error.message = scrub(error.message, cortex().config.secrets)
    call = g.get("call")
    if call is not None:
        call.error = error
    surface = surface_of(request.path)
    body = ENVELOPES.get(surface, CortexError.plain_body)(error)
    status = error.anthropic_status if surface == "anthropic" and error.anthropic_status else error.status
    return json_response(body, status, error.headers)
