# Cortex under gunicorn (gevent workers), as an unprivileged user.
#   docker build -t cortex .
#   docker run -p 8090:8090 --stop-timeout 40 -e OPENAI_API_KEY -e ANTHROPIC_API_KEY -v cortex-data:/data cortex
# The config is /data/cortex.yaml (a copy of the shipped one until you mount your own); the
# SQLite store and its key file are created beside it, so /data is the volume to keep.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

RUN useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin cortex \
    && mkdir /data && chown cortex:cortex /data
COPY . .
COPY --chown=cortex:cortex cortex.yaml /data/cortex.yaml

# The environment overrides server.host/port in any mounted config: the container always
# listens where EXPOSE and the healthcheck expect it.
ENV CORTEX_CONFIG=/data/cortex.yaml \
    CORTEX_HOST=0.0.0.0 \
    CORTEX_PORT=8090
USER cortex
VOLUME /data
EXPOSE 8090

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ['CORTEX_PORT']}/health\", timeout=4)"]

# SIGTERM (docker stop) lets in-flight streams finish for CORTEX_GRACEFUL_TIMEOUT (30 s):
# give `docker stop` / `--stop-timeout` / compose's stop_grace_period more than that.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
