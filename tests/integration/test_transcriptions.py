"""`POST /v1/audio/transcriptions` under real gunicorn, driven by the official `openai` SDK."""
import re
import socket

import openai
import pytest
import requests

from tests.cortex_server import ADMIN_KEY, base_config
from tests.mocks import Fail, ResetMidStream
from tests.mocks.openai_wire import transcription_events

MB = 1024 * 1024
AUDIO = ("speech.wav", b"\x00\x01" * 32000, "audio/wav")  # 64000 bytes: 2 "seconds" for the mock
TEXT = "mock transcript of speech.wav (64000 bytes)"
PATH = "/v1/audio/transcriptions"


def transcription_config(mock_url: str, db_path) -> dict:
    config = base_config(mock_url, db_path)
    config["providers"][0]["models"] += [{"id": "whisper-1", "kind": "transcription"},
                                         {"id": "gpt-4o-transcribe", "kind": "transcription"}]
    config["providers"] += [{"name": f"mock{kind}", "type": kind, "base_url": f"{mock_url}/v1",
                             "api_keys": [f"sk-{kind}-secret"]} for kind in ("groq", "custom", "mistral")]
    config["virtual_models"] = [{"name": "stt", "candidates": [{"provider": "mockai", "model": "whisper-1"},
                                                               {"provider": "mockgroq", "model": "whisper-large-v3"}]}]
    return config


@pytest.fixture(scope="module")
def cortex(start_cortex):
    return start_cortex(transcription_config)


def post_form(server, fields: dict, files: dict | None = None) -> requests.Response:
    return requests.post(server.url + PATH, data=fields, files=files if files is not None else {"file": AUDIO},
                         headers={"Authorization": f"Bearer {ADMIN_KEY}"})


def test_json_is_the_default(cortex, mock):
    reply = cortex.openai().audio.transcriptions.with_raw_response.create(model="mockai:whisper-1", file=AUDIO)
    assert reply.parse().text == TEXT
    assert reply.headers["content-type"] == "application/json"
    assert reply.headers["x-cortex-provider"] == "mockai" and reply.headers["x-cortex-model"] == "whisper-1"
    [sent] = mock.requests_to(PATH)
    assert sent.form["model"] == "whisper-1", "the provider prefix is resolved away"
    assert (sent.files["file"].filename, sent.files["file"].content_type, sent.files["file"].size) == \
        ("speech.wav", "audio/wav", 64000)
    assert sent.headers["Authorization"] == "Bearer sk-mock-openai-secret-1"
    assert int(sent.headers["Content-Length"]) == sent.body_size, "sent with a length, not chunked"


def test_verbose_json(cortex):
    result = cortex.openai().audio.transcriptions.create(model="whisper-1", file=AUDIO, response_format="verbose_json",
                                                         timestamp_granularities=["word", "segment"])
    assert result.text == TEXT and result.duration == 2.0 and result.segments[0].end == 2.0


def test_diarized_json(cortex):
    result = cortex.openai().audio.transcriptions.create(model="gpt-4o-transcribe", file=AUDIO,
                                                         response_format="diarized_json", chunking_strategy="auto")
    assert result.text == TEXT and result.segments[0].speaker == "A"
    assert result.usage.type == "duration" and result.usage.seconds == 2.0


@pytest.mark.parametrize("response_format, expected", [
    ("text", TEXT + "\n"),
    ("srt", f"1\n00:00:00,000 --> 00:00:02,000\n{TEXT}\n\n"),
    ("vtt", f"WEBVTT\n\n00:00:00.000 --> 00:00:02.000\n{TEXT}\n\n"),
])
def test_text_formats_keep_the_upstream_content_type(cortex, response_format, expected):
    reply = cortex.openai().audio.transcriptions.with_raw_response.create(model="whisper-1", file=AUDIO,
                                                                          response_format=response_format)
    assert reply.parse() == expected
    assert reply.headers["content-type"] == "text/plain; charset=utf-8"


def test_stream_passes_transcript_events_through(cortex):
    with cortex.openai().audio.transcriptions.with_streaming_response.create(
            model="gpt-4o-transcribe", file=AUDIO, stream=True, extra_headers={"x-request-id": "stt-stream-1"}) as reply:
        assert reply.headers["content-type"].startswith("text/event-stream")
        events = list(reply.parse())
    assert [event.type for event in events] == ["transcript.text.delta"] * (len(events) - 1) + ["transcript.text.done"]
    assert "".join(event.delta for event in events[:-1]) == TEXT == events[-1].text
    row = cortex.usage_row("stt-stream-1")
    assert row["stream"] == 1 and row["status"] == "success"
    assert (row["input_tokens"], row["output_tokens"]) == (events[-1].usage.input_tokens, events[-1].usage.output_tokens)


def test_stream_failure_after_the_first_event_ends_with_an_error_event(cortex, mock):
    mock.script(PATH, ResetMidStream(transcription_events(TEXT, 2.0), after=2))
    stream = cortex.openai().audio.transcriptions.create(model="gpt-4o-transcribe", file=AUDIO, stream=True)
    received = []
    with pytest.raises(openai.APIError) as excinfo:
        for event in stream:
            received.append(event)  # noqa: PERF402 - what arrived before the error
    assert len(received) == 2
    assert excinfo.value.body["type"] == "server_error"


