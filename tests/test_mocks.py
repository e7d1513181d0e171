"""Self-test of the mock upstream, driven by the official OpenAI and Anthropic SDKs."""

from __future__ import annotations

import base64
import json
import re
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import anthropic
import openai
import pytest
import requests

from tests.mocks import (
    Fail,
    Malformed,
    MockUpstream,
    Reply,
    ResetConnection,
    ResetMidStream,
    Stall,
    Stream,
)
from tests.mocks.openai_wire import chat_completion_chunks, embedding_vector

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}},
    },
}
CLAUDE_MODEL = "claude-test-model"  # a name the SDK has no deprecation warning for
CLAUDE_WEATHER_TOOL = {"name": "get_weather", "input_schema": WEATHER_TOOL["function"]["parameters"]}


@pytest.fixture(scope="module")
def shared_mock():
    with MockUpstream() as mock:
        yield mock


@pytest.fixture
def mock(shared_mock):
    shared_mock.reset()
    return shared_mock


@pytest.fixture
def oai(mock):
    return openai.OpenAI(base_url=mock.openai_url, api_key="sk-test", max_retries=0, timeout=5)


@pytest.fixture
def claude(mock):
    return anthropic.Anthropic(base_url=mock.url, api_key="sk-ant-test", max_retries=0, timeout=5)


def ask(client: openai.OpenAI, text: str = "hello mock", **kwargs):
    return client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": text}], **kwargs)


def ask_claude(client: anthropic.Anthropic, text: str = "hello mock", **kwargs):
    return client.messages.create(
        model=CLAUDE_MODEL, max_tokens=64, messages=[{"role": "user", "content": text}], **kwargs
    )


def wait_until(condition, timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


# --- OpenAI chat ------------------------------------------------------------------------------


def test_chat_completion_echoes_last_user_message(oai, mock):
    completion = ask(oai, "what is the capital of France")

    assert completion.choices[0].message.content == "echo: what is the capital of France"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "gpt-4o-mini"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (6, 7)
    recorded = mock.requests_to("/v1/chat/completions")[0]
    assert recorded.json["messages"][0]["content"] == "what is the capital of France"
    assert recorded.headers["AUTHORIZATION"] == "Bearer sk-test"
    assert recorded.api_key == "sk-test"


def test_chat_completion_calls_first_tool_then_answers_the_tool_result(oai):
    question = [{"role": "user", "content": "weather?"}]
    first = oai.chat.completions.create(model="gpt-4o", messages=question, tools=[WEATHER_TOOL])
    call = first.choices[0].message.tool_calls[0]
    assert first.choices[0].finish_reason == "tool_calls"
    assert (call.function.name, json.loads(call.function.arguments)) == ("get_weather", {"location": "Paris"})

    follow_up = question + [
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
    ]
    second = oai.chat.completions.create(model="gpt-4o", messages=follow_up, tools=[WEATHER_TOOL])
    assert second.choices[0].message.content == "echo: sunny"

    no_tools = oai.chat.completions.create(model="gpt-4o", messages=question, tools=[WEATHER_TOOL], tool_choice="none")
    assert no_tools.choices[0].message.content == "echo: weather?"


def test_chat_stream_text_one_chunk_per_word_with_usage_chunk(oai):
    chunks = list(ask(oai, "one two three", stream=True, stream_options={"include_usage": True}))

    contents = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert contents == ["echo:", " one", " two", " three"]
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 4


def test_chat_stream_without_include_usage_has_no_usage_chunk(oai):
    chunks = list(ask(oai, stream=True))

    assert all(chunk.choices and chunk.usage is None for chunk in chunks)


def test_chat_stream_helper_assembles_text_and_tool_call(oai):
    messages = [{"role": "user", "content": "hi there"}]
    with oai.chat.completions.stream(model="gpt-4o", messages=messages) as stream:
        assert stream.get_final_completion().choices[0].message.content == "echo: hi there"

    with oai.chat.completions.stream(model="gpt-4o", messages=messages, tools=[WEATHER_TOOL]) as stream:
        message = stream.get_final_completion().choices[0].message
    assert message.tool_calls[0].function.name == "get_weather"
    assert json.loads(message.tool_calls[0].function.arguments) == {"location": "Paris"}


def test_azure_deployment_path(mock):
    azure = openai.AzureOpenAI(azure_endpoint=mock.url, api_key="azure-key", api_version="2024-10-21", max_retries=0)

    completion = azure.chat.completions.create(model="my-deployment", messages=[{"role": "user", "content": "hi"}])

    assert completion.choices[0].message.content == "echo: hi"
    recorded = mock.requests[0]
    assert recorded.path == "/openai/deployments/my-deployment/chat/completions"
    assert (recorded.deployment, recorded.query["api-version"]) == ("my-deployment", "2024-10-21")
    assert recorded.headers["api-key"] == "azure-key"


# --- Anthropic messages -------------------------------------------------------------------------


def test_message_echoes_and_records_anthropic_headers(claude, mock):
    message = ask_claude(claude, "hello from the test", system="be brief")

    assert message.content[0].text == "echo: hello from the test"
    assert message.stop_reason == "end_turn"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (6, 5)
    recorded = mock.requests_to("/v1/messages")[0]
    assert recorded.headers["anthropic-version"]
    assert recorded.api_key == "sk-ant-test"


def test_message_tool_use_then_text_after_tool_result(claude):
    question = [{"role": "user", "content": "weather?"}]
    first = claude.messages.create(model=CLAUDE_MODEL, max_tokens=64, messages=question, tools=[CLAUDE_WEATHER_TOOL])
    tool_use = first.content[0]
    assert (first.stop_reason, tool_use.name, tool_use.input) == ("tool_use", "get_weather", {"location": "Paris"})

    follow_up = question + [
        {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "sunny"}]},
    ]
    second = claude.messages.create(model=CLAUDE_MODEL, max_tokens=64, messages=follow_up, tools=[CLAUDE_WEATHER_TOOL])
    assert (second.stop_reason, second.content[0].text) == ("end_turn", "echo: sunny")


