"""The mock upstreams every arm talks to, and the model names that reach each of them.

- nginx (C, never the bottleneck) answers canned bytes in both provider formats:
  `/json/v1/chat/completions` a chat completion and `/json/v1/messages` an Anthropic message,
  `/sse/v1/…` each as a whole SSE stream at once.
- bench/paced_sse.py (gevent) answers streams paced in time, for time-to-first-byte,
  inter-chunk and slow-stream measurements, which nginx cannot do (both formats too).

A gateway reaches each by a model name (`Upstreams.models`: model → `Upstream`, its root
and format), so one request body works for every arm and only the model says which upstream
answers: `mock-json` is the OpenAI-format canned answer, `mock-anthropic-json` the Anthropic one.
"""
import shutil
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import wire
from processes import Service, free_port

BENCH = Path(__file__).resolve().parent
SSE_CHUNKS = 8  # content chunks of the canned (unpaced) stream
FORMATS = (wire.OPENAI, wire.ANTHROPIC, wire.RESPONSES)  # the provider formats every upstream answers in


@dataclass(frozen=True)
class Upstream:
    """Where one mock model is served, and in which provider format."""

    root: str
    format: wire.Surface

    @property
    def base_url(self) -> str:
        """What a gateway's provider entry is given (the format's SDK base URL)."""
        return self.format.base_url(self.root)

    @property
    def chat_url(self) -> str:
        """Where the direct arm sends its requests."""
        return self.root + self.format.upstream_path


@dataclass(frozen=True)
class Pace:
    """How the paced upstream spaces a stream."""

    first_ms: int
    interval_ms: int
    chunks: int
    stamped: bool = False  # the first token carries its send time (bench/stream_holder.py reads it)

    @property
    def path(self) -> str:
        """The root of this pace at bench/paced_sse.py; each format's chat path goes under it."""
        return f"/pace/{self.first_ms}/{self.interval_ms}/{self.chunks}{'/stamped' if self.stamped else ''}"


def _nginx_string(text: bytes) -> str:
    return "'" + text.decode().replace("\\", "\\\\").replace("'", "\\'") + "'"


def nginx_config(workdir: Path, port: int) -> str:
    temp = "\n".join(f"  {kind}_temp_path {workdir}/nginx-{kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""worker_processes 1;
daemon off;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log warn;
events {{ worker_connections 16384; multi_accept on; }}
http {{
  access_log off;
{temp}
  keepalive_requests 100000000;
  keepalive_timeout 120s;
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    location = /health {{ return 200 'ok'; }}
    location = /v1/traces {{ return 200; }}  # an OTLP sink for the cortex-traced arm
{_canned_locations()}
  }}
}}
"""


def _canned_locations() -> str:
    """`/json/…` and `/sse/…` in every provider format: the whole answer in one write."""
    locations = []
    for upstream in FORMATS:
        whole, streamed = wire.ANSWERS[upstream.name]
        for kind, content_type, body in (("json", "application/json", whole()),
                                         ("sse", "text/event-stream", b"".join(streamed(SSE_CHUNKS)))):
            locations.append(f"""    location = /{kind}{upstream.upstream_path} {{
      default_type {content_type};
      return 200 {_nginx_string(body)};
    }}""")
    return "\n".join(locations)


class Upstreams:
    """nginx and the paced SSE server, running on the load core for the whole run."""

    def __init__(self, workdir: Path, paces: dict[str, Pace]):
        self.workdir = workdir
        self.paces = paces  # kind of paced stream ("paced", "slow") → pace
        self.nginx_port = free_port()
        self.paced_port = free_port()
        self.services: list[Service] = []

    @property
    def models(self) -> dict[str, Upstream]:
        """Every kind of answer in every format: `mock-json`, `mock-anthropic-json`, `mock-paced`, …"""
        nginx = f"http://127.0.0.1:{self.nginx_port}"
        paced = f"http://127.0.0.1:{self.paced_port}"
        roots = {"json": f"{nginx}/json", "sse": f"{nginx}/sse",
                 **{kind: paced + pace.path for kind, pace in self.paces.items()}}
        return {upstream.mock_model(kind): Upstream(root, upstream) for upstream in FORMATS
                for kind, root in roots.items()}

    def start(self) -> "Upstreams":
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        config = self.workdir / "nginx.conf"
        config.write_text(nginx_config(self.workdir, self.nginx_port))
        self.services = [
            Service("nginx", [nginx, "-p", str(self.workdir), "-e", str(self.workdir / "nginx-error.log"),
                              "-c", str(config)], self.workdir, f"http://127.0.0.1:{self.nginx_port}/health"),
            Service("paced-sse", [sys.executable, str(BENCH / "paced_sse.py"), str(self.paced_port)], self.workdir,
                    f"http://127.0.0.1:{self.paced_port}/health"),
        ]
        for service in self.services:
            service.start(timeout=10)
        return self

    def open_streams(self) -> int:
        """How many streams the paced upstream is serving now (to every arm together)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.paced_port}/open", timeout=5) as response:
            return int(response.read())

    def stop(self) -> None:
        for service in self.services:
            service.stop()
