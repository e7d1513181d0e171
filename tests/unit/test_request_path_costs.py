"""What the request path does instead of system calls and per-item machinery: the cached process
id, cheap time-ordered request ids, the inline message list check and the request bodies' load
(same results and errors as marshmallow's), no session serializer for requests without the session
cookie, log lines' time formatted once a second, and the usage writer's multi-row inserts."""
import logging
import os
import sqlite3

import pytest
from marshmallow import Schema, ValidationError, fields, validate

from flask import Flask, session

from app import sessions, usage
from app.config import StorageConfig
from app.db import Store
from app.factory import LogFormatter
from app.inference import CallContext
from app.process import current_pid
from app.web import AfterFirstChunk, new_request_id
from schemas import anthropic, gemini, openai, responses
from schemas.body import RequestBodySchema
from schemas.fields import Message, Messages


def in_child(work) -> str:
    """`work()`'s string result, computed in a forked child."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.write(write_end, work().encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as output:
        result = output.read()
    assert os.waitpid(pid, 0)[1] == 0
    return result


def test_current_pid_follows_a_fork():
    assert current_pid() == os.getpid()
    child_pid, child_says = in_child(lambda: f"{os.getpid()} {current_pid()}").split()
    assert child_says == child_pid != str(os.getpid())
    assert current_pid() == os.getpid()


def test_request_ids_are_unique_and_time_ordered_also_across_a_fork():
    ids = [new_request_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    stamps = [i[4:17] for i in ids]  # microseconds: ids of one microsecond differ in random bits only
    assert stamps == sorted(stamps) and stamps[0] < stamps[-1]
    assert all(i.startswith("req_") and len(i) == 28 for i in ids)
    child_ids = set(in_child(lambda: " ".join(new_request_id() for _ in range(200))).split())
    assert len(child_ids) == 200
    assert not child_ids & {new_request_id() for _ in range(200)}


CASES = [
    [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yes"}],
    [], None, "text", {"role": "user"}, 3,
    [None], [1, "x", [], {}], [{"role": "robot", "content": "x"}], [{"role": "user"}], [{"role": 7, "content": "x"}],
    [{"role": "user", "content": "ok"}, None, {"content": "no role"}, {"role": "system", "content": "x"}],
]


@pytest.mark.parametrize("content_required", [False, True])
@pytest.mark.parametrize("messages", CASES)
def test_messages_field_answers_as_a_list_of_message_fields(messages, content_required):
    listed = fields.List(Message(content_required), required=True, validate=validate.Length(min=1))
    inline = Messages(content_required, required=True)

    def outcome(field):
        try:
            return "loaded", field.deserialize(messages)
        except ValidationError as error:
            return "error", error.messages

    assert outcome(inline) == outcome(listed)


CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
BODIES = [
    (openai.CHAT_COMPLETION_REQUEST, CHAT),
    (openai.CHAT_COMPLETION_REQUEST, {**CHAT, "stream": True, "temperature": 1, "max_tokens": 5, "seed": 7,
                                      "tools": [{"type": "function"}], "stream_options": {"include_usage": True}}),
    (openai.CHAT_COMPLETION_REQUEST, {"messages": CHAT["messages"]}),                    # required field missing
    (openai.CHAT_COMPLETION_REQUEST, {**CHAT, "stream": "true", "n": 0, "top_p": 3}),    # three wrong fields
    (openai.CHAT_COMPLETION_REQUEST, {**CHAT, "max_tokens": True, "temperature": None}),
    (openai.CHAT_COMPLETION_REQUEST, {**CHAT, "messages": [{"content": "no role"}]}),
    (openai.CHAT_COMPLETION_REQUEST, ["not", "an", "object"]),
    (openai.EMBEDDING_REQUEST, {"model": "e", "input": [[1, 2], [3]], "dimensions": 8}),
    (openai.EMBEDDING_REQUEST, {"model": "e", "input": ""}),
    (openai.TRANSCRIPTION_REQUEST, {"model": "w", "include[]": ["logprobs"], "temperature": "0.2"}),  # data_key
    (openai.TRANSCRIPTION_REQUEST, {"model": "w", "timestamp_granularities[]": ["line"]}),
    (anthropic.MESSAGES_REQUEST, {**CHAT, "max_tokens": 10, "top_k": 3, "stop_sequences": ["x"]}),
    (anthropic.MESSAGES_REQUEST, {**CHAT, "max_tokens": 10, "stop_sequences": [1]}),
    (anthropic.COUNT_TOKENS_REQUEST, {**CHAT, "thinking": {"type": "enabled"}}),
    (gemini.GENERATE_CONTENT_REQUEST, {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
    (gemini.GENERATE_CONTENT_REQUEST, {"contents": [{"role": "robot", "parts": []}]}),
    (gemini.COUNT_TOKENS_REQUEST, {}),
    (responses.RESPONSE_CREATE_REQUEST, {"model": "m", "input": "hi", "store": False, "metadata": {"a": "b"}}),
    (responses.RESPONSE_CREATE_REQUEST, {"model": "m", "input": 5, "metadata": {"a": 1}}),
]


@pytest.mark.parametrize("schema, body", BODIES)
def test_request_bodies_load_as_marshmallow_loads_them(schema, body):
    def outcome(load):
        try:
            return "loaded", load(body)
        except ValidationError as error:
            return "error", error.messages

    assert outcome(schema.load) == outcome(lambda data: Schema.load(schema, data))


def test_a_request_body_schema_with_a_default_is_refused():
    class WithDefault(RequestBodySchema):
        alt = fields.String(load_default="json")

    with pytest.raises(TypeError, match="alt"):
        WithDefault()


def test_usage_batches_are_inserted_whole_and_in_order_across_statements(tmp_path):
    store = Store(StorageConfig(f"sqlite:///{tmp_path}/u.db", "", ""))
    plain = CallContext(request_id="", endpoint="/v1/chat/completions").usage_fields()
    batch = [{**plain, "request_id": f"r{i:03}"} for i in range(usage.ROWS_PER_INSERT * 2 + 7)]
    batch[5] = {key: value for key, value in batch[5].items() if key != "audio_seconds"}  # another column set
    with store.database.connection_context(), store.database.atomic():
        usage._insert_usage(store.database, batch)
    with sqlite3.connect(tmp_path / "u.db") as connection:
        stored = [r[0] for r in connection.execute("SELECT request_id FROM usage_records ORDER BY id")]
    assert sorted(stored) == [record["request_id"] for record in batch]
    assert [r for r in stored if r != "r005"] == [record["request_id"] for record in batch if record is not batch[5]]
    store.close()


@pytest.mark.parametrize("chunks, taken, events", [
    # the line comes once the first chunk has gone out: when the second is asked for
    (["a", "b", "c"], 3, ["gave a", "line", "gave b", "gave c", "closed"]),
    (["a", "b"], 1, ["gave a", "line", "closed"]),  # the client left after the first chunk
    (["a"], 0, ["line"]),                           # closed before any chunk was asked for
    ([], 1, ["closed", "line"]),                    # an empty body
    # a relay's leading empty chunk only sends the headers early: the line waits for the first token
    (["", "a", "b"], 3, ["gave ", "gave a", "line", "gave b", "closed"]),
], ids=["whole-stream", "left-after-first", "never-iterated", "empty", "headers-first"])
def test_a_streams_access_line_waits_for_its_first_chunk(chunks, taken, events):
    seen = []

    def body():
        try:
            for chunk in chunks:
                seen.append(f"gave {chunk}")
                yield chunk
        finally:
            seen.append("closed")

    stream = AfterFirstChunk(body(), lambda: seen.append("line"))
    received = [chunk for _, chunk in zip(range(taken), stream)]
    stream.close()
    assert received == chunks[:taken] and seen == events


def test_log_lines_read_as_with_loggings_own_formatter():
    ours, logging_own = (cls("%(asctime)s %(levelname)s %(message)s") for cls in (LogFormatter, logging.Formatter))
    for created in (0.0, 1.999, 1_700_000_000.5, 1_700_000_000.001, 1_700_000_001.25, 1_700_000_000.75):
        record = logging.makeLogRecord({"msg": "line", "levelname": "INFO", "created": created,
                                        "msecs": (created - int(created)) * 1000})
        assert ours.format(record) == logging_own.format(record)


def test_a_request_without_the_session_cookie_builds_no_serializer_and_sessions_still_work(monkeypatch):
    app = Flask(__name__)
    sessions.init_app(app, b"k" * 32)
    app.add_url_rule("/api", "api", lambda: "ok")
    app.add_url_rule("/sign-in", "sign_in", lambda: session.update(key="id-1") or "in")
    app.add_url_rule("/who", "who", lambda: session.get("key", "nobody"))
    build = app.session_interface.get_signing_serializer
    serializers = []
    monkeypatch.setattr(app.session_interface, "get_signing_serializer",
                        lambda flask_app: serializers.append(1) or build(flask_app))
    client = app.test_client()

    api = client.get("/api", headers={"Cookie": "other=1"})
    assert api.text == "ok" and "Set-Cookie" not in api.headers and "Vary" not in api.headers
    assert serializers == []
    signed_in = client.get("/sign-in")
    assert signed_in.headers["Set-Cookie"].startswith(f"{sessions.COOKIE_NAME}=")
    assert client.get("/who").text == "id-1"  # the cookie is read back
    assert app.test_client().get("/who").text == "nobody"
