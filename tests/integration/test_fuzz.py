"""Bad input and abuse, against a real Cortex (2 gevent workers) in front of a healthy mock.

Schemathesis generates requests for every operation of the `/openapi.json` Cortex serves —
valid ones and deliberately invalid ones — and Hypothesis generates chat bodies for real
models on both surfaces. Every answer must be free of server errors (a healthy upstream
only ever rejects a request, which is passed on with its own 4xx status) and every error
must use the envelope of its surface. Hand-written cases cover what a schema cannot express: oversized bodies and
headers, slow uploads, bytes that are not UTF-8, deep nesting and huge counts.
"""
import socket
import threading
import time

import orjson
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck as HypothesisHealthCheck
from hypothesis import given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance
from schemathesis.config import HealthCheck

from tests.cortex_server import ADMIN_KEY, base_config

EXAMPLES_PER_OPERATION = 15
CHAT_EXAMPLES = 60
MAX_BODY_MB = 1
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
CLAUDE = "claude-3-5-sonnet-20241022"
SURFACES = {"openai": "/v1/chat/completions", "anthropic": "/anthropic/v1/messages"}
SLOW_CLIENTS = 50
NORMAL_REQUESTS = 10
TRICKLE_PAUSE_SECS = 0.05


def abuse_config(mock_url, db_path) -> dict:
    config = base_config(mock_url, db_path)
    config["server"]["max_body_mb"] = MAX_BODY_MB
    return config


@pytest.fixture(scope="module")
def fuzzed(start_cortex):
    return start_cortex(abuse_config)


def assert_envelope(path: str, response) -> None:
    """An error body in the envelope of the route's surface (DESIGN.md, Errors)."""
    body = response.json()
    if path.startswith("/anthropic/"):
        assert body["type"] == "error" and isinstance(body["error"]["type"], str), body
        assert isinstance(body["error"]["message"], str), body
    elif path.startswith("/gemini/"):
        error = body["error"]
        assert set(error) == {"code", "message", "status"} and error["code"] == response.status_code, body
        assert isinstance(error["message"], str) and error["status"].isupper(), body
    else:
        error = body["error"]
        assert all(isinstance(error[field], str) for field in ("message", "type", "code")), body
        assert "param" in error and (error["param"] is None or isinstance(error["param"], str)), body


def assert_served_cleanly(path: str, response) -> None:
    """No server error; a provider rejecting what it was sent is passed on with its own status."""
    if response.status_code >= 400:
        assert_envelope(path, response)
    assert response.status_code < 500, response.text
    code = (response.json().get("error") or {}).get("code") if response.status_code >= 400 else None
    if isinstance(code, str) and code.startswith("upstream_"):
        assert code == f"upstream_{response.status_code}", response.text


# --- every operation of the OpenAPI document ---------------------------------------------------

@pytest.fixture(scope="module")
def api_schema(fuzzed):
    schema = schemathesis.openapi.from_url(fuzzed.url + "/openapi.json")
    schema.config.update(base_url=fuzzed.url, headers=ADMIN, suppress_health_check=list(HealthCheck))
    schema.config.generation.update(modes=list(GenerationMode), max_examples=EXAMPLES_PER_OPERATION,
                                    deterministic=True)
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schemathesis.check
def error_in_its_envelope(ctx, response, case):
    if response.status_code >= 400:
        assert_envelope(case.path, response)


@schema.parametrize()
def test_every_operation_answers_without_server_errors_in_its_envelope(case):
    response = case.call(timeout=30)
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance,
                                             error_in_its_envelope])


def test_the_fuzz_reached_every_operation(fuzzed, api_schema):
    """The generated traffic covered each documented route (and so ran its few hundred cases)."""
    served = {(entry["method"], entry["path"]) for entry in fuzzed.access_log()}
    operations = [operation for result in api_schema.get_all_operations() if (operation := result.ok())]
    for operation in operations:
        prefix = operation.path.split("{")[0]
        assert any(method == operation.method.upper() and path.startswith(prefix) for method, path in served), \
            operation.label
    assert len(fuzzed.access_log()) >= len(operations) * EXAMPLES_PER_OPERATION // 2


# --- chat bodies for real models: the translation code under odd input -----------------------------

