"""The Responses API service: `/v1/responses` on top of the inference service, and its state.

A request reaches its provider through `InferenceService.chat` with the client format
"responses": passed through to an OpenAI-type provider that serves the API natively (which
keeps its own state), translated through the hub to any other. When translated, Cortex keeps
the state the API promises:

* `store` (default true): the response, its input items and the conversation before them are
  written to the store before the client sees the response complete, so that a
  `previous_response_id` sent right after it, to any worker, finds it. The write runs in
  gevent's thread pool (`off_hub`), never on the hub; rows expire after
  `storage.responses_retention_days` and are purged in the background.
* `previous_response_id`: the stored conversation, input and output are put in front of the
  new input; only the key that created a response can read, chain or delete it (another key
  gets the same 404 as for an unknown id). An id Cortex does not hold goes to a native provider
  as it is, and is a 404 when the request would be translated.

Passed through to a native provider, a stored response stays there; Cortex notes its id, the key
and the provider (same write), so that `GET`/`DELETE /v1/responses/{id}` and `input_items` are
asked of that provider, for the key that created it only.
"""
import logging
import re
import time
import uuid
from functools import partial
from urllib.parse import quote, urlencode

import gevent
import orjson

from app.db import StoredResponse
from app.errors import InvalidRequest, NotFound
from app.inference import CallContext, InferenceResult
from app.providers import UpstreamCall
from app.relay import parse_event
from app.shaping import upstream_format
from app.translate.openai_responses.request import input_items, request_to_hub
from app.usage import STORE_ERRORS, off_hub

log = logging.getLogger("cortex.responses")

PURGE_INTERVAL_SECS = 600.0
RESPONSE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")  # what the stored_responses key column holds
SECONDS_PER_DAY = 86400
_ITEM_ID_PREFIXES = {"message": "msg", "function_call": "fc", "function_call_output": "fco",
                     "custom_tool_call": "ctc", "custom_tool_call_output": "ctco", "reasoning": "rs"}
_COMPLETED_EVENT = b"event: response.completed"
COMPACTION_PROMPT = ("Summarize the conversation so far for your own later use: the task, what was done, the "
                     "decisions and their reasons, the state of the work and what remains. Keep names, paths, "
                     "commands and figures exactly. Answer with the summary only.")


def _with_id(item: dict) -> dict:
    if item.get("id"):
        return item
    kind = item.get("type") or "message"
    return {**item, "id": f"{_ITEM_ID_PREFIXES.get(kind, 'item')}_{uuid.uuid4().hex}", "type": kind}


def _not_found(response_id: str) -> NotFound:
    return NotFound(f"Response with id '{response_id}' not found.", param="response_id")


