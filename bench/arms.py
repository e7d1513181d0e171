"""The arms measured side by side: what a client calls, and which process tree serves it.

- direct: the client calls the mock upstream itself (the baseline every figure is compared to).
- cortex: gunicorn with 1 gevent worker, pinned to the gateway core.
- litellm: the LiteLLM proxy, 1 worker, no database, in its own venv (bench/.venv-litellm).
- portkey: the Portkey gateway (npm), one Node process, installed into bench/portkey/node_modules.

A gateway arm differs from another only in its command, its config file and where it
serves each surface; starting, stopping and measuring are shared. Each gets one provider per
mock model, of the model's format (`type: openai` or `type: anthropic` in Cortex, `openai/…`
or `anthropic/…` in LiteLLM), so a request of either surface can reach an upstream of either format.
"""
import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import yaml

import wire
from load import Request
from processes import Pinning, Service, Usage, free_port, usage
from upstream import Upstream

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
UPSTREAM_KEY = "sk-mock-upstream"
# Newest release whose [proxy] extra resolves on the package mirror (1.107.0 was a compromised
# release and is gone from PyPI).
LITELLM_REQUIREMENT = "litellm[proxy]==1.106.12"
LITELLM_VENV = BENCH / ".venv-litellm"
PORTKEY_DIR = BENCH / "portkey"
PORTKEY_SERVER = PORTKEY_DIR / "node_modules" / "@portkey-ai" / "gateway" / "build" / "start-server.js"


class Arm:
    name = ""
    paths: dict[str, str] = {}  # surface name → path the arm serves it at

    def __init__(self, models: dict[str, Upstream]):
        self.models = models

    def url(self, request: Request) -> str | None:
        """Where a client sends `request`; None if this arm cannot serve it."""
        raise NotImplementedError

    def dressed(self, request: Request) -> Request:
        """`request` with the headers this arm needs besides the surface's."""
        return request

    def start(self, workdir: Path, pinning: Pinning) -> None:
        pass

    def stop(self) -> None:
        pass

    def usage(self) -> Usage | None:
        """CPU and memory of the serving process tree; None for the direct arm (nothing in between)."""
        return None


class DirectArm(Arm):
    """Only a client of the upstream's own format can call it: the baseline of both surfaces on
    that upstream."""

    name = "direct"

    def url(self, request):
        return self.models[request.model].chat_url if not request.translated else None


class GatewayArm(Arm):
    health_path = "/health"
    start_timeout = 30.0

    def __init__(self, models):
        super().__init__(models)
        self.port = free_port()
        self.service: Service | None = None

    def url(self, request):
        path = self.paths.get(request.surface.name)
        return None if path is None else f"http://127.0.0.1:{self.port}{path}"

    def command(self, config: Path) -> list[str]:
        raise NotImplementedError

    def config(self, workdir: Path) -> dict:
        raise NotImplementedError

    def env(self, config: Path) -> dict:
        return {}

    def start(self, workdir, pinning):
        config = workdir / f"{self.name}.yaml"
        config.write_text(yaml.safe_dump(self.config(workdir), sort_keys=False))
        self.service = Service(self.name, pinning.gateway_command(self.command(config)), workdir,
                               f"http://127.0.0.1:{self.port}{self.health_path}", env=self.env(config), cwd=REPO)
        self.service.start(self.start_timeout)

    def stop(self):
        if self.service:
            self.service.stop()

    def usage(self):
        return usage(self.service.pid)


class CortexArm(GatewayArm):
    name = "cortex"
    paths = {"openai": "/v1/chat/completions", "anthropic": "/anthropic/v1/messages", "responses": "/v1/responses"}
    # An upstream of the Responses format is an OpenAI-type provider serving it (passed through);
    # the OpenAI-format mocks serve chat only (a Responses request to them is translated).
    PROVIDERS = {"openai": {"type": "openai", "responses_api": "translate"}, "anthropic": {"type": "anthropic"},
                 "responses": {"type": "openai", "responses_api": "native"}}

    def config(self, workdir):
        return {
            "server": {"host": "127.0.0.1", "port": self.port, "workers": 1},
            "storage": {"database_url": f"sqlite:///{workdir / 'cortex-bench.db'}"},
            "api_keys": [{"name": "bench", "key": wire.API_KEY, "permissions": ["inference"]}],  # no rate limit
            "providers": [
                {"name": f"bench-{model}", **self.PROVIDERS[upstream.format.name], "base_url": upstream.base_url,
                 "api_keys": [UPSTREAM_KEY], "timeout_secs": 60, "models": [{"id": model}]}
                for model, upstream in self.models.items()
            ],
        }

    def command(self, config):
        return [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]

    def env(self, config):
        return {"CORTEX_CONFIG": str(config), "CORTEX_PORT": str(self.port), "CORTEX_WORKERS": "1",
                "CORTEX_GRACEFUL_TIMEOUT": "5"}


