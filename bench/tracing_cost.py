"""What tracing adds to one inference request, in microseconds of CPU (app/tracing.py, app/genai.py, app/otlp.py).

Replays, for a realistic chat request, every call the request path makes when tracing is on
(start the span from the client's traceparent, request attributes, the upstream traceparent,
reply attributes, the GenAI mapping at the end, the hand-off to the exporter's queue), and
separately what the exporter's greenlet spends per span encoding a batch of 512 (off the
request's latency, but on the same worker's CPU). With tracing off the request path makes
the same `is not None` checks and nothing else: that is measured too. Content capture on and
off are both shown. Best of several rounds, so the figures are the code's own cost.

    python bench/tracing_cost.py [--requests 20000] [--rounds 7]
"""
import argparse
import itertools
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import genai  # noqa: E402 - after the path fix: run as a script
from app.config import parse_config  # noqa: E402
from app.inference import CallContext  # noqa: E402
from app.otlp import encode_export_request  # noqa: E402
from app.routing import Route  # noqa: E402
from app.tracing import Tracer  # noqa: E402
from app.translate import Usage  # noqa: E402

BODY = {"model": "gpt-4o", "max_tokens": 256, "temperature": 0.2, "stream": False,
        "messages": [{"role": "system", "content": "You are terse."},
                     {"role": "user", "content": "Name three prime numbers."}]}
REPLY = {"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o",
         "choices": [{"index": 0, "message": {"role": "assistant", "content": "2, 3, 5."}, "finish_reason": "stop"}],
         "usage": {"prompt_tokens": 21, "completion_tokens": 6, "total_tokens": 27}}
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


class QueueOnly:
    """The exporter's add(): an append to its deque (what the request path pays)."""

    def __init__(self):
        self.spans = []

    def add(self, span):
        self.spans.append(span)


def _config():
    raw = {"api_keys": [{"name": "bench", "key": "bench-key-000001"}],
           "providers": [{"name": "openai", "type": "openai", "base_url": "https://api.openai.com/v1",
                          "api_keys": ["sk-bench-000000"], "models": [{"id": "gpt-4o", "input_cost_per_mtok": 2.5,
                                                                      "output_cost_per_mtok": 10}]}]}
    return parse_config(raw, Path("/tmp/cortex-bench.yaml"), {})


def one_request(tracer, principal, route, traced: bool, number: int) -> None:
    """The tracing calls of app.web.authenticate, InferenceService.chat and InferenceService.record."""
    ctx = CallContext(request_id=f"req_{number:016x}", endpoint="/v1/chat/completions", principal=principal)
    if traced:
        ctx.span = tracer.start(TRACEPARENT, None)
    span = ctx.span
    if span is not None:
        genai.record_request(span, BODY, tracer.captures(principal), False)
    call = SimpleNamespace(traceparent="")
    call.traceparent = ctx.traceparent
    ctx.route, ctx.requested_model, ctx.client_format = route, "gpt-4o", "openai"
    if span is not None:
        genai.record_reply(span, REPLY, tracer.captures(principal))
    ctx.usage = Usage(input_tokens=21 + number % 500, output_tokens=6 + number % 300)  # as varied as real ones
    ctx.first_byte_at = ctx.started + 0.1
    fields = ctx.usage_fields()  # made with or without tracing; measured here on both sides
    if ctx.span is not None:
        tracer.end(genai.finish(ctx.span, ctx, fields, tracer.servers, "openai", ctx.client_format))


def best_us(run, requests: int, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(requests):
            run()
        best = min(best, (time.perf_counter() - started) / requests * 1e6)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    config = _config()
    principal = config.api_keys[0]
    route = Route(config.providers[0], "gpt-4o")
    servers = genai.provider_servers(config.providers)
    rows = []
    numbers = itertools.count()
    off = best_us(lambda: one_request(None, principal, route, False, next(numbers)), args.requests, args.rounds)
    for capture in (False, True):
        exporter = QueueOnly()
        tracer = Tracer(exporter, capture, servers)
        on = best_us(lambda: one_request(tracer, principal, route, True, next(numbers)), args.requests, args.rounds)
        batch = exporter.spans[:512]
        encode = best_us(lambda: encode_export_request(batch, {"service.name": "cortex"}), 20, args.rounds) / len(batch)
        rows.append((capture, on - off, encode))
    print(f"tracing off: {off:.2f} µs per request: the usage record alone (tracing adds `is not None` checks only)")
    print("| content capture | added on the request path (µs) | encoding, exporter greenlet (µs per span) |")
    print("|---|---|---|")
    for capture, added, encode in rows:
        print(f"| {'on' if capture else 'off'} | {added:.2f} | {encode:.2f} |")


if __name__ == "__main__":
    main()
