"""What one streamed event costs in each SSE relay (app/relay.py), in microseconds of CPU.

Feeds each relay a recorded-shape stream (the event byte blocks SSEStream yields) of
`--chunks` content pieces and reports the mean µs per upstream event over the whole
stream, `finish()` included: the best of several rounds, so the figure is the relay's own
cost rather than the machine's noise. With 2,000 streams whose chunks arrive together, a
burst costs 2,000 × (this + the per-chunk I/O) of one worker's time.

    python bench/relay_cost.py [--chunks 100] [--rounds 7]
"""
import argparse
import itertools
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.relay import open_relay  # noqa: E402 - after the path fix: run as a script
from app.translate import FORMATS  # noqa: E402

CLIENT_MODEL = "my-alias"  # what the client asked for; the upstream answers with its own name
UPSTREAM_MODEL = "gpt-4o-mini-2024-07-18"
CLAUDE_MODEL = "claude-3-5-haiku-20241022"
REQUEST = {"model": CLIENT_MODEL, "input": "hi"}  # the client's body, which Responses events repeat


def _data(payload: dict) -> bytes:
    return b"data: " + orjson.dumps(payload)


def openai_stream(chunks: int) -> list[bytes]:
    """OpenAI's shape with stream_options.include_usage (which Cortex always asks for)."""
    def chunk(delta, finish=None):
        return {"id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT", "object": "chat.completion.chunk",
                "created": 1741570283, "model": UPSTREAM_MODEL, "service_tier": "default",
                "system_fingerprint": "fp_f9f4fb6dbf",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
                "usage": None, "obfuscation": "K1vE"}
    events = [_data(chunk({"role": "assistant", "content": "", "refusal": None}))]
    events += [_data(chunk({"content": f" word{i}"})) for i in range(chunks)]
    events.append(_data(chunk({}, "stop")))
    usage = {"prompt_tokens": 17, "completion_tokens": chunks, "total_tokens": 17 + chunks,
             "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
             "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                           "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}
    events.append(_data({**chunk({}), "choices": [], "usage": usage}))
    return events + [b"data: [DONE]"]


def anthropic_stream(chunks: int) -> list[bytes]:
    def event(name, payload):
        return b"event: " + name.encode() + b"\n" + _data({"type": name, **payload})
    message = {"id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant", "content": [],
               "model": CLAUDE_MODEL, "stop_reason": None, "stop_sequence": None,
               "usage": {"input_tokens": 25, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                         "output_tokens": 1}}
    events = [event("message_start", {"message": message}),
              event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
              event("ping", {})]
    events += [event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": f" word{i}"}})
               for i in range(chunks)]
    events += [event("content_block_stop", {"index": 0}),
               event("message_delta", {"delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                       "usage": {"output_tokens": chunks}}),
               event("message_stop", {})]
    return events


def responses_stream(chunks: int) -> list[bytes]:
    """The Responses API's shape: named events, each numbered; the response object (model, at the
    end usage) in created, in_progress and completed."""
    numbers = itertools.count()

    def event(name, payload):
        return b"event: " + name.encode() + b"\n" + _data({"type": name, "sequence_number": next(numbers), **payload})

    response = {"id": "resp_68af4030592c81938ec0a5fbab4a3e9f05438e46b5f69a3b", "object": "response",
                "created_at": 1756315696, "status": "in_progress", "background": False, "error": None,
                "incomplete_details": None, "instructions": None, "max_output_tokens": None, "model": UPSTREAM_MODEL,
                "output": [], "parallel_tool_calls": True, "previous_response_id": None,
                "reasoning": {"effort": None, "summary": None}, "store": False, "temperature": 1.0,
                "text": {"format": {"type": "text"}, "verbosity": "medium"}, "tool_choice": "auto", "tools": [],
                "top_p": 1.0, "truncation": "disabled", "usage": None, "metadata": {}}
    where = {"item_id": "msg_68af40337e7c8193ac2a1d6b2f1f5a8e05438e46b5f69a3b", "output_index": 0}
    text = "".join(f" word{i}" for i in range(chunks))
    part = {"type": "output_text", "annotations": [], "logprobs": [], "text": text}
    item = {"id": where["item_id"], "type": "message", "status": "completed", "role": "assistant", "content": [part]}
    events = [event("response.created", {"response": response}),
              event("response.in_progress", {"response": response}),
              event("response.output_item.added", {"output_index": 0, "item": {**item, "status": "in_progress",
                                                                              "content": []}}),
              event("response.content_part.added", {**where, "content_index": 0, "part": {**part, "text": ""}})]
    events += [event("response.output_text.delta", {**where, "content_index": 0, "delta": f" word{i}",
                                                    "logprobs": [], "obfuscation": "K1vE"}) for i in range(chunks)]
    usage = {"input_tokens": 17, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": chunks,
             "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 17 + chunks}
    events += [event("response.output_text.done", {**where, "content_index": 0, "text": text, "logprobs": []}),
               event("response.content_part.done", {**where, "content_index": 0, "part": part}),
               event("response.output_item.done", {"output_index": 0, "item": item}),
               event("response.completed", {"response": {**response, "status": "completed", "output": [item],
                                                         "usage": usage}})]
    return events


def gemini_stream(chunks: int) -> list[bytes]:
    """streamGenerateContent?alt=sse: one `data:` chunk per piece, the cumulative usage on each, the
    finish reason on the last."""
    def chunk(index, text, finish=None):
        candidate = {"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}
        if finish:
            candidate["finishReason"] = finish
        return {"candidates": [candidate], "modelVersion": "gemini-2.5-flash", "responseId": "mockresp1",
                "usageMetadata": {"promptTokenCount": 17, "candidatesTokenCount": index + 1,
                                  "totalTokenCount": 18 + index}}
    events = []
    for index in range(chunks):
        events.append(_data(chunk(index, f" word{index}", "STOP" if index == chunks - 1 else None)))
    return events


def per_event_us(pair: tuple, events: list[bytes], rounds: int) -> float:
    client, provider = pair
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(20):
            relay = open_relay(client, provider, CLIENT_MODEL, False, REQUEST)
            for event in events:
                relay.feed(event)
            relay.finish()
        best = min(best, (time.perf_counter() - started) / (20 * len(events)))
    return best * 1e6


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=100, help="content pieces per stream (default 100)")
    parser.add_argument("--rounds", type=int, default=7, help="rounds; the best one is reported (default 7)")
    args = parser.parse_args(argv)
    streams = {"openai": openai_stream(args.chunks), "anthropic": anthropic_stream(args.chunks),
               "responses": responses_stream(args.chunks), "gemini": gemini_stream(args.chunks)}
    print("| relay (client ← provider) | µs per event |\n|---|---|")
    for client, provider in itertools.product(FORMATS, FORMATS):
        us = per_event_us((client, provider), streams[provider], args.rounds)
        print(f"| {client} ← {provider} | {us:.2f} |")


if __name__ == "__main__":
    main()
