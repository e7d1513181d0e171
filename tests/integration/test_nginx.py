"""deploy/nginx.conf for real: nginx in front of real gunicorn, driven by the `openai` SDK.

Streams pass through chunk by chunk, client addresses come from X-Forwarded-For only when
Cortex trusts the proxy, and bodies up to Cortex's own limit reach Cortex.
"""
import os
import shutil
import subprocess
import time

import httpx2
import openai
import pytest
import requests

from tests.cortex_server import ADMIN_KEY, REPO, CortexServer, base_config, free_port
from tests.mocks import Stream
from tests.mocks.openai_wire import chat_completion_chunks

SITE_CONFIG = REPO / "deploy" / "nginx.conf"
# Where the shipped site config expects gunicorn and listens itself; the test moves both.
SHIPPED_UPSTREAM, SHIPPED_LISTEN = "server 127.0.0.1:8090;", "listen 80;"
# nginx runs in a scratch prefix: its temp files, logs and pid live there. gzip for event
# streams is the harshest main config an operator may have: it holds a stream back unless
# proxy buffering is off for it.
MAIN_CONFIG = """\
{user}
worker_processes 1;
error_log {prefix}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {prefix}/access.log;
    gzip on;
    gzip_types text/event-stream;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/cortex.conf;
}}
"""
CLIENT_ADDRESS = "127.0.0.2"  # the test's client connects from here; nginx reaches gunicorn from 127.0.0.1
SPOOFED_ADDRESS = "203.0.113.9"  # what a client claims in its own X-Forwarded-For
PACE = 0.3  # seconds between the upstream's stream events
PROMPT = [{"role": "user", "content": "one two three four five"}]


def nginx_binary() -> str:
    binary = shutil.which("nginx", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))
    if binary is None:
        pytest.fail("nginx is not installed: run `apt-get install -y nginx` (.ci/run does)", pytrace=False)
    return binary


def render_site_config(listen_port: int, upstream_port: int) -> str:
    text = SITE_CONFIG.read_text()
    assert text.count(SHIPPED_UPSTREAM) == 1 and text.count(SHIPPED_LISTEN) == 1, "deploy/nginx.conf changed shape"
    return (text.replace(SHIPPED_UPSTREAM, f"server 127.0.0.1:{upstream_port};")
                .replace(SHIPPED_LISTEN, f"listen 127.0.0.1:{listen_port};"))


@pytest.fixture(scope="module")
def trusted_cortex(mock, tmp_path_factory):
    """Cortex configured as the README says for running behind nginx."""
    workdir = tmp_path_factory.mktemp("cortex-behind-nginx")
    config = base_config(mock.url, workdir / "cortex.db")
    config["server"]["trusted_proxies"] = 1
    server = CortexServer(config, workdir, workers=1).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def nginx_url(trusted_cortex, tmp_path_factory):
    binary = nginx_binary()
    prefix = tmp_path_factory.mktemp("nginx")
    port = free_port()
    (prefix / "cortex.conf").write_text(render_site_config(port, trusted_cortex.port))
    # As root nginx would hand its workers to `nobody`, who cannot enter pytest's tmp dirs.
    user = "user root;" if os.geteuid() == 0 else ""
    (prefix / "nginx.conf").write_text(MAIN_CONFIG.format(user=user, prefix=prefix))
    log_path = prefix / "nginx.out"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
                                    "-g", f"daemon off; pid {prefix}/nginx.pid;"], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, process, lambda: log_path.read_text() + (prefix / "error.log").read_text())
        yield url
    finally:
        process.terminate()
        process.wait(10)


def wait_until_serving(url: str, process: subprocess.Popen, log, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"nginx exited with {process.returncode}:\n{log()}", pytrace=False)
        try:
            if requests.get(url + "/health", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass  # not listening yet
        time.sleep(0.1)
    pytest.fail(f"nginx did not proxy /health to Cortex:\n{log()}", pytrace=False)


def openai_via_nginx(nginx_url: str) -> openai.OpenAI:
    transport = httpx2.HTTPTransport(local_address=CLIENT_ADDRESS)
    return openai.OpenAI(base_url=nginx_url + "/v1", api_key=ADMIN_KEY, max_retries=0,
                         http_client=openai.DefaultHttpxClient(transport=transport))


def test_stream_arrives_chunk_by_chunk_through_nginx(nginx_url, mock):
    events = chat_completion_chunks({"messages": PROMPT}, "gpt-4o")
    mock.script("/v1/chat/completions", Stream(events, delay=PACE))
    arrivals, text = [], ""
    for chunk in openai_via_nginx(nginx_url).chat.completions.create(model="gpt-4o", messages=PROMPT, stream=True):
        arrivals.append(time.monotonic())
        text += chunk.choices[0].delta.content or ""
    assert text == "echo: one two three four five"
    assert len(arrivals) == len(events)
    # Buffered anywhere on the way, the chunks would arrive together at the end.
    assert arrivals[-1] - arrivals[0] >= 0.8 * (len(events) - 1) * PACE


def test_client_address_is_the_one_nginx_saw(nginx_url, trusted_cortex):
    spoofed = {"X-Forwarded-For": SPOOFED_ADDRESS}
    openai_via_nginx(nginx_url).chat.completions.create(
        model="gpt-4o", messages=PROMPT, extra_headers={**spoofed, "x-request-id": "via-nginx"})
    assert trusted_cortex.access_entry("via-nginx")["client"] == CLIENT_ADDRESS
    # The same header sent straight to a Cortex that trusts one proxy is believed: why
    # gunicorn must listen on loopback only behind nginx.
    trusted_cortex.openai().chat.completions.create(
        model="gpt-4o", messages=PROMPT, extra_headers={**spoofed, "x-request-id": "around-nginx"})
    assert trusted_cortex.access_entry("around-nginx")["client"] == SPOOFED_ADDRESS


def test_forwarded_for_ignored_without_trusted_proxies(cortex):
    cortex.openai().chat.completions.create(
        model="gpt-4o", messages=PROMPT,
        extra_headers={"X-Forwarded-For": SPOOFED_ADDRESS, "x-request-id": "untrusted-forwarded-for"})
    assert cortex.access_entry("untrusted-forwarded-for")["client"] == "127.0.0.1"


def test_body_over_max_body_mb_gets_cortex_413_through_nginx(nginx_url):
    response = requests.post(nginx_url + "/v1/chat/completions", data=b"x" * (30 * 1024 * 1024 + 1024),
                             headers={"Authorization": f"Bearer {ADMIN_KEY}", "Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
