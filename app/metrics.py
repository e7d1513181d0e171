"""Prometheus metrics for the whole instance, whichever gunicorn worker served.

Under gunicorn every worker writes its samples to memory-mapped files in
`PROMETHEUS_MULTIPROC_DIR` (gunicorn.conf.py sets it before any worker imports
prometheus_client) and `/metrics` merges the files of all workers, dead ones included, so
counters never go backwards when a worker is replaced. Outside gunicorn (`flask run`, unit
tests) the app's own registry is exposed.

Observations are made once per inference request, where its usage record is made, and
cost a few dict lookups and mmap writes. Labels are configured names (surface, provider,
model, error code), never keys or secrets.
"""
import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, values
from prometheus_client.exposition import choose_encoder
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.multiprocess import MultiProcessCollector

from app.errors import UpstreamError
from app.genai import DURATION_BUCKETS, TOKEN_BUCKETS, operation_of, provider_name
from app.process import current_pid
from app.web import surface_of

# LLM calls run from tens of milliseconds (cache hits, tiny replies) to minutes (long generations).
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320, 640)
TTFT_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32)
ROUTE_LABELS = ("surface", "provider", "model")


def _greenlet_value_class():
    """prometheus_client's multiprocess value (one mmap file per process and metric type, the
    same files and keys, so MultiProcessCollector merges them), without what a gevent worker
    does not need on each sample: a global lock (nothing yields while a sample is written, and
    no thread writes metrics) and a fork check (workers build their metrics after the fork, and
    os.getpid() is a system call each). ~0.45 of a counter's ~0.8 µs; a request writes 13 samples."""
    files = {}
    pid = current_pid()

    class GreenletMmapedValue:
        _multiprocess = True

        def __init__(self, typ, metric_name, name, labelnames, labelvalues, help_text, multiprocess_mode="",
                     **kwargs):
            prefix = f"{typ}_{multiprocess_mode}" if typ == "gauge" else typ
            if prefix not in files:
                files[prefix] = MmapedDict(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], f"{prefix}_{pid}.db"))
            self._file = files[prefix]
            self._key = mmap_key(metric_name, name, labelnames, labelvalues, help_text)
            self._value = self._file.read_value(self._key)[0]

        def inc(self, amount):
            self._value += amount
            self._file.write_value(self._key, self._value, 0.0)

        def set(self, value, timestamp=None):
            self._value = value
            self._file.write_value(self._key, value, timestamp or 0.0)

        def get(self):
            return self._value

        def set_exemplar(self, exemplar):
            pass  # exemplars are not kept in multiprocess mode (prometheus_client neither)

        def get_exemplar(self):
            return None

    GreenletMmapedValue.pid = pid
    return GreenletMmapedValue


def _use_greenlet_values() -> None:
    """Installed once per process, before its first metric: two value classes would map one file twice."""
    if getattr(values.ValueClass, "pid", None) != current_pid():
        values.ValueClass = _greenlet_value_class()


