"""Trace context parsing, the OTLP protobuf encoding (decoded by the official classes), the
GenAI attribute mapping and the observability configuration."""
from pathlib import Path
from types import SimpleNamespace

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from app import genai
from app.config import ConfigError, parse_config
from app.otlp import BatchExporter, encode_export_request
from app.tracing import STATUS_ERROR, Span, Tracer, parse_traceparent
from tests.otlp_receiver import any_value, attributes

TRACE_ID, PARENT_ID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"


@pytest.mark.parametrize("header, expected", [
    (f"00-{TRACE_ID}-{PARENT_ID}-01", (TRACE_ID, PARENT_ID, 1)),
    (f"00-{TRACE_ID.upper()}-{PARENT_ID}-00", (TRACE_ID, PARENT_ID, 0)),
    (f"01-{TRACE_ID}-{PARENT_ID}-01-future", (TRACE_ID, PARENT_ID, 1)),  # a later version may append fields
    (f"00-{TRACE_ID}-{PARENT_ID}-01-extra", None),  # version 00 has exactly four
    (f"ff-{TRACE_ID}-{PARENT_ID}-01", None),  # version ff is invalid
    (f"00-{'0' * 32}-{PARENT_ID}-01", None),  # all-zero ids are invalid
    (f"00-{TRACE_ID}-{'0' * 16}-01", None),
    ("00-abc-def-01", None),
    ("", None),
    (None, None),
])
def test_parse_traceparent(header, expected):
    assert parse_traceparent(header) == expected


def test_span_continues_the_client_trace_and_names_itself_as_the_upstream_parent():
    span = Span(parse_traceparent(f"00-{TRACE_ID}-{PARENT_ID}-01"), "k=v")
    assert (span.trace_id, span.parent_span_id, span.trace_state) == (TRACE_ID, PARENT_ID, "k=v")
    assert span.traceparent == f"00-{TRACE_ID}-{span.span_id}-01"
    assert span.span_id != PARENT_ID and len(span.span_id) == 16
    fresh = Span(None)
    assert len(fresh.trace_id) == 32 and fresh.parent_span_id == "" and fresh.traceparent.endswith("-01")


def test_encoding_decodes_with_the_official_classes():
    span = Span(parse_traceparent(f"00-{TRACE_ID}-{PARENT_ID}-01"), "k=v")
    span.name = "chat gpt-4o"
    span.attributes.update({"s": "text ü", "i": 42, "neg": -3, "f": 0.5, "b": True, "none": None,
                            "list": ["stop", "length"], "ints": [1, 2]})
    span.add_event("gen_ai.first_token", {"gen_ai.response.time_to_first_token": 0.25}, at_ns=span.start_ns + 5)
    span.set_error("upstream_502", "the provider failed")
    span.end_ns = span.start_ns + 1000
    export = ExportTraceServiceRequest.FromString(encode_export_request([span, Span(None)], {"service.name": "c"}))
    resource_spans = export.resource_spans[0]
    assert attributes(resource_spans.resource.attributes) == {"service.name": "c"}
    scope_spans = resource_spans.scope_spans[0]
    assert scope_spans.scope.name == "cortex" and len(scope_spans.spans) == 2
    decoded = scope_spans.spans[0]
    assert decoded.trace_id.hex() == TRACE_ID and decoded.parent_span_id.hex() == PARENT_ID
    assert decoded.span_id.hex() == span.span_id and decoded.trace_state == "k=v"
    assert decoded.name == "chat gpt-4o" and decoded.kind == 3
    assert (decoded.start_time_unix_nano, decoded.end_time_unix_nano) == (span.start_ns, span.end_ns)
    assert attributes(decoded.attributes) == {"s": "text ü", "i": 42, "neg": -3, "f": 0.5, "b": True,
                                              "list": ["stop", "length"], "ints": [1, 2], "error.type": "upstream_502"}
    event = decoded.events[0]
    assert (event.name, event.time_unix_nano) == ("gen_ai.first_token", span.start_ns + 5)
    assert any_value(event.attributes[0].value) == 0.25
    assert (decoded.status.code, decoded.status.message) == (STATUS_ERROR, "the provider failed")
    assert scope_spans.spans[1].parent_span_id == b"" and scope_spans.spans[1].status.code == 0


def _settings(**overrides):
    return SimpleNamespace(**{"traces_endpoint": "http://127.0.0.1:1/v1/traces", "headers": {}, "resource": {},
                              "max_queue_size": 2, "max_export_batch_size": 2, "schedule_delay_secs": 1.0,
                              **overrides})


def test_full_queue_drops_and_counts_instead_of_growing():
    dropped = []
    exporter = BatchExporter(_settings(), on_drop=lambda reason, count: dropped.append((reason, count)))
    exporter._closed = True  # no sender greenlet: the queue only fills
    for _ in range(3):
        exporter.add(Span(None))
    assert exporter.pending == 2 and dropped == [("queue_full", 1)]