class ResponseStore:
    """Stored responses: one row each, read by primary key, written in the thread pool."""

    def __init__(self, store, retention_days: float):
        self._store = store
        self._retention_secs = retention_days * SECONDS_PER_DAY
        self._purger = None

    def _query(self, call, *args):
        def run():
            with self._store.database.connection_context():
                return call(*args)
        return off_hub(run)

    def lookup(self, response_id: str) -> StoredResponse | None:
        """The unexpired row of `response_id`, whoever's it is (none for what no id looks like:
        PostgreSQL rejects a NUL in a query, and no provider's ids hold one)."""
        if not isinstance(response_id, str) or not RESPONSE_ID.match(response_id):
            return None
        return self._query(lambda: StoredResponse.get_or_none((StoredResponse.id == response_id)
                                                              & (StoredResponse.expires_at > time.time())))

    def get(self, response_id: str, principal) -> StoredResponse | None:
        row = self.lookup(response_id)
        return row if row is not None and row.api_key_name == principal.name else None

    def require(self, response_id: str, principal) -> StoredResponse:
        row = self.get(response_id, principal)
        if row is None:
            raise _not_found(response_id)
        return row

    def put(self, principal, response: dict, conversation: list, own_input: list, provider: str = "") -> None:
        """Store a response (`provider`: the native provider that keeps it, then only its id is
        kept here); a store outage is logged, not raised: the client still gets the answer it paid
        for, only reading or chaining it will fail."""
        try:
            self._put(principal, response, conversation, own_input, provider)
        except STORE_ERRORS as exc:
            log.warning("could not store response %s: %s", response.get("id"), type(exc).__name__)

    def _put(self, principal, response: dict, conversation: list, own_input: list, provider: str) -> None:
        now = time.time()
        row = {"id": response["id"], "api_key_name": principal.name, "created_at": now,
               "expires_at": now + self._retention_secs, "conversation": orjson.dumps(conversation).decode(),
               "input_items": orjson.dumps(own_input).decode(), "response": orjson.dumps(response).decode(),
               "provider": provider}
        self._query(lambda: StoredResponse.insert(row).on_conflict_replace().execute())
        if self._purger is None:
            self._purger = gevent.spawn(self._purge_forever)

    def delete(self, response_id: str, principal) -> None:
        self.require(response_id, principal)
        self._query(lambda: StoredResponse.delete().where(StoredResponse.id == response_id).execute())

    def _purge_forever(self):
        while True:
            gevent.sleep(PURGE_INTERVAL_SECS)
            try:
                self._query(lambda: StoredResponse.delete().where(StoredResponse.expires_at <= time.time()).execute())
            except STORE_ERRORS as exc:
                log.warning("could not purge stored responses: %s", type(exc).__name__)

    def close(self):
        if self._purger is not None:
            self._purger.kill(block=False)