def test_every_field_is_forwarded(cortex, mock):
    references = ["data:audio/wav;base64,AAAA", "data:audio/wav;base64,BBBB"]
    cortex.openai().audio.transcriptions.create(
        model="gpt-4o-transcribe", file=AUDIO, language="en", prompt="Names: Ada, Grace", temperature=0.2,
        include=["logprobs"], timestamp_granularities=["word", "segment"], known_speaker_names=["ada", "grace"],
        known_speaker_references=references, chunking_strategy={"type": "server_vad", "threshold": 0.5})
    sent = mock.requests_to(PATH)[-1].form_lists
    assert sent["language"] == ["en"] and sent["prompt"] == ["Names: Ada, Grace"] and sent["temperature"] == ["0.2"]
    assert sent["include[]"] == ["logprobs"] and sent["timestamp_granularities[]"] == ["word", "segment"]
    assert sent["known_speaker_names[]"] == ["ada", "grace"] and sent["known_speaker_references[]"] == references
    assert sent["chunking_strategy[type]"] == ["server_vad"] and sent["chunking_strategy[threshold]"] == ["0.5"]


@pytest.mark.parametrize("fields, param", [
    ({"model": "whisper-1", "known_speaker_names[]": ["a", "b", "c", "d", "e"]}, "known_speaker_names[]"),
    ({"model": "whisper-1", "known_speaker_references[]": ["data:,"] * 5}, "known_speaker_references[]"),
    ({"model": "whisper-1", "response_format": "mp3"}, "response_format"),
    ({"model": "whisper-1", "temperature": "1.5"}, "temperature"),
    ({"model": "whisper-1", "timestamp_granularities[]": ["word", "minute"]}, "timestamp_granularities[].1"),
    ({"model": "whisper-1", "chunking_strategy": "sometimes"}, "chunking_strategy"),
    ({"model": ""}, "model"),
    ({}, "model"),
])
def test_bad_fields_are_400(cortex, mock, fields, param):
    response = post_form(cortex, fields)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param
    assert mock.calls(PATH) == 0


@pytest.mark.parametrize("files, code", [
    ({"language": (None, "en")}, "invalid_file"),  # multipart, without a file part
    ({"file": ("notes.txt", b"hello", "text/plain")}, "invalid_file_format"),
    ({"file": ("noextension", b"hello", "audio/wav")}, "invalid_file_format"),
    ({"file": AUDIO, "other": AUDIO}, "invalid_file"),
])
def test_missing_or_bad_file_is_400(cortex, mock, files, code):
    response = post_form(cortex, {"model": "whisper-1"}, files)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code and response.json()["error"]["param"] == "file"
    assert mock.calls(PATH) == 0


def test_a_json_body_is_400(cortex):
    response = requests.post(cortex.url + PATH, json={"model": "whisper-1"},
                             headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_content_type"


@pytest.mark.parametrize("provider", ["mockgroq", "mockcustom"])
def test_openai_wire_provider_types(cortex, mock, provider):
    reply = cortex.openai().audio.transcriptions.with_raw_response.create(model=f"{provider}:whisper-large-v3",
                                                                          file=AUDIO)
    assert reply.parse().text == TEXT and reply.headers["x-cortex-provider"] == provider
    sent = mock.requests_to(PATH)[-1]
    assert sent.form["model"] == "whisper-large-v3"


def test_virtual_model_falls_back_with_the_whole_upload(cortex, mock):
    mock.script(PATH, Fail(503))
    reply = cortex.openai().audio.transcriptions.with_raw_response.create(model="stt", file=AUDIO)
    assert reply.parse().text == TEXT and reply.headers["x-cortex-provider"] == "mockgroq"
    first, second = mock.requests_to(PATH)
    assert (first.form["model"], second.form["model"]) == ("whisper-1", "whisper-large-v3")
    assert first.files["file"].size == second.files["file"].size == 64000, "the spool is sent again from the start"


def test_azure_puts_the_deployment_in_the_path(cortex, mock):
    azure = next(provider for provider in cortex.config["providers"] if provider["type"] == "azure")
    result = cortex.openai().audio.transcriptions.create(model=f"{azure['name']}:whisper-1", file=AUDIO)
    assert result.text == TEXT
    [sent] = mock.requests_to("/openai/deployments/whisper-1/audio/transcriptions")
    assert sent.headers["api-key"] == azure["api_keys"][0]


@pytest.mark.parametrize("model", ["mockmistral:whisper-1", "mockanthropic:claude-3-5-sonnet-20241022"])
def test_unsupported_provider_types_are_400(cortex, mock, model):
    with pytest.raises(openai.BadRequestError) as excinfo:
        cortex.openai().audio.transcriptions.create(model=model, file=AUDIO)
    assert excinfo.value.body["code"] == "unsupported_provider"
    assert "Audio transcriptions are not supported" in excinfo.value.body["message"]
    assert mock.calls(PATH) == 0


def test_unknown_model_is_404(cortex):
    with pytest.raises(openai.NotFoundError) as excinfo:
        cortex.openai().audio.transcriptions.create(model="no-such-whisper", file=AUDIO)
    assert excinfo.value.body["code"] == "model_not_found"


@pytest.mark.parametrize("behaviour, status, error_type", [
    (Fail(500, "transcriber down"), 502, "server_error"),
    (Fail(400, "audio could not be decoded"), 400, "invalid_request_error"),  # the client's error, kept
])
def test_upstream_errors(cortex, mock, behaviour, status, error_type):
    mock.script(PATH, behaviour)
    with pytest.raises(openai.APIStatusError) as excinfo:
        cortex.openai().audio.transcriptions.create(model="whisper-1", file=AUDIO)
    assert excinfo.value.status_code == status
    assert excinfo.value.body["type"] == error_type and excinfo.value.body["code"] == f"upstream_{behaviour.status}"
    assert behaviour.message in excinfo.value.body["message"]
    assert mock.calls(PATH) == 1


def test_usage_records_audio_seconds(cortex):
    cortex.openai().audio.transcriptions.create(model="whisper-1", file=AUDIO,
                                                extra_headers={"x-request-id": "stt-usage-1"})
    row = cortex.usage_row("stt-usage-1")
    assert row["endpoint"] == PATH and row["status"] == "success" and row["provider"] == "mockai"
    assert row["audio_seconds"] == 2.0 and row["input_tokens"] == 0


# --- the 25 MB limit and memory ------------------------------------------------------------------

def peak_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status_file:
        status = status_file.read()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])


