"""The floor under Cortex's plain path (bench/floor.py): one upstream call on the same stack.

`bare` is a WSGI function, `flask_app` the same call as one Flask view; both served by gunicorn
with one gevent worker, calling the mock with geventhttpclient as Cortex's adapters do.
"""
import os

from flask import Flask, Response, request
from geventhttpclient import HTTPClient
from geventhttpclient.url import URL

UPSTREAM = URL(os.environ["UPSTREAM"])
client = HTTPClient.from_url(UPSTREAM, concurrency=64)
HEADERS = {"Content-Type": "application/json", "Authorization": "Bearer sk-mock-upstream"}


def call(body: bytes) -> tuple[int, bytes]:
    reply = client.post(UPSTREAM.request_uri, body=body, headers=HEADERS)
    return reply.status_code, reply.read()


def bare(environ, start_response):
    status, data = call(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
    start_response(f"{status} OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


flask_app = Flask(__name__)


@flask_app.post("/v1/chat/completions")
def chat():
    status, data = call(request.get_data())
    return Response(data, status=status, content_type="application/json")