class Metrics:
    """The instance's metrics; app-wide, on `app.extensions["cortex"].metrics`."""

    def __init__(self):
        self.multiprocess_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if self.multiprocess_dir:
            _use_greenlet_values()
        self._children = {}  # (metric, label values) -> child: labels() validates and locks per call
        self.registry = CollectorRegistry()
        self.requests = Counter("cortex_requests", "Inference requests by surface, route and HTTP status",
                                (*ROUTE_LABELS, "status"), registry=self.registry)
        self.latency = Histogram("cortex_request_duration_seconds", "Inference request duration, to the last byte",
                                 ROUTE_LABELS, buckets=LATENCY_BUCKETS, registry=self.registry)
        self.ttft = Histogram("cortex_time_to_first_token_seconds", "Time to the first streamed chunk",
                              ROUTE_LABELS, buckets=TTFT_BUCKETS, registry=self.registry)
        self.upstream_errors = Counter("cortex_upstream_errors", "Failed upstream calls, failover attempts included",
                                       ("provider", "code"), registry=self.registry)
        self.tokens = Counter("cortex_tokens", "Tokens processed upstream, by route and direction (input or output)",
                              ("provider", "model", "direction"), registry=self.registry)
        # livesum: the sum over running workers; a dead worker's in-flight count goes with it.
        self.inflight = Gauge("cortex_inflight_requests", "Inference requests being served",
                              registry=self.registry, multiprocess_mode="livesum")
        self.soft_budgets = Counter("cortex_soft_budget_exceeded", "Times a key's spend passed its soft budget",
                                    ("api_key",), registry=self.registry)
        self.cache_lookups = Counter("cortex_response_cache_lookups", "Response cache lookups by result (hit or miss)",
                                     ("result",), registry=self.registry)

        # The OpenTelemetry GenAI client metrics, Prometheus-named (dots become underscores).
        self.genai_tokens = Histogram("gen_ai_client_token_usage",
                                      "GenAI token usage per request (gen_ai.client.token.usage)",
                                      ("gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model",
                                       "gen_ai_token_type"), buckets=TOKEN_BUCKETS, registry=self.registry)
        self.genai_duration = Histogram("gen_ai_client_operation_duration_seconds",
                                        "GenAI operation duration (gen_ai.client.operation.duration)",
                                        ("gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model",
                                         "error_type"), buckets=DURATION_BUCKETS, registry=self.registry)
        self.spans = Counter("cortex_otel_spans", "Trace spans by outcome: exported, or dropped (queue_full, "
                             "export_failed, shutdown)", ("outcome",), registry=self.registry)

    def request_started(self) -> None:
        self.inflight.inc()

    def _child(self, metric, *labels):
        key = (metric, labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def observe(self, ctx, fields: dict) -> None:
        """One finished inference request: `fields` is its usage record (app.inference)."""
        self.inflight.dec()
        # Only a resolved route's names: a client's unknown model name must not become a label.
        provider, model = (ctx.route.provider.name, ctx.route.model) if ctx.route else ("", "")
        route = (surface_of(ctx.endpoint), provider, model)
        self._child(self.requests, *route, fields["http_status"]).inc()
        self._child(self.latency, *route).observe(fields["latency_ms"] / 1000)
        if fields["ttft_ms"] is not None:
            self._child(self.ttft, *route).observe(fields["ttft_ms"] / 1000)
        if not ctx.cached:  # a cache hit repeats its tokens in the usage record, but no provider spent them
            if fields["input_tokens"]:
                self._child(self.tokens, provider, model, "input").inc(fields["input_tokens"])
            if fields["output_tokens"]:
                self._child(self.tokens, provider, model, "output").inc(fields["output_tokens"])
        if isinstance(ctx.error, UpstreamError):
            self.observe_upstream_error(provider, ctx.error)
        self._observe_genai(ctx, fields, model)

    def _observe_genai(self, ctx, fields: dict, model: str) -> None:
        provider = provider_name(ctx.route.provider.type) if ctx.route else ""
        operation = operation_of(ctx.endpoint)
        error_type = ctx.error.code if ctx.error else ""
        self._child(self.genai_duration, operation, provider, model, error_type).observe(fields["latency_ms"] / 1000)
        if fields["input_tokens"]:
            self._child(self.genai_tokens, operation, provider, model, "input").observe(fields["input_tokens"])
        if fields["output_tokens"]:
            self._child(self.genai_tokens, operation, provider, model, "output").observe(fields["output_tokens"])

    def observe_spans(self, outcome: str, count: int) -> None:
        self._child(self.spans, outcome).inc(count)

    def observe_upstream_error(self, provider: str, error: UpstreamError) -> None:
        self._child(self.upstream_errors, provider, error.code).inc()

    def observe_soft_budget(self, key_name: str) -> None:
        self._child(self.soft_budgets, key_name).inc()

    def observe_cache(self, hit: bool) -> None:
        self._child(self.cache_lookups, "hit" if hit else "miss").inc()

    def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """(body, content type) in the format the scraper's Accept header asks for (Prometheus text
        by default, OpenMetrics when preferred), merged across workers when under gunicorn."""
        encode, content_type = choose_encoder(accept)
        if not self.multiprocess_dir:
            return encode(self.registry), content_type
        merged = CollectorRegistry()
        MultiProcessCollector(merged, self.multiprocess_dir)
        return encode(merged), content_type
