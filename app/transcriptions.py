"""Audio transcriptions (`POST /v1/audio/transcriptions`, API.md, Transcriptions).

The multipart upload is parsed as it arrives: the form fields are kept (they are small), the
audio goes to a spool file (in memory only for its first SPOOL_MEMORY_BYTES) that refuses to
grow past AUDIO_LIMIT_BYTES, so an oversized file is turned away as soon as it crosses the
limit, or before a byte is read when Content-Length already says so. The upstream request is
a new multipart body streamed from the spool with a known length; it can be sent again for a
key rotation or the next candidate. The reply goes back as the provider sent it (JSON, text,
SRT, VTT, or SSE transcript events).
"""
import secrets
import tempfile
from pathlib import PurePosixPath
from typing import Self

import orjson
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import MultiPartParser
from werkzeug.http import parse_options_header
from werkzeug.wsgi import get_input_stream

from app.errors import InvalidRequest, UpstreamError
from app.inference import CallContext, InferenceResult, route_headers
from app.provider_types import TRANSCRIPTIONS
from app.providers import UpstreamCall
from app.relay import DONE, Relay, openai_error_event, parse_event
from app.routing import require_endpoint
from app.translate import Usage

MB = 1024 * 1024
AUDIO_LIMIT_BYTES = 25 * MB
FORM_LIMIT_BYTES = 4 * MB  # every other field together; speaker reference samples are the big ones
UPLOAD_LIMIT_BYTES = AUDIO_LIMIT_BYTES + FORM_LIMIT_BYTES
MAX_FORM_PARTS = 64
SPOOL_MEMORY_BYTES = MB
READ_SIZE = 64 * 1024
AUDIO_EXTENSIONS = frozenset({"flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "ogg", "wav", "webm"})


def _upload_too_large() -> InvalidRequest:
    return InvalidRequest(f"The upload is too large: the audio file may be at most {AUDIO_LIMIT_BYTES // MB} MB "
                          f"(the other fields {FORM_LIMIT_BYTES // MB} MB)", code="file_too_large", param="file")


class AudioSpool:
    """The uploaded audio: a temporary file that refuses a wrong extension and growth past the limit."""

    def __init__(self, filename: str, content_type: str | None):
        extension = PurePosixPath(filename or "").suffix.lower().lstrip(".")
        if extension not in AUDIO_EXTENSIONS:
            raise InvalidRequest(f"Unsupported audio file '{filename}': the name must end in one of "
                                 f"{', '.join(sorted(AUDIO_EXTENSIONS))}", code="invalid_file_format", param="file")
        self.filename = filename
        self.content_type = content_type or "application/octet-stream"
        self.size = 0
        self._file = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES)  # noqa: SIM115 - closed by close()

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.size > AUDIO_LIMIT_BYTES:
            raise _upload_too_large()
        return self._file.write(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def read(self, size: int = -1) -> bytes:
        return self._file.read(size)

    def close(self) -> None:
        self._file.close()


def _quoted(value: str) -> str:
    # The escaping browsers apply to multipart names and file names (WHATWG HTML).
    return value.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def _part_header(boundary: str, name: str, audio: AudioSpool | None = None) -> bytes:
    header = f'--{boundary}\r\nContent-Disposition: form-data; name="{_quoted(name)}"'
    if audio is not None:
        header += f'; filename="{_quoted(audio.filename)}"\r\nContent-Type: {audio.content_type}'
    return (header + "\r\n\r\n").encode()


class MultipartBody:
    """multipart/form-data for the upstream: the form fields, then the audio read from its spool.

    Each iteration starts again from the beginning; len() is exact, so it goes out with a
    Content-Length rather than chunked.
    """

    def __init__(self, fields: list[tuple[str, str]], audio: AudioSpool):
        boundary = secrets.token_hex(16)
        self.content_type = f"multipart/form-data; boundary={boundary}"
        self._audio = audio
        self._head = b"".join(_part_header(boundary, name) + value.encode() + b"\r\n" for name, value in fields)
        self._head += _part_header(boundary, "file", audio)
        self._tail = f"\r\n--{boundary}--\r\n".encode()

    def __len__(self) -> int:
        return len(self._head) + self._audio.size + len(self._tail)

    def __iter__(self):
        yield self._head
        self._audio.seek(0)
        while chunk := self._audio.read(READ_SIZE):
            yield chunk
        yield self._tail


class AudioUpload:
    """The parsed request: its non-file fields (in order) and the spooled audio. Close it when done."""

    def __init__(self, fields: MultiDict, audio: AudioSpool):
        self.fields = fields
        self.audio = audio

    def form(self) -> dict:
        """The fields for schema validation: `name[]` fields as lists, the others as one value."""
        return {name: values if name.endswith("[]") else values[0] for name, values in self.fields.lists()}

    def body_for(self, model: str) -> MultipartBody:
        fields = [(name, model if name == "model" else value) for name, value in self.fields.items(multi=True)]
        return MultipartBody(fields, self.audio)

    def close(self) -> None:
        self.audio.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def read_upload(environ) -> AudioUpload:
    """Parse the request body as it arrives; 400 for a missing or bad file, or one over the limit."""
    mimetype, options = parse_options_header(environ.get("CONTENT_TYPE"))
    if mimetype != "multipart/form-data" or not options.get("boundary"):
        raise InvalidRequest("Expected a multipart/form-data body with the fields 'file' and 'model'",
                             code="invalid_content_type")
    spools = []

    def new_spool(filename=None, content_type=None, **_):
        spools.append(AudioSpool(filename, content_type))
        return spools[-1]

    parser = MultiPartParser(stream_factory=new_spool, max_form_memory_size=FORM_LIMIT_BYTES,
                             max_form_parts=MAX_FORM_PARTS)
    try:
        # Raises before reading when Content-Length is over the limit, and stops a chunked body there.
        stream = get_input_stream(environ, max_content_length=UPLOAD_LIMIT_BYTES)
        fields, files = parser.parse(stream, options["boundary"].encode(), None)
        if len(files.getlist("file")) != 1 or len(files) != 1:
            raise InvalidRequest("Expected exactly one file part, named 'file', with the audio", code="invalid_file",
                                 param="file")
    except BaseException as exc:
        for spool in spools:
            spool.close()
        if isinstance(exc, RequestEntityTooLarge):
            raise _upload_too_large() from None
        if isinstance(exc, ValueError):
            raise InvalidRequest(f"Malformed multipart body: {exc}", code="invalid_multipart") from None
        raise
    return AudioUpload(fields, files["file"].stream)


def _number(value) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def transcription_usage(usage, duration=None) -> Usage:
    """Usage as the provider reports it: tokens (gpt-4o-transcribe) or seconds of audio (whisper)."""
    usage = usage if isinstance(usage, dict) else {}
    if usage.get("type") == "tokens":
        return Usage(input_tokens=int(_number(usage.get("input_tokens"))),
                     output_tokens=int(_number(usage.get("output_tokens"))))
    return Usage(audio_seconds=_number(usage.get("seconds") if usage.get("type") == "duration" else duration))


def _reply_usage(content: bytes, content_type: str) -> Usage:
    if "json" not in content_type:
        return Usage()  # text, srt and vtt carry no usage
    try:
        reply = orjson.loads(content)
    except orjson.JSONDecodeError:
        return Usage()
    return transcription_usage(reply.get("usage"), reply.get("duration")) if isinstance(reply, dict) else Usage()


def reported_as_server_error(error: UpstreamError) -> UpstreamError:
    """API.md documents upstream failures on this endpoint as `server_error`; a rate limit or a
    request the provider rejected (4xx) keeps its type."""
    if error.status >= 500:
        error.openai_type = "server_error"
    return error


class TranscriptionRelay(Relay):
    """Transcript events forwarded as they come; usage taken from `transcript.text.done`."""

    def __init__(self):
        super().__init__(requested_model="", include_usage=True)

    def feed(self, raw: bytes) -> bytes:
        _, data = parse_event(raw)
        if data and data != DONE:
            event = orjson.loads(data)
            if "error" in event or event.get("type") == "error":
                error = event.get("error")
                message = error.get("message") if isinstance(error, dict) else error
                raise UpstreamError(f"Provider error during the stream: {message or 'unknown error'}",
                                    code="upstream_stream_error")
            if event.get("type") == "transcript.text.done":
                self.complete = True
                self.usage = transcription_usage(event.get("usage"))
        return raw + b"\n\n"

    def finish(self) -> bytes:
        if not self.complete:
            raise UpstreamError("The provider's stream ended before the transcript was done",
                                code="upstream_stream_truncated")
        return b""

    def error_event(self, error) -> bytes:
        return openai_error_event(reported_as_server_error(error))


class TranscriptionService:
    def __init__(self, inference):
        self.inference = inference

    def create(self, ctx: CallContext, form: dict, upload: AudioUpload) -> InferenceResult:
        ctx.requested_model = form["model"]
        ctx.stream = bool(form.get("stream"))
        resolution = self.inference.router.resolve(ctx.requested_model)
        routes = self.inference.allowed_routes(ctx, resolution)
        require_endpoint(routes, TRANSCRIPTIONS, "Audio transcriptions")

        def open_route(route, adapter):
            call = UpstreamCall(path="/audio/transcriptions", upload=upload.body_for(route.model), model=route.model,
                                stream=ctx.stream, traceparent=ctx.traceparent)
            return adapter.stream(call) if ctx.stream else adapter.fetch(call)

        try:
            route, answer = self.inference.first_answer(ctx, resolution, routes, open_route)
        except UpstreamError as exc:
            raise reported_as_server_error(exc) from None
        headers = route_headers(route)
        if ctx.stream:
            return InferenceResult(stream=self.inference.relay(ctx, answer, TranscriptionRelay()), headers=headers)
        content_type = answer.headers.get("Content-Type", "application/json")
        ctx.usage = _reply_usage(answer.content, content_type)
        return InferenceResult(content=answer.content, content_type=content_type, headers=headers)