json_leaves = st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1) | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(json_leaves, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
content = st.text() | st.lists(st.fixed_dictionaries({"type": st.sampled_from(["text", "image", "image_url",
                                                                                "tool_use", "tool_result", "x"])},
                                                    optional={"text": json_values, "content": json_values,
                                                              "image_url": json_values, "source": json_values,
                                                              "input": json_values, "id": st.text()}), max_size=3)
messages = st.lists(st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "system", "tool"]),
                                           "content": content},
                                          optional={"tool_calls": json_values, "tool_call_id": json_values}),
                    min_size=1, max_size=4)
chat_bodies = st.fixed_dictionaries(
    {"model": st.sampled_from(["gpt-4o", CLAUDE]), "messages": messages, "max_tokens": st.integers(1, 2**63 - 1)},
    optional={"stream": st.booleans(), "temperature": st.floats(0, 1), "n": st.integers(1, 128),
              "tools": json_values, "tool_choice": json_values, "system": json_values,
              "stop": json_values, "stop_sequences": json_values, "thinking": json_values,
              "reasoning_effort": json_values, "stream_options": json_values, "metadata": json_values})


@pytest.mark.parametrize("surface", SURFACES)
def test_chat_bodies_never_cause_a_server_error(fuzzed, surface):
    path = SURFACES[surface]
    session = requests.Session()

    @settings(max_examples=CHAT_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HypothesisHealthCheck))
    @given(body=chat_bodies)
    def post(body):
        response = session.post(fuzzed.url + path, headers=ADMIN, data=orjson.dumps(body), timeout=30)
        response.content  # a stream is read to its end  # noqa: B018
        assert_served_cleanly(path, response)
        if response.status_code == 200 and body.get("stream"):
            assert response.headers["Content-Type"].startswith("text/event-stream")

    post()


# --- oversized bodies and headers -----------------------------------------------------------------