class ResponsesService:
    def __init__(self, inference, store: ResponseStore):
        self.inference = inference
        self.store = store

    def _prior_items(self, ctx: CallContext, body: dict) -> list:
        """The conversation a `previous_response_id` stands for ([] when there is none or the
        id is left to a native provider)."""
        previous_id = body.get("previous_response_id")
        if not previous_id:
            return []
        row = self.store.lookup(previous_id)
        if row is None and self._native(body.get("model")):
            return []  # not one Cortex saw: the provider decides
        if row is None or row.api_key_name != ctx.principal.name:
            raise NotFound(f"Previous response with id '{previous_id}' not found.", param="previous_response_id")
        if row.provider and self._native(body.get("model")):
            return []  # kept by the provider, which rebuilds the conversation itself
        if row.provider:
            raise InvalidRequest(f"Response '{previous_id}' is kept by provider '{row.provider}': continue it with a "
                                 "model that provider serves natively, or send the conversation as input",
                                 code="previous_response_elsewhere", param="previous_response_id")
        response = orjson.loads(row.response)
        return orjson.loads(row.conversation) + orjson.loads(row.input_items) + response.get("output", [])

    def _native(self, model) -> bool:
        """Whether the model's first route takes Responses requests as they are."""
        routes = self.inference.router.resolve(model).routes
        if not routes:
            return False
        route = routes[0]
        wire_format = self.inference.adapters[route.provider.name].wire_format
        return upstream_format(route.provider, route.model, "responses", wire_format) == "responses"

    def create(self, ctx: CallContext, body: dict, client_headers: dict) -> InferenceResult:
        own_input = [_with_id(item) for item in input_items(body.get("input"))]
        prior = self._prior_items(ctx, body)
        if prior:  # the conversation travels whole: a native provider must not look the id up again
            body = {**{key: value for key, value in body.items() if key != "previous_response_id"},
                    "input": prior + own_input}
        result = self.inference.chat(ctx, body, "responses", client_headers)
        if body.get("store") is False or ctx.cached:
            return result
        if ctx.upstream_format == "responses":  # the provider keeps it: Cortex notes whose it is, and where
            keep = partial(self._note_native, ctx.principal, ctx.route.provider.name)
        else:
            keep = partial(self.store.put, ctx.principal, conversation=prior, own_input=own_input)
        if result.stream is None:
            keep(result.body)
            return result
        return InferenceResult(stream=self._storing(result.stream, keep), headers=result.headers)

    def _note_native(self, principal, provider: str, response: dict) -> None:
        self.store.put(principal, {"id": response["id"]}, [], [], provider)

    @staticmethod
    def _storing(stream, keep):
        """The stream as it is; the completed response is stored before its event goes out."""
        try:
            for chunk in stream:
                if _COMPLETED_EVENT in chunk:
                    for raw in chunk.split(b"\n\n"):
                        if raw.startswith(_COMPLETED_EVENT):
                            keep(orjson.loads(parse_event(raw)[1])["response"])
                yield chunk
        finally:
            stream.close()

    def _at_provider(self, row: StoredResponse, method: str, path: str) -> dict:
        """The provider that keeps a response answers for it (its id checked against the key first)."""
        adapter = self.inference.adapters.get(row.provider)
        if adapter is None:  # the provider left the configuration
            raise _not_found(row.id)
        return adapter.send(UpstreamCall(path=path, method=method)).body

    def retrieve(self, ctx: CallContext, response_id: str) -> dict:
        row = self.store.require(response_id, ctx.principal)
        if row.provider:
            return self._at_provider(row, "GET", f"/responses/{quote(response_id)}")
        return orjson.loads(row.response)

    def delete(self, ctx: CallContext, response_id: str) -> dict:
        row = self.store.require(response_id, ctx.principal)
        if row.provider:
            self._at_provider(row, "DELETE", f"/responses/{quote(response_id)}")
        self.store.delete(response_id, ctx.principal)
        return {"id": response_id, "object": "response", "deleted": True}

    def input_items(self, ctx: CallContext, response_id: str, query: dict) -> dict:
        row = self.store.require(response_id, ctx.principal)
        if row.provider:
            params = urlencode({key: value for key, value in query.items() if key != "include" and value is not None})
            return self._at_provider(row, "GET", f"/responses/{quote(response_id)}/input_items?{params}")
        items = orjson.loads(row.input_items)
        if query["order"] == "desc":
            items.reverse()
        if query.get("after"):
            ids = [item.get("id") for item in items]
            items = items[ids.index(query["after"]) + 1:] if query["after"] in ids else []
        page = items[:query["limit"]]
        return {"object": "list", "data": page, "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None, "has_more": len(items) > len(page)}

    def input_tokens(self, ctx: CallContext, body: dict, client_headers: dict) -> dict:
        """Counted by an Anthropic-type provider, else estimated (as `count_tokens`)."""
        hub = request_to_hub({**body, "input": self._prior_items(ctx, body) + input_items(body.get("input"))}, [])
        hub = {key: hub[key] for key in ("model", "messages", "system", "tools", "thinking") if key in hub}
        counted = self.inference.count_tokens(ctx, hub, client_headers)
        return {"object": "response.input_tokens", "input_tokens": counted["input_tokens"]}

    def compact(self, ctx: CallContext, body: dict, client_headers: dict) -> dict:
        """The conversation shortened to a summary the model writes of it (Codex's /compact).

        The output keeps the user's messages and replaces the rest by one assistant message
        carrying the summary; the client sends it as the input of its next request.
        """
        items = self._prior_items(ctx, body) + input_items(body.get("input"))
        request = {key: body[key] for key in ("model", "instructions", "reasoning", "metadata") if body.get(key)}
        request.update(input=items + [{"type": "message", "role": "user", "content": COMPACTION_PROMPT}],
                       store=False, stream=False)
        answer = self.inference.chat(ctx, request, "responses", client_headers).body
        summary = "".join(part.get("text", "") for item in answer.get("output", []) if item.get("type") == "message"
                          for part in item.get("content", []) if part.get("type") == "output_text")
        kept = [_with_id(item) for item in items if item.get("type", "message") == "message"
                and item.get("role") == "user"]
        summary_item = _with_id({"type": "message", "role": "assistant",
                                 "content": [{"type": "output_text", "text": summary, "annotations": []}]})
        return {"id": answer.get("id"), "object": "response.compaction", "created_at": answer.get("created_at"),
                "output": kept + [summary_item], "usage": answer.get("usage")}