class TracedCortexArm(CortexArm):
    """Cortex with tracing on: a span per request, exported over OTLP/HTTP to the nginx mock
    (which accepts and discards it); read against the cortex arm of the same run."""

    name = "cortex-traced"

    def config(self, workdir):
        upstream = urlsplit(next(iter(self.models.values())).base_url)
        return {**super().config(workdir),
                "observability": {"otlp_endpoint": f"{upstream.scheme}://{upstream.netloc}"}}


class LiteLLMArm(GatewayArm):
    name = "litellm"
    paths = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages"}
    health_path = "/health/liveliness"
    start_timeout = 120.0  # imports alone take many seconds

    def config(self, workdir):
        return {
            "model_list": [  # LiteLLM is measured on the chat surfaces only
                {"model_name": model,
                 "litellm_params": {"model": f"{upstream.format.name}/{model}", "api_base": upstream.base_url,
                                    "api_key": UPSTREAM_KEY}}
                for model, upstream in self.models.items() if upstream.format is not wire.RESPONSES
            ],
            "general_settings": {"master_key": wire.API_KEY},
            "litellm_settings": {"telemetry": False, "drop_params": True},
        }

    def command(self, config):
        return [str(LITELLM_VENV / "bin" / "litellm"), "--config", str(config), "--host", "127.0.0.1",
                "--port", str(self.port), "--num_workers", "1"]

    def env(self, config):
        return {
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no network here: the bundled cost map, not a fetch
            "LITELLM_LOG": "ERROR",
            # /v1/messages to an OpenAI model goes to the Responses API by default; every arm must
            # hit the same upstream endpoint, /chat/completions.
            "LITELLM_USE_CHAT_COMPLETIONS_URL_FOR_ANTHROPIC_MESSAGES": "True",
        }

    def start(self, workdir, pinning):
        ensure_litellm()
        super().start(workdir, pinning)


def ensure_litellm() -> None:
    if (LITELLM_VENV / "bin" / "litellm").exists():
        return
    print(f"installing {LITELLM_REQUIREMENT} into {LITELLM_VENV} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True)
    subprocess.run([str(LITELLM_VENV / "bin" / "pip"), "install", "--quiet", LITELLM_REQUIREMENT], check=True)


class PortkeyArm(GatewayArm):
    """Portkey's open-source gateway has no config file: each request names its provider and
    upstream in headers (`x-portkey-provider`, `x-portkey-custom-host`) and carries the
    provider's key, so the arm dresses each request for the model's upstream."""

    name = "portkey"
    paths = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages"}
    health_path = "/"
    # Its /v1/messages answers "messages is not supported by openai": no Anthropic client on an OpenAI upstream.
    unserved = {("anthropic", "openai")}

    def url(self, request):
        return None if (request.surface.name, request.upstream.name) in self.unserved else super().url(request)

    def dressed(self, request):
        upstream = self.models[request.model]
        return dataclasses.replace(request, arm_headers=(
            ("x-portkey-provider", upstream.format.name),
            # Portkey appends `/chat/completions` (OpenAI) or `/messages` (Anthropic) to the host.
            ("x-portkey-custom-host", upstream.root + "/v1"),
            ("Authorization", f"Bearer {UPSTREAM_KEY}"), ("x-api-key", UPSTREAM_KEY)))

    def config(self, workdir):
        return {}  # nothing: providers come with each request

    def command(self, config):
        return [shutil.which("node") or "node", str(PORTKEY_SERVER), f"--port={self.port}", "--headless"]

    def env(self, config):
        return {"NODE_ENV": "production"}

    def start(self, workdir, pinning):
        ensure_portkey()
        super().start(workdir, pinning)


def ensure_portkey() -> None:
    """bench/portkey/package.json pins the gateway; installed on first use, not by CI."""
    if PORTKEY_SERVER.exists():
        return
    print(f"installing the Portkey gateway into {PORTKEY_DIR / 'node_modules'} ...", flush=True)
    subprocess.run(["npm", "ci", "--prefix", str(PORTKEY_DIR), "--no-audit", "--no-fund"], check=True)


ARMS = {arm.name: arm for arm in (DirectArm, CortexArm, TracedCortexArm, LiteLLMArm, PortkeyArm)}