def raw_exchange(server, request: bytes, timeout: float = 10) -> bytes:
    """Send raw bytes on a fresh connection; everything the server answers before closing."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("headers, params, status", [
    ({"X-Padding": "a" * 100_000}, None, 431),                          # one 100 KB header
    ({f"X-Header-{i}": "x" for i in range(200)}, None, 431),            # too many headers
    ({}, {"q": "b" * 10_000}, 414),                                     # a 10 KB request line
], ids=["huge-header", "many-headers", "long-url"])
def test_oversized_headers_get_a_clean_4xx_from_gunicorn(fuzzed, headers, params, status):
    response = requests.get(fuzzed.url + "/v1/models", headers={**ADMIN, **headers, "Connection": "close"},
                            params=params, timeout=10)
    assert response.status_code == status
    assert requests.get(fuzzed.url + "/health", timeout=10).status_code == 200


@pytest.mark.parametrize("surface", SURFACES)
def test_a_declared_oversized_body_is_refused_before_it_is_sent(fuzzed, surface):
    head = (f"POST {SURFACES[surface]} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_KEY}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {10**9}\r\nConnection: close\r\n\r\n").encode()
    answer = raw_exchange(fuzzed, head)  # the gigabyte never comes: the answer must not wait for it
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.split()[1] == b"413"
    body = rest.split(b"\r\n\r\n", 1)[1]
    error = orjson.loads(body)["error"]
    assert (error["type"] == "request_too_large") if surface == "anthropic" else (error["code"] == "request_too_large")


def test_a_chunked_body_over_the_limit_is_413(fuzzed):
    def chunks():
        for _ in range(MAX_BODY_MB * 16 + 1):
            yield b" " * 65536

    response = requests.post(fuzzed.url + "/v1/chat/completions", data=chunks(), timeout=30,
                             headers={**ADMIN, "Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["error"]["code"] == "request_too_large"


# --- slow uploads ---------------------------------------------------------------------------------

def test_slow_uploads_do_not_block_other_clients(fuzzed, mock):
    """Slow-loris style clients trickle their bodies; normal requests are served meanwhile, and a
    trickled body is still served once complete."""
    body = orjson.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "slowly but surely"}]})
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_KEY}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    slow = [socket.create_connection(("127.0.0.1", fuzzed.port), timeout=10) for _ in range(SLOW_CLIENTS)]
    try:
        for sock in slow:
            sock.sendall(head + body[:1])  # headers and one byte, then (almost) nothing
        trickled = {}

        def trickle(sock):
            for byte in body[1:]:
                sock.sendall(bytes([byte]))
                time.sleep(TRICKLE_PAUSE_SECS)
            trickled["answer"] = b"".join(iter(lambda: sock.recv(65536), b""))

        trickler = threading.Thread(target=trickle, args=(slow[0],), daemon=True)
        trickler.start()
        client = fuzzed.openai(default_headers={"Connection": "close"})
        for _ in range(NORMAL_REQUESTS):
            reply = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "quick"}])
            assert reply.choices[0].message.content == "echo: quick"
        assert trickler.is_alive(), "the normal requests were served while a body was still trickling in"
        trickler.join(30)
        assert trickled["answer"].startswith(b"HTTP/1.1 200")
        assert b"echo: slowly but surely" in trickled["answer"]
    finally:
        for sock in slow:
            sock.close()


# --- bytes that are not UTF-8, deep nesting, huge counts ---------------------------------------------

@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("raw", [
    b'{"model": "gpt-4o", "max_tokens": 5, "messages": [{"role": "user", "content": "\xff\xfe\xc0"}]}',
    b'{"model": "gpt-4o", "max_tokens": 5, "messages": [{"role": "user", "content": "\\ud800 lone surrogate"}]}',
    b'\xef\xbb\xbf{"model": "gpt-4o", "max_tokens": 5, "messages": []}',  # a byte-order mark
    b'{"model": "gpt-4o", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]' + b" " * 1000 + b"\x00",
], ids=["invalid-utf8", "lone-surrogate", "bom", "trailing-nul"])
def test_bytes_that_are_not_valid_json_text_are_400(fuzzed, surface, raw):
    response = requests.post(fuzzed.url + SURFACES[surface], data=raw, timeout=10,
                             headers={**ADMIN, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert_envelope(SURFACES[surface], response)


def test_bytes_that_are_not_utf8_in_headers_and_query_strings(fuzzed):
    request = (b"GET /usage?api_key=%ff%fe&model=\xff HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
               + ADMIN_KEY.encode() + b"\r\nx-request-id: \xff\xfe-id\r\nConnection: close\r\n\r\n")
    answer = raw_exchange(fuzzed, request)
    assert int(answer.split()[1]) < 500, answer[:300]
    wrong_key = b"GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\xc0\r\nConnection: close\r\n\r\n"
    answer = raw_exchange(fuzzed, wrong_key)
    assert answer.split()[1] == b"401"


@pytest.mark.parametrize("depth", [300, 5_000, 400_000])
@pytest.mark.parametrize("surface", SURFACES)
def test_deeply_nested_json_is_400_and_the_worker_lives(fuzzed, surface, depth):
    """orjson parses ~1000 levels and encodes ~250: deeper bodies are refused (orjson before
    3.9.15 parsed without a limit, and 400 000 levels crashed the worker with a stack overflow)."""
    pids = fuzzed.worker_pids()
    nested = b"[" * depth + b"]" * depth
    raw = b'{"model": "gpt-4o", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "vendor": ' \
          + nested + b"}"
    response = requests.post(fuzzed.url + SURFACES[surface], data=raw, timeout=30,
                             headers={**ADMIN, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert_envelope(SURFACES[surface], response)
    assert "nested too deeply" in response.text or "depth limit" in response.text
    assert fuzzed.worker_pids() == pids, "no worker died"
    reasonable = raw.replace(nested, b"[" * 100 + b"]" * 100)
    assert requests.post(fuzzed.url + SURFACES[surface], data=reasonable, timeout=10, headers=ADMIN).status_code == 200


@pytest.mark.parametrize("surface, model", [("openai", "gpt-4o"), ("openai", CLAUDE), ("anthropic", "gpt-4o")],
                         ids=["passthrough", "to-anthropic", "to-openai"])
def test_huge_counts_are_passed_through_untouched(fuzzed, mock, surface, model):
    """Cortex allocates nothing per requested token or choice: the numbers go to the provider."""
    huge = 2**63 - 1
    body = {"model": model, "max_tokens": huge, "messages": [{"role": "user", "content": "count"}]}
    if surface == "openai":
        body["n"] = 128
    response = requests.post(fuzzed.url + SURFACES[surface], json=body, headers=ADMIN, timeout=10)
    assert response.status_code == 200
    sent = mock.requests[-1].json
    assert sent["max_tokens"] == huge
    if surface == "openai" and model == "gpt-4o":
        assert sent["n"] == 128


@pytest.mark.parametrize("field, value", [("n", b"129"), ("n", b"0"), ("max_tokens", b"0"),
                                          ("max_tokens", b"1000000000000000000000000000000"), ("n", b"1.5")])
def test_counts_out_of_range_are_400(fuzzed, field, value):
    raw = b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "%s": %s}' % (field.encode(), value)
    response = requests.post(fuzzed.url + SURFACES["openai"], data=raw, timeout=10,
                             headers={**ADMIN, "Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["param"] == field
