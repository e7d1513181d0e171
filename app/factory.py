"""The application factory: builds the app-wide objects and wires the blueprints."""
import atexit
import logging
import os
import sys

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app import ratelimit, web
from app.auth import KeyRing
from app.config import CortexConfig, load_config
from app.db import Store
from app.inference import InferenceService
from app.providers import build_adapters
from app.routing import Router
from app.settings import RuntimeSettings
from app.usage import FLUSH_INTERVAL_SECS, UsageWriter


class Cortex:
    """Everything app-wide, kept on `app.extensions["cortex"]`."""

    def __init__(self, config: CortexConfig):
        self.config = config
        self.keys = KeyRing(config.api_keys)
        self.router = Router(config)
        self.adapters = build_adapters(config)
        self.settings = RuntimeSettings(config)
        self.store = Store(config.storage)
        self.usage = UsageWriter(self.store, float(os.environ.get("CORTEX_USAGE_FLUSH_SECS", FLUSH_INTERVAL_SECS)))
        self.inference = InferenceService(self.router, self.adapters, self.settings, self.usage)
        self.permissions = {}  # blueprint name -> permission its routes need (None: public)

    def close(self):
        """Flush queued usage and release connections; gunicorn's worker_exit calls this."""
        self.usage.close()
        for adapter in self.adapters.values():
            adapter.close()


def _configure_logging():
    logger = logging.getLogger("cortex")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def build_app(config_path=None, config: CortexConfig | None = None) -> Flask:
    from blueprints import anthropic, health, openai  # noqa: PLC0415 - blueprints import app modules

    config = config or load_config(config_path)
    _configure_logging()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = int(config.server.max_body_mb * 1024 * 1024)
    if config.server.trusted_proxies:
        hops = config.server.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
    cortex = app.extensions["cortex"] = Cortex(config)
    atexit.register(cortex.close)

    app.before_request(web.assign_request_id)
    app.before_request(web.authenticate)  # before the limiter: limits are per authenticated key
    inference_blueprints = (openai.bp, anthropic.bp)
    for blueprint, permission in ((openai.bp, "inference"), (anthropic.bp, "inference"), (health.bp, None)):
        app.register_blueprint(blueprint)
        cortex.permissions[blueprint.name] = permission
    cortex.limiter = ratelimit.init_app(app, inference_blueprints)
    app.after_request(web.finish_request)
    app.register_error_handler(Exception, web.handle_error)
    return app