def test_message_stream_helper_assembles_text_and_tool_use(claude):
    with claude.messages.stream(
        model=CLAUDE_MODEL, max_tokens=64, messages=[{"role": "user", "content": "a b c"}]
    ) as stream:
        assert list(stream.text_stream) == ["echo:", " a", " b", " c"]
        final = stream.get_final_message()
    assert final.content[0].text == "echo: a b c" and final.usage.output_tokens == 4

    with claude.messages.stream(
        model=CLAUDE_MODEL,
        max_tokens=64,
        messages=[{"role": "user", "content": "weather?"}],
        tools=[CLAUDE_WEATHER_TOOL],
    ) as stream:
        final = stream.get_final_message()
    assert (final.stop_reason, final.content[0].input) == ("tool_use", {"location": "Paris"})


def test_raw_anthropic_stream_event_order(mock):
    headers = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
    body = {"model": CLAUDE_MODEL, "max_tokens": 64, "stream": True, "messages": [{"role": "user", "content": "hi"}]}

    response = requests.post(mock.url + "/v1/messages", headers=headers, json=body)

    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    events = [line.removeprefix("event: ") for line in response.text.splitlines() if line.startswith("event: ")]

    assert events == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]


def test_count_tokens(claude):
    count = claude.messages.count_tokens(
        model=CLAUDE_MODEL, messages=[{"role": "user", "content": "four words right here"}]
    )

    assert count.input_tokens == 4


def test_missing_anthropic_version_is_a_400_in_anthropic_envelope(mock):
    response = requests.post(mock.url + "/v1/messages", headers={"x-api-key": "k"}, json={"model": "m", "messages": []})

    assert response.status_code == 400
    assert response.json() == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "anthropic-version: header is required"},
    }


# --- models, embeddings, audio ---------------------------------------------------------------------


