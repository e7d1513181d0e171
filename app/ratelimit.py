"""Per-key rate limits with flask-limiter, instance-wide across gunicorn workers.

Without a `storage_uri`/`redis_url`, counters live in `SharedCounters` (shared memory set
up by the gunicorn master), registered with `limits` as the `cortexshm://` scheme, so a key
with `3/minute` gets exactly 3 whatever the worker count. Requests of keys without a
`rate_limit` skip flask-limiter altogether.
"""
import functools
import time

from flask import g
from flask_limiter import Limiter
from limits.storage import Storage

from app.redis_state import CONNECT_TIMEOUT_SECS, SOCKET_TIMEOUT_SECS
from app.shm import SharedCounters, shared_dir


class SharedMemoryStorage(Storage):
    STORAGE_SCHEME = ["cortexshm"]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.counters = SharedCounters(uri[len("cortexshm://"):])

    @property
    def base_exceptions(self):
        return (OSError, RuntimeError)

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        return self.counters.incr(key, amount, expiry)

    def get(self, key: str) -> int:
        return self.counters.get(key)[0]

    def get_expiry(self, key: str) -> float:
        return self.counters.get(key)[1] or time.time()

    def check(self) -> bool:
        return True

    def reset(self) -> int | None:
        return self.counters.clear()

    def clear(self, key: str) -> None:
        self.counters.delete(key)


def _principal_name() -> str:
    return g.principal.name


def _principal_limit() -> str:
    return g.principal.rate_limit


def _unlimited() -> bool:
    principal = g.get("principal")
    return principal is None or not principal.rate_limit


def _for_limited_keys(hook):
    """A flask-limiter request hook that runs only for callers with a rate limit."""
    @functools.wraps(hook)
    def hook_for_limited_keys(*args):
        if _unlimited():
            return args[0] if args else None  # an after-request hook hands the response on
        return hook(*args)
    return hook_for_limited_keys


REDIS_OPTIONS = {"socket_timeout": SOCKET_TIMEOUT_SECS, "socket_connect_timeout": CONNECT_TIMEOUT_SECS}


def storage_uri(config) -> str:
    return (config.rate_limit_storage_uri or config.storage.redis_url
            or f"cortexshm://{shared_dir()}/ratelimit.shm")


def init_app(app, inference_blueprints) -> Limiter:
    """Register the limiter after authentication so limits are keyed by the caller's key."""
    uri = storage_uri(app.extensions["cortex"].config)
    limiter = Limiter(
        key_func=_principal_name,
        storage_uri=uri,
        # Redis: fail fast when it is down. Meanwhile each worker counts in its own memory
        # (a key gets its limit per worker, not per deployment) and checks back now and
        # then; /ready reports the outage.
        storage_options=REDIS_OPTIONS if uri.startswith(("redis://", "rediss://")) else {},
        in_memory_fallback_enabled=True,
        strategy="fixed-window",
        headers_enabled=True,
        key_prefix="cortex",
    )
    # One shared scope: a key's budget covers both inference surfaces together.
    shared = limiter.shared_limit(_principal_limit, scope="inference")
    for blueprint in inference_blueprints:
        shared(blueprint)
    # flask-limiter hooks every request (before, after, teardown) and its machinery costs ~40 us
    # per request even when a request filter exempts the request: its hooks are wrapped so that
    # they run only for keys that have a limit.
    hook_lists = (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs)
    earlier = [list(hooks.get(None, ())) for hooks in hook_lists]
    limiter.init_app(app)
    for hooks, existing in zip(hook_lists, earlier):
        hooks[None] = [hook if hook in existing else _for_limited_keys(hook) for hook in hooks.get(None, ())]
    return limiter
