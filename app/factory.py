"""The application factory: builds the app-wide objects and wires the blueprints."""
import atexit
import logging
import os
import sys
import time

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app import cli, ratelimit, sessions, web
from app.auth import KeyRing
from app.budgets import Budgets
from app.cache import RedisResponseCache, ResponseCache
from app.catalog import ProviderCatalog
from app.clock import wall_clock
from app.config import CortexConfig, load_config
from app.db import Store
from app.embeddings import EmbeddingService
from app.health import ProviderHealth
from app.inference import InferenceService
from app.inflight import InflightRegistry, RedisInflightRegistry
from app.keys import RuntimeKeys
from app.metrics import Metrics
from app.genai import provider_servers
from app.oauth import OAuthService
from app.oauth.crypto import load_key
from app.otlp import BatchExporter
from app.providers import build_adapters
from app.redis_state import RedisCounters, redis_client
from app.responses import ResponsesService, ResponseStore
from app.routing import Router
from app.settings import RuntimeSettings
from app.shm import SharedCounters, shared_dir
from app.tracing import Tracer
from app.transcriptions import TranscriptionService
from app.usage import FLUSH_INTERVAL_SECS, usage_writer
from app.usage_query import UsageQueries


class Cortex:
    """Everything app-wide, kept on `app.extensions["cortex"]`."""

    def __init__(self, config: CortexConfig):
        self.config = config
        self.router = Router(config)
        self.store = Store(config.storage)
        self.clock = wall_clock()
        # Instance-wide state in shared memory; with redis_url, shared by every instance in Redis.
        self.redis = redis_client(config.storage.redis_url) if config.storage.redis_url else None
        if self.redis is not None:
            self.counters, self.inflight = RedisCounters(self.redis), RedisInflightRegistry(self.redis)
        else:
            shared = shared_dir()
            self.counters = SharedCounters(f"{shared}/counters.shm")
            self.inflight = InflightRegistry(f"{shared}/inflight.shm")
        self.settings = RuntimeSettings(config, self.store, self.counters)
        self.runtime_keys = RuntimeKeys(config.api_keys, self.store, self.counters, self.clock)
        self.keys = KeyRing(config.api_keys, self.runtime_keys, self.clock)
        self.encryption_key = load_key(config)  # OAuth tokens, and what dashboard sessions are signed with
        self.oauth = OAuthService(config, self.store, self.settings, self.counters, self.encryption_key)
        self.adapters = build_adapters(config, self.oauth)
        self.catalog = ProviderCatalog(config, self.adapters, self.oauth)
        self.catalog.start_discovery(self.router)
        self.usage = usage_writer(self.store, float(os.environ.get("CORTEX_USAGE_FLUSH_SECS", FLUSH_INTERVAL_SECS)))
        self.cache = RedisResponseCache(self.redis) if self.redis is not None else ResponseCache(self.store)
        self.usage_queries = UsageQueries(self.store)
        self.metrics = Metrics()
        self.budgets = Budgets(self.counters, self.metrics, self.clock, self.store)
        self.tracer = self._tracer(config) if config.observability.enabled else None
        self.health = ProviderHealth(p.name for p in config.providers)  # per worker
        self.inference = InferenceService(self.router, self.adapters, self.settings, self.usage, self.cache,
                                          self.metrics, self.health, self.budgets, secrets=config.secrets,
                                          tracer=self.tracer)
        self.embeddings = EmbeddingService(self.inference)
        self.transcriptions = TranscriptionService(self.inference)
        self.responses = ResponsesService(self.inference,
                                          ResponseStore(self.store, config.storage.responses_retention_days))
        self.permissions = {}  # blueprint name -> permission its routes need (None: public)

    def _tracer(self, config: CortexConfig) -> Tracer:
        exporter = BatchExporter(config.observability, on_drop=self.metrics.observe_spans,
                                 on_export=lambda count: self.metrics.observe_spans("exported", count))
        return Tracer(exporter, config.observability.capture_content, provider_servers(config.providers))

    def close(self):
        """Flush queued usage, cache writes and spans, release connections; gunicorn's worker_exit calls this."""
        self.oauth.close()
        self.catalog.close()
        self.runtime_keys.close()
        self.usage.close()
        if self.tracer is not None:
            self.tracer.close()
        self.cache.close()
        self.responses.store.close()
        for adapter in self.adapters.values():
            adapter.close()
        if self.redis is not None:
            self.redis.close()
        self.store.close()


class LogFormatter(logging.Formatter):
    """logging's Formatter, formatting each second's date and time once: `formatTime` (localtime
    and strftime) was 1.4 % of a chat request's worker time (py-spy), one access line a request."""

    def __init__(self, fmt: str):
        super().__init__(fmt)
        self._second, self._second_text = None, ""

    def formatTime(self, record, datefmt=None):  # noqa: N802 - logging's name
        second = int(record.created)
        if second != self._second:
            self._second, self._second_text = second, time.strftime(self.default_time_format, self.converter(second))
        return self.default_msec_format % (self._second_text, record.msecs)


def _configure_logging():
    # No record asks for its thread: looking it up costs each log call, and under gevent each
    # greenlet that logs would get a dummy Thread object (2,000 held streams, 2,000 objects).
    # (gunicorn's own lines show the process id, so that stays.)
    logging.logThreads = logging.logMultiprocessing = False
    logger = logging.getLogger("cortex")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(LogFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def build_app(config_path=None, config: CortexConfig | None = None) -> Flask:
    from blueprints import (admin, anthropic, config as config_api, dashboard, gemini, health, keys,  # noqa: PLC0415
                            metrics, oauth, openai, openapi, providers, responses, usage)

    config = config or load_config(config_path)
    _configure_logging()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = int(config.server.max_body_mb * 1024 * 1024)
    if config.server.trusted_proxies:
        hops = config.server.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
    cortex = app.extensions["cortex"] = Cortex(config)
    sessions.init_app(app, cortex.encryption_key)
    atexit.register(cortex.close)

    app.before_request(web.assign_request_id)
    app.before_request(web.authenticate)  # before the limiter: limits are per authenticated key
    inference_blueprints = (openai.bp, anthropic.bp, gemini.bp, responses.bp)
    surfaces = ((openai.bp, "inference"), (anthropic.bp, "inference"), (gemini.bp, "inference"),
                (responses.bp, "inference"), (health.bp, None),
                (admin.bp, "admin"), (config_api.bp, "admin"), (keys.bp, "admin"), (usage.bp, "usage"),
                (metrics.bp, None),  # /metrics: admin key or loopback, checked by its blueprint
                (providers.bp, "admin"), (oauth.bp, "admin"),
                (oauth.callback_bp, None),  # guarded by the single-use state instead of a key
                (openapi.bp, None),  # a schema of the routes: no data, no configuration
                (dashboard.bp, None))  # signed-in sessions, checked by its blueprint (app.sessions)
    for blueprint, permission in surfaces:
        app.register_blueprint(blueprint)
        cortex.permissions[blueprint.name] = permission
    cortex.limiter = ratelimit.init_app(app, inference_blueprints)
    app.after_request(web.finish_request)
    app.register_error_handler(Exception, web.handle_error)
    cli.init_app(app)
    return app