def test_models_list_in_each_format(oai, claude, mock):
    mock.models = ["model-a", "model-b"]

    assert [model.id for model in oai.models.list()] == ["model-a", "model-b"]
    page = claude.models.list()
    assert [model.id for model in page.data] == ["model-a", "model-b"]
    assert page.data[0].type == "model" and page.data[0].display_name == "model-a"
    anthropic_body = requests.get(
        mock.url + "/v1/models", headers={"x-api-key": "k", "anthropic-version": "2023-06-01"}
    ).json()
    assert (anthropic_body["first_id"], anthropic_body["last_id"], anthropic_body["has_more"]) == (
        "model-a",
        "model-b",
        False,
    )


def test_embeddings_float_and_base64_agree(oai, mock):
    as_float = oai.embeddings.create(
        model="text-embedding-3-small", input=["hello world", "bye"], encoding_format="float"
    )
    decoded_by_sdk = oai.embeddings.create(
        model="text-embedding-3-small", input=["hello world", "bye"]
    )  # SDK asks for base64
    raw = oai.embeddings.create(model="text-embedding-3-small", input="hello world", encoding_format="base64")

    assert [len(item.embedding) for item in as_float.data] == [8, 8]
    assert [item.embedding for item in decoded_by_sdk.data] == [item.embedding for item in as_float.data]
    assert list(struct.unpack("<8f", base64.b64decode(raw.data[0].embedding))) == as_float.data[0].embedding
    assert as_float.usage.prompt_tokens == 3
    assert mock.requests[1].json["encoding_format"] == "base64"


def test_embeddings_token_arrays_and_dimensions(oai):
    tokens = oai.embeddings.create(model="text-embedding-3-small", input=[[1, 2, 3], [4]], encoding_format="float")
    single = oai.embeddings.create(
        model="text-embedding-3-small", input=[1, 2, 3], dimensions=40, encoding_format="float"
    )

    assert tokens.usage.prompt_tokens == 4
    assert tokens.data[0].embedding == embedding_vector([1, 2, 3], 8)
    assert len(single.data) == 1 and len(single.data[0].embedding) == 40


AUDIO = ("speech.wav", b"\x00\x01" * 32000, "audio/wav")  # 64000 bytes: 2 "seconds" of audio


@pytest.mark.parametrize("response_format", ["json", "verbose_json", "diarized_json"])
def test_transcription_json_formats(oai, mock, response_format):
    result = oai.audio.transcriptions.create(model="whisper-1", file=AUDIO, response_format=response_format)

    assert result.text == "mock transcript of speech.wav (64000 bytes)"
    assert result.usage.type == "duration" and result.usage.seconds == 2.0
    recorded = mock.requests[0]
    assert recorded.files["file"].filename == "speech.wav" and recorded.files["file"].size == 64000
    assert recorded.form["response_format"] == response_format and recorded.body == b""


@pytest.mark.parametrize(
    ("response_format", "expected"),
    [
        ("text", "mock transcript of speech.wav (64000 bytes)\n"),
        ("srt", "1\n00:00:00,000 --> 00:00:02,000\nmock transcript of speech.wav (64000 bytes)\n\n"),
        ("vtt", "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nmock transcript of speech.wav (64000 bytes)\n\n"),
    ],
)
def test_transcription_text_formats(oai, response_format, expected):
    response = oai.audio.transcriptions.with_raw_response.create(
        model="whisper-1", file=AUDIO, response_format=response_format
    )

    assert response.parse() == expected
    assert response.headers["content-type"].startswith("text/plain")


def test_transcription_stream(oai):
    events = list(oai.audio.transcriptions.create(model="gpt-4o-transcribe", file=AUDIO, stream=True))

    assert "".join(event.delta for event in events[:-1]) == "mock transcript of speech.wav (64000 bytes)"
    assert events[-1].type == "transcript.text.done"
    assert events[-1].usage.output_tokens == 6