def test_unreachable_collector_drops_the_batch_and_counts_it():
    dropped = []
    exporter = BatchExporter(_settings(), on_drop=lambda reason, count: dropped.append((reason, count)))
    exporter._closed = True
    exporter.add(Span(None))
    assert exporter.export_batch() == 1
    assert exporter.pending == 0 and dropped == [("export_failed", 1)]


def test_capture_needs_the_switch_and_a_key_that_did_not_opt_out():
    on, off = Tracer(None, True, {}), Tracer(None, False, {})
    assert on.captures(SimpleNamespace(capture_content=True))
    assert not on.captures(SimpleNamespace(capture_content=False))
    assert not off.captures(SimpleNamespace(capture_content=True))


def test_request_attributes_and_capture_switch():
    body = {"model": "smart", "max_tokens": 10, "temperature": 0, "top_p": 1, "stop": "END", "stream": True,
            "system": [{"type": "text", "text": "be brief"}],
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "image"}]},
                         {"role": "assistant", "content": None,
                          "tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": "{}"}}]}]}
    captured, plain = Span(None), Span(None)
    genai.record_request(captured, body, capture=True, virtual=True)
    genai.record_request(plain, body, capture=False, virtual=False)
    assert plain.attributes == {"gen_ai.request.max_tokens": 10, "gen_ai.request.temperature": 0,
                                "gen_ai.request.top_p": 1, "gen_ai.request.stop_sequences": ["END"]}
    assert captured.attributes["cortex.virtual_model"] == "smart"
    assert captured.attributes["gen_ai.system_instructions"] == '[{"type":"text","content":"be brief"}]'
    assert '"parts":[{"type":"text","content":"hi"},{"type":"image"}]' in captured.attributes["gen_ai.input.messages"]
    assert '{"type":"tool_call","id":"c1","name":"f","arguments":"{}"}' in captured.attributes["gen_ai.input.messages"]


@pytest.mark.parametrize("reply, reasons", [
    ({"id": "x", "choices": [{"message": {"role": "assistant", "content": "a"}, "finish_reason": "stop"}]}, ["stop"]),
    ({"id": "y", "role": "assistant", "content": [{"type": "text", "text": "a"}], "stop_reason": "end_turn"},
     ["end_turn"]),
])
def test_reply_attributes_in_either_format(reply, reasons):
    span = Span(None)
    genai.record_reply(span, reply, capture=True)
    assert span.attributes["gen_ai.response.finish_reasons"] == reasons
    assert '"content":"a"' in span.attributes["gen_ai.output.messages"]


def _observability(environ, section=None):
    return parse_config({"observability": section} if section else {}, Path("/tmp/cortex.yaml"), environ).observability


def test_observability_from_the_standard_variables():
    config = _observability({"OTEL_EXPORTER_OTLP_ENDPOINT": "https://cloud.langfuse.com/api/public/otel/",
                             "OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Basic%20cGs6c2s=,x-extra=1",
                             "OTEL_SERVICE_NAME": "gw", "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=prod",
                             "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"})
    assert config.traces_endpoint == "https://cloud.langfuse.com/api/public/otel/v1/traces"
    assert config.headers == {"Authorization": "Basic cGs6c2s=", "x-extra": "1"}
    assert config.resource == {"deployment.environment": "prod", "service.name": "gw"}
    assert config.capture_content and config.enabled


def test_observability_file_wins_and_off_by_default():
    assert not _observability({}).enabled
    assert not _observability({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_SDK_DISABLED": "true"}).enabled
    config = _observability({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://env:4318/v1/traces"},
                            {"otlp_traces_endpoint": "http://file:4318/custom"})
    assert config.traces_endpoint == "http://file:4318/custom"


@pytest.mark.parametrize("environ, section, message", [
    ({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4317"}, None, "http/protobuf"),
    ({"OTEL_EXPORTER_OTLP_HEADERS": "novalue"}, None, "key=value"),
    ({}, {"otlp_endpoint": "collector:4318"}, "observability.otlp_endpoint: not a URL"),
    ({}, {"max_queue_size": 10, "max_export_batch_size": 20}, "observability.max_export_batch_size"),
])
def test_bad_observability_settings_stop_start_up(environ, section, message):
    with pytest.raises(ConfigError, match=message):
        _observability(environ, section)


@pytest.mark.parametrize("path, operation", [
    ("/v1/chat/completions", "chat"), ("/anthropic/v1/messages", "chat"), ("/v1/responses", "chat"),
    ("/v1/embeddings", "embeddings"), ("/v1/responses/input_tokens", "count_tokens"),
    ("/gemini/v1beta/models/gemini-2.5-pro:generateContent", "generate_content"),
    ("/gemini/v1/models/gpt-4o:streamGenerateContent", "generate_content"),
    ("/gemini/v1beta/models/gpt-4o:countTokens", "count_tokens"),
])
def test_operation_names_by_surface(path, operation):
    assert genai.operation_of(path) == operation
