"""`GET /metrics`: Prometheus text merged across both gunicorn workers, matching what was sent."""
import threading
import time

import openai
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.cortex_server import ADMIN_KEY, INFERENCE_KEY, LIMITED_KEY, CortexServer, base_config
from tests.mocks import Fail, Stall

# A new connection per request: a frozen worker must not hold a kept-alive one.
CLOSE = {"Connection": "close"}
HI = [{"role": "user", "content": "hello metrics"}]
SECRETS = (ADMIN_KEY, INFERENCE_KEY, LIMITED_KEY, "sk-mock-openai-secret-1", "sk-ant-mock-secret-2")
GPT = {"surface": "openai", "provider": "mockai", "model": "gpt-4o"}
CLAUDE = {"surface": "anthropic", "provider": "mockanthropic", "model": "claude-3-5-sonnet-20241022"}


@pytest.fixture(scope="module")
def server(mock, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("metrics")
    config = base_config(mock.url, workdir / "cortex.db", virtual_models=[{
        "name": "smart", "strategy": "fallback",
        "candidates": [{"provider": "mockai", "model": "gpt-4o"},
                       {"provider": "mockanthropic", "model": "claude-3-5-sonnet-20241022"}]}])
    config["server"]["trusted_proxies"] = 1  # lets a test pose as a remote client with X-Forwarded-For
    config["providers"][0]["timeout_secs"] = 2  # a stalled upstream times out quickly
    server = CortexServer(config, workdir).start()
    yield server
    server.stop()


def scrape(server, **headers) -> requests.Response:
    return requests.get(server.url + "/metrics", headers=headers)


class Scrape:
    """One /metrics answer, parsed; `value()` is 0 for a series not (yet) present."""

    def __init__(self, server):
        response = scrape(server)
        assert response.status_code == 200, response.text
        self.samples = [sample for family in text_string_to_metric_families(response.text)
                        for sample in family.samples]

    def value(self, name: str, **labels) -> float:
        return sum(s.value for s in self.samples
                   if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


def settled(server, predicate, timeout: float = 5.0) -> Scrape:
    """The first scrape that satisfies `predicate`: usage hooks run as each response closes."""
    deadline = time.monotonic() + timeout
    while True:
        current = Scrape(server)
        if predicate(current) or time.monotonic() > deadline:
            return current
        time.sleep(0.05)


def test_counters_add_up_across_both_workers(server):
    before = Scrape(server)
    sent = {"requests": 0, "input": 0, "output": 0}
    first, second = sorted(server.worker_pids())
    for frozen, count in ((second, 3), (first, 2)):
        with server.frozen(frozen):  # every request of this round is served by the other worker
            client = server.openai(default_headers=CLOSE)
            for index in range(count):
                reply = client.chat.completions.with_raw_response.create(
                    model="gpt-4o", messages=[{"role": "user", "content": "word " * (index + 1)}],
                    extra_headers={"x-request-id": f"metrics-{frozen}-{index}"})
                usage = reply.parse().usage
                sent["requests"] += 1
                sent["input"] += usage.prompt_tokens
                sent["output"] += usage.completion_tokens
    served = {server.worker_for(f"metrics-{frozen}-{index}") for frozen, count in ((second, 3), (first, 2))
              for index in range(count)}
    assert served == {first, second}

    def delta(scrape, name, **labels):
        return scrape.value(name, **labels) - before.value(name, **labels)

    after = settled(server, lambda s: delta(s, "cortex_requests_total", status="200", **GPT) >= sent["requests"])
    assert delta(after, "cortex_requests_total", status="200", **GPT) == sent["requests"] == 5
    assert delta(after, "cortex_request_duration_seconds_count", **GPT) == 5
    assert delta(after, "cortex_request_duration_seconds_bucket", le="+Inf", **GPT) == 5
    assert delta(after, "cortex_tokens_total", provider="mockai", model="gpt-4o", direction="input") == sent["input"]
    assert delta(after, "cortex_tokens_total", provider="mockai", model="gpt-4o", direction="output") == sent["output"]
    assert delta(after, "cortex_time_to_first_token_seconds_count", **GPT) == 0, "not streamed"


def test_streams_anthropic_surface_and_time_to_first_token(server):
    before = Scrape(server)
    message = server.anthropic(default_headers=CLOSE).messages.create(
        model="claude-3-5-sonnet-20241022", max_tokens=20, messages=HI)
    assert list(server.openai(default_headers=CLOSE).chat.completions.create(model="gpt-4o", messages=HI, stream=True))
    after = settled(server, lambda s: s.value("cortex_time_to_first_token_seconds_count", **GPT)
                    > before.value("cortex_time_to_first_token_seconds_count", **GPT))
    assert after.value("cortex_requests_total", status="200", **CLAUDE) == \
        before.value("cortex_requests_total", status="200", **CLAUDE) + 1
    tokens = {"provider": "mockanthropic", "model": "claude-3-5-sonnet-20241022"}
    assert after.value("cortex_tokens_total", direction="output", **tokens) == \
        before.value("cortex_tokens_total", direction="output", **tokens) + message.usage.output_tokens
    assert after.value("cortex_time_to_first_token_seconds_count", **GPT) == \
        before.value("cortex_time_to_first_token_seconds_count", **GPT) + 1


def test_upstream_errors_by_provider_and_code_including_failover(server, mock):
    before = Scrape(server)
    mock.script("/v1/chat/completions", Fail(500, "boom"), Fail(503, "overloaded"))
    with pytest.raises(openai.InternalServerError):
        server.openai(default_headers=CLOSE).chat.completions.create(model="gpt-4o", messages=HI)
    reply = server.openai(default_headers=CLOSE).chat.completions.with_raw_response.create(model="smart", messages=HI)
    assert reply.headers["x-cortex-provider"] == "mockanthropic", "the 503 made the virtual model fail over"
    served_by_fallback = {**CLAUDE, "surface": "openai"}
    # A request is counted when its response closes, after the client has the body: wait for it.
    after = settled(server, lambda s: s.value("cortex_requests_total", status="200", **served_by_fallback)
                    > before.value("cortex_requests_total", status="200", **served_by_fallback))
    for code in ("upstream_500", "upstream_503"):
        assert after.value("cortex_upstream_errors_total", provider="mockai", code=code) == \
            before.value("cortex_upstream_errors_total", provider="mockai", code=code) + 1
    assert after.value("cortex_requests_total", status="502", **GPT) == \
        before.value("cortex_requests_total", status="502", **GPT) + 1
    assert after.value("cortex_requests_total", status="200", **served_by_fallback) == \
        before.value("cortex_requests_total", status="200", **served_by_fallback) + 1


def test_inflight_gauge_counts_a_stalled_request_then_drops(server, mock):
    assert Scrape(server).value("cortex_inflight_requests") == 0
    mock.script("/v1/chat/completions", Stall())  # Cortex gives up after the provider's 2 s timeout
    outcome = {}

    def call():
        try:
            server.openai(default_headers=CLOSE).chat.completions.create(model="gpt-4o", messages=HI)
        except openai.APIStatusError as exc:
            outcome["status"] = exc.status_code

    caller = threading.Thread(target=call)
    caller.start()
    try:
        during = settled(server, lambda s: s.value("cortex_inflight_requests") == 1)
        assert during.value("cortex_inflight_requests") == 1
    finally:
        caller.join(10)
    assert outcome == {"status": 504}
    after = settled(server, lambda s: s.value("cortex_inflight_requests") == 0)
    assert after.value("cortex_inflight_requests") == 0
    assert after.value("cortex_upstream_errors_total", provider="mockai", code="upstream_timeout") >= 1


def test_access_is_admin_key_or_loopback(server):
    assert scrape(server).status_code == 200
    assert scrape(server, Authorization=f"Bearer {ADMIN_KEY}").status_code == 200
    assert scrape(server, Authorization="Bearer wrong-key").status_code == 401, "a key sent is always checked"
    denied = scrape(server, Authorization=f"Bearer {INFERENCE_KEY}")
    assert denied.status_code == 403 and denied.json()["error"]["type"] == "permission_error"
    remote = {"X-Forwarded-For": "203.0.113.7"}  # trusted_proxies: 1, so this is the client address
    assert scrape(server, **remote).status_code == 401
    assert scrape(server, **remote, Authorization=f"Bearer {ADMIN_KEY}").status_code == 200


def test_exposition_format_and_no_secrets(server):
    server.openai(default_headers=CLOSE).chat.completions.create(model="gpt-4o", messages=HI)
    response = scrape(server)
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    families = {family.name: family.type for family in text_string_to_metric_families(response.text)}
    assert families["cortex_requests"] == "counter"
    assert families["cortex_request_duration_seconds"] == "histogram"
    assert families["cortex_inflight_requests"] == "gauge"
    for secret in SECRETS:
        assert secret not in response.text
    openmetrics = scrape(server, Accept="application/openmetrics-text; version=1.0.0; charset=utf-8")
    assert openmetrics.headers["Content-Type"].startswith("application/openmetrics-text")
    assert openmetrics.text.endswith("# EOF\n") and "cortex_requests_total" in openmetrics.text