def test_large_chunked_upload_is_counted_not_kept(mock):
    def body():  # a multipart body sent with Transfer-Encoding: chunked, as a streaming proxy would
        yield b'--b\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n'
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.mp3"\r\nContent-Type: audio/mpeg\r\n\r\n'
        for _ in range(64):
            yield b"\x07" * 65536
        yield b"\r\n--b--\r\n"

    response = requests.post(
        mock.openai_url + "/audio/transcriptions",
        data=body(),
        headers={"Content-Type": "multipart/form-data; boundary=b", "Authorization": "Bearer k"},
    )

    assert response.json()["text"] == "mock transcript of big.mp3 (4194304 bytes)"
    assert mock.requests[0].files["file"].size == 4 * 1024 * 1024


# --- failure behaviours -----------------------------------------------------------------------------


def test_fail_uses_each_api_error_envelope(oai, claude, mock):
    mock.script("/v1/chat/completions", Fail(429, headers={"Retry-After": "1"}), Fail(500), Fail(401, "bad key"))
    mock.script("/v1/messages", Fail(529), Fail(429, error_type="custom_error"))

    with pytest.raises(openai.RateLimitError) as rate_limited:
        ask(oai)
    assert rate_limited.value.response.headers["retry-after"] == "1"
    assert rate_limited.value.body["code"] == "rate_limit_exceeded"
    with pytest.raises(openai.InternalServerError):
        ask(oai)
    with pytest.raises(openai.AuthenticationError) as unauthorized:
        ask(oai)
    assert unauthorized.value.body == {
        "message": "bad key",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }
    with pytest.raises(anthropic.OverloadedError) as overloaded:
        ask_claude(claude)
    assert overloaded.value.body["error"]["type"] == "overloaded_error"
    with pytest.raises(anthropic.RateLimitError) as custom:
        ask_claude(claude)
    assert custom.value.body["error"]["type"] == "custom_error"


def test_script_is_fifo_then_falls_back_to_default(oai, mock):
    mock.script("/v1/chat/completions", Reply({"first": 1}), Reply("plain", status=202))

    assert requests.post(mock.openai_url + "/chat/completions", json={}).json() == {"first": 1}
    second = requests.post(mock.openai_url + "/chat/completions", json={})
    assert (second.status_code, second.text, second.headers["content-type"]) == (
        202,
        "plain",
        "text/plain; charset=utf-8",
    )
    assert ask(oai).choices[0].message.content == "echo: hello mock"
    assert mock.calls("/v1/chat/completions") == 3


def test_rejected_keys_get_401_other_keys_pass(mock):
    mock.reject_keys.add("old-key")
    old = openai.OpenAI(base_url=mock.openai_url, api_key="old-key", max_retries=0)
    new = openai.OpenAI(base_url=mock.openai_url, api_key="new-key", max_retries=0)
    mock.script(
        "/v1/chat/completions",
        Reply({"id": "scripted", "object": "chat.completion", "created": 0, "model": "m", "choices": []}),
    )

    with pytest.raises(openai.AuthenticationError):
        ask(old)
    assert ask(new).id == "scripted"  # the rejection did not use up the script


def test_missing_credentials_rejected(mock):
    response = requests.post(mock.openai_url + "/chat/completions", json={"model": "m", "messages": []})

    assert response.status_code == 401 and response.json()["error"]["type"] == "invalid_request_error"


def test_unknown_path_is_404(oai, mock):
    with pytest.raises(openai.NotFoundError):
        oai.post("/nowhere", cast_to=object, body={})


def test_reset_connection_is_a_connection_error(oai, mock):
    mock.script("/v1/chat/completions", ResetConnection())

    with pytest.raises(openai.APIConnectionError):
        ask(oai)


def test_malformed_json_body(oai, mock):
    mock.script("/v1/chat/completions", Malformed())

    with pytest.raises(ValueError):
        ask(oai)


def test_reset_mid_stream_after_n_events(oai, mock):
    events = chat_completion_chunks({"messages": [{"role": "user", "content": "a b c d e"}]}, "gpt-4o")
    mock.script("/v1/chat/completions", ResetMidStream(events, after=3))
    received = 0

    with pytest.raises(openai.APIConnectionError):
        for _chunk in ask(oai, stream=True):
            received += 1
    assert received == 3


