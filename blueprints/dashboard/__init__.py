"""The operator's dashboard: `/dashboard` (sign in with an admin key).

Server-rendered pages whose scripts (static/, no CDN: many installs cannot reach the
internet) call the admin, usage and metrics APIs with the session cookie (app.sessions) and
draw the charts in the browser. The one view that builds data here is the CSV export.
"""
import csv
import io

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for

from app import sessions
from app.errors import AuthenticationFailed, PermissionDenied
from app.web import cortex, load_query
from schemas.usage import USAGE_LIST_QUERY

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard", template_folder="templates",
               static_folder="static")

# (endpoint, title): the navigation, in order; each page is templates/dashboard/<endpoint>.html.
PAGES = (("overview", "Overview"), ("inflight", "Live"), ("providers", "Providers"), ("usage", "Usage"),
         ("keys", "Keys"), ("settings", "Settings"))
PUBLIC_ENDPOINTS = frozenset(("dashboard.sign_in", "dashboard.static"))
CSV_MAX_ROWS = 50_000
CSV_COLUMNS = ("timestamp", "request_id", "api_key_name", "provider", "model", "requested_model", "endpoint",
               "stream", "status", "http_status", "error_code", "input_tokens", "output_tokens", "total_tokens",
               "cache_read_tokens", "cache_creation_tokens", "latency_ms", "ttft_ms", "cost_usd", "cached")
# Every asset is the package's own: nothing else may load, run or frame the pages.
SECURITY_HEADERS = {"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                                               "form-action 'self'; base-uri 'none'",
                    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "Cache-Control": "no-store"}


@bp.before_request
def require_session():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    try:
        g.dashboard_key = sessions.signed_in(cortex().keys, request.method, request.form.get("csrf"))
    except AuthenticationFailed:
        if request.method == "GET":
            return redirect(url_for("dashboard.sign_in"))
        raise
    return None


@bp.after_request
def security_headers(response):
    response.headers.update(SECURITY_HEADERS)
    return response


def _page(endpoint: str, **context):
    return render_template(f"dashboard/{endpoint}.html", pages=PAGES, current=endpoint,
                           key_name=g.dashboard_key.name if "dashboard_key" in g else None,
                           csrf=sessions.csrf_token(), **context)


@bp.route("/login", methods=("GET", "POST"), endpoint="sign_in")
def sign_in():
    if request.method == "GET":
        return _page("login")
    try:
        sessions.check_csrf(request.form.get("csrf"))
        sessions.sign_in(cortex().keys, request.form.get("key", "").strip())
    except (AuthenticationFailed, PermissionDenied) as exc:
        return _page("login", error=exc.message), exc.status
    return redirect(url_for("dashboard.overview"))


@bp.post("/logout")
def sign_out():
    sessions.sign_out()
    return redirect(url_for("dashboard.sign_in"))


def _render_page(endpoint: str):
    return lambda: _page(endpoint)


for _endpoint, _title in PAGES:
    bp.add_url_rule("/" if _endpoint == "overview" else f"/{_endpoint}", _endpoint, _render_page(_endpoint))


@bp.get("/usage.csv")
def usage_csv():
    """The usage explorer's records as CSV: the /usage filters, newest first, up to CSV_MAX_ROWS rows."""
    query = load_query(USAGE_LIST_QUERY)
    query["limit"] = 1000
    principal = g.dashboard_key
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    written = 0
    while written < CSV_MAX_ROWS:
        page = cortex().usage_queries.page(principal, query)
        writer.writerows(page.records)
        written += len(page.records)
        if not page.next_cursor:
            break
        query = {**query, "cursor": page.next_cursor, "offset": 0}
    return current_app.response_class(out.getvalue(), mimetype="text/csv",
                                      headers={"Content-Disposition": 'attachment; filename="cortex-usage.csv"'})
