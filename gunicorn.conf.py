"""Gunicorn settings: gevent workers, bind and worker count from cortex.yaml (env overrides).

The config is validated before any worker forks, so a bad file stops start-up. No preload:
each worker builds its own app (sessions, store connection).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

# Validated in a child process that hands back the master's few settings: loading the config
# imports PyYAML, marshmallow and the schemas, ~5 MB that would stay in the master's RSS (and
# in the gateway's) for nothing, since the master only forks workers and each loads it again.
_CHECK = """
import json, sys
from app.config import ConfigError, exposed_development_key, load_config
try:
    config = load_config()
except ConfigError as exc:
    sys.exit(f"cortex: {exc}")
if exposed_development_key(config):
    sys.exit(f"cortex: refusing to start: {exposed_development_key(config)}")
server = config.server
print(json.dumps({"bind": f"{server.host}:{server.port}", "workers": server.workers,
                  "trusted_proxies": server.trusted_proxies}))
"""
_check = subprocess.run([sys.executable, "-c", _CHECK], stdout=subprocess.PIPE, text=True,
                        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
if _check.returncode:
    sys.exit(_check.returncode)  # the child wrote its reason to the shared stderr
_server = json.loads(_check.stdout)

bind = _server["bind"]
workers = _server["workers"]
worker_class = "gevent"
worker_connections = 10000  # concurrent streams per worker
keepalive = 75              # longer than nginx's and most load balancers' idle timeouts
graceful_timeout = int(os.environ.get("CORTEX_GRACEFUL_TIMEOUT", "30"))
timeout = 60                # heartbeat only: gevent workers serve long streams regardless
preload_app = False
accesslog = None            # Cortex logs one structured line per request itself
# If an operator turns gunicorn's access log on: the path without its query string (%(U)s), where
# a Gemini client may send its key (`?key=`).
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(f)s" "%(a)s"'
errorlog = "-"
# Behind trusted proxies the app's ProxyFix reads X-Forwarded-*. With none, gunicorn honours no
# forwarding header from any peer: the same as trusting every peer with an empty header list,
# which spares gunicorn parsing each peer's address against an allow list (~2 us a request).
forwarded_allow_ips = "*"
if not _server["trusted_proxies"]:
    secure_scheme_headers = {}
    forwarder_headers = ""


def on_starting(server):
    # Shared memory for instance-wide counters (rate limits, in-flight ids), created
    # before the workers fork so they all map the same files.
    os.environ["CORTEX_SHM_DIR"] = tempfile.mkdtemp(prefix="cortex-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    # prometheus_client's multiprocess mode: each worker writes its samples here and /metrics
    # merges them. Set before any worker imports prometheus_client (the master never does).
    metrics_dir = os.path.join(os.environ["CORTEX_SHM_DIR"], "metrics")
    os.mkdir(metrics_dir)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir


def on_exit(server):
    shutil.rmtree(os.environ.get("CORTEX_SHM_DIR", ""), ignore_errors=True)


def post_worker_init(worker):
    from app.collector import tune_worker  # imports gevent: in the worker, once gunicorn has patched
    tune_worker()


def worker_exit(server, worker):
    # Runs in the worker after its last request: flush queued usage records.
    app = getattr(worker, "wsgi", None)
    if app is not None and "cortex" in getattr(app, "extensions", {}):
        app.extensions["cortex"].close()
    # Here rather than in the master's child_exit: importing prometheus_client there would
    # import ssl before the next worker's gevent patches it.
    from prometheus_client import multiprocess  # noqa: PLC0415
    multiprocess.mark_process_dead(worker.pid)  # its in-flight gauge leaves the live sum