def test_stall_times_out_client_and_ends_when_client_leaves(oai, mock):
    mock.script("/v1/chat/completions", Stall())
    started = time.monotonic()

    with pytest.raises(openai.APITimeoutError):
        ask(oai.with_options(timeout=0.3))
    assert time.monotonic() - started < 2
    assert wait_until(lambda: mock.active_connections == 0)


def test_stop_does_not_wait_for_stalled_or_streaming_handlers():
    mock = MockUpstream().start()
    mock.script("/v1/chat/completions", Stall(), Stream([{"n": 1}] * 5, delay=10))
    errors = []

    def call():
        try:
            requests.post(mock.openai_url + "/chat/completions", json={}, timeout=10).raise_for_status()
        except requests.RequestException as error:
            errors.append(error)

    callers = [threading.Thread(target=call) for _ in range(2)]
    for caller in callers:
        caller.start()
    assert wait_until(lambda: mock.active_connections == 2)
    started = time.monotonic()
    mock.stop()
    for caller in callers:
        caller.join(timeout=5)
    assert time.monotonic() - started < 1
    assert len(errors) == 2
    assert wait_until(lambda: mock.active_connections == 0, timeout=0.5)


# --- streaming mechanics ------------------------------------------------------------------------------


def test_stream_pacing_flushes_each_event(mock):
    mock.script("/v1/chat/completions", Stream([{"n": 1}, {"n": 2}, {"n": 3}], first_delay=0.2, delay=0.1))
    started = time.monotonic()
    arrivals = []

    with requests.post(mock.openai_url + "/chat/completions", json={}, stream=True) as response:
        for line in response.iter_lines():
            if line:
                arrivals.append((line, time.monotonic() - started))

    assert [line for line, _ in arrivals] == [b'data: {"n":1}', b'data: {"n":2}', b'data: {"n":3}', b"data: [DONE]"]
    assert 0.2 <= arrivals[0][1] < 0.3
    assert arrivals[2][1] - arrivals[0][1] >= 0.2


def test_anthropic_stream_items_are_named_events_without_done(mock):
    mock.script("/v1/messages", Stream([("ping", {"type": "ping"})], done=True))

    response = requests.post(mock.url + "/v1/messages", json={})

    assert response.text == 'event: ping\ndata: {"type":"ping"}\n\n'


def test_client_disconnect_ends_upstream_stream(mock):
    mock.script("/v1/chat/completions", Stream([{"n": n} for n in range(10)], delay=1.0))

    with requests.post(mock.openai_url + "/chat/completions", json={}, stream=True) as response:
        lines = response.iter_lines()  # kept: dropping the iterator early closes the connection
        next(lines)
        assert mock.active_connections == 1
    assert wait_until(lambda: mock.active_connections == 0, timeout=0.5)


def test_keep_alive_connection_serves_several_requests(mock):
    with requests.Session() as session:
        for _ in range(3):
            session.post(
                mock.openai_url + "/chat/completions", json={"messages": []}, headers={"Authorization": "Bearer k"}
            )
    assert len({request.client_address for request in mock.requests}) == 1


def test_default_answers_can_be_paced(oai, mock):
    mock.response_delay, mock.stream_delay = 0.2, 0.05
    started = time.monotonic()

    ask(oai)
    replied = time.monotonic()
    chunks = list(ask(oai, "a b c d", stream=True))
    streamed = time.monotonic()

    assert 0.2 <= replied - started < 0.4
    assert len(chunks) == 7 and 0.2 + 6 * 0.05 <= streamed - replied < 0.8


def test_command_line_entry_serves_until_interrupted():
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.mocks", "--port", "0", "--quiet"],
        cwd=Path(__file__).parent.parent,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = re.search(r"OpenAI base_url (\S+)", process.stdout.readline()).group(1)
        models = requests.get(url + "/models", headers={"Authorization": "Bearer k"}, timeout=5).json()
        assert models["object"] == "list"
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=5) == 0