def reset_peak_rss(pids) -> dict[int, int]:
    """Reset each worker's high-water mark (Linux clear_refs 5); returns the RSS it restarts from."""
    for pid in pids:
        with open(f"/proc/{pid}/clear_refs", "w") as control:
            control.write("5")
    return {pid: peak_rss_kib(pid) for pid in pids}


def peak_growth_mib(start: dict[int, int]) -> float:
    return max(peak_rss_kib(pid) - rss for pid, rss in start.items()) / 1024


def test_26_mb_upload_is_400_and_never_held_in_memory(cortex, mock):
    start = reset_peak_rss(cortex.worker_pids())
    with pytest.raises(openai.BadRequestError) as excinfo:
        cortex.openai().audio.transcriptions.create(model="whisper-1",
                                                    file=("long.mp3", b"\x07" * (26 * MB), "audio/mpeg"))
    growth = peak_growth_mib(start)
    print(f"peak RSS growth of the workers during a 26 MB upload: {growth:.1f} MiB")
    assert excinfo.value.body["code"] == "file_too_large" and "25 MB" in excinfo.value.body["message"]
    assert growth < 10, "the upload must be spooled, not held in memory"
    assert mock.calls(PATH) == 0


def read_http_response(connection) -> str:
    """Headers and the whole Content-Length body, however the server split them into packets."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536) or b"\r\n\r\n"
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            break
        body += chunk
    return (head + b"\r\n\r\n" + body).decode()


def test_declared_length_over_the_limit_is_refused_before_the_body_arrives(cortex, mock):
    head = (f"POST {PATH} HTTP/1.1\r\nHost: cortex\r\nAuthorization: Bearer {ADMIN_KEY}\r\n"
            f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {40 * MB}\r\n\r\n")
    with socket.create_connection(("127.0.0.1", cortex.port), timeout=10) as connection:
        connection.sendall(head.encode())  # and not one byte of the 40 MB
        answer = read_http_response(connection)
    assert answer.startswith("HTTP/1.1 400 ") and '"file_too_large"' in answer
    assert mock.calls(PATH) == 0


def test_chunked_upload_is_cut_off_at_the_limit(cortex, mock):
    sent = []

    def body():
        yield b'--b\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n'
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.mp3"\r\n\r\n'
        for _ in range(40 * 16):  # 40 MB in 64 KB pieces
            sent.append(1)
            yield b"\x07" * (64 * 1024)
        yield b"\r\n--b--\r\n"

    response = requests.post(cortex.url + PATH, data=body(), headers={
        "Authorization": f"Bearer {ADMIN_KEY}", "Content-Type": "multipart/form-data; boundary=b"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "file_too_large"
    assert mock.calls(PATH) == 0


def test_large_upload_is_streamed_to_the_upstream(cortex, mock):
    start = reset_peak_rss(cortex.worker_pids())
    result = cortex.openai().audio.transcriptions.create(model="whisper-1",
                                                         file=("long.mp3", b"\x07" * (24 * MB), "audio/mpeg"))
    growth = peak_growth_mib(start)
    print(f"peak RSS growth of the workers relaying a 24 MB upload: {growth:.1f} MiB")
    assert result.text == f"mock transcript of long.mp3 ({24 * MB} bytes)"
    assert mock.requests_to(PATH)[-1].files["file"].size == 24 * MB
    assert growth < 10, "the upload must be streamed from the spool, not held in memory"
