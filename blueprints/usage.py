"""Usage tracking: `GET /usage` (records, newest first) and `GET /usage/summary`."""
from flask import Blueprint, g

from app.web import cortex, json_response, load_query
from schemas.usage import USAGE_LIST_QUERY, USAGE_SUMMARY_QUERY

bp = Blueprint("usage", __name__, url_prefix="/usage")


@bp.get("")
def list_records():
    page = cortex().usage_queries.page(g.principal, load_query(USAGE_LIST_QUERY))
    # The body stays the bare array of API.md; the next page's position travels in a header.
    return json_response(page.records, headers={"X-Next-Cursor": page.next_cursor} if page.next_cursor else None)


@bp.get("/summary")
def summary():
    return json_response(cortex().usage_queries.summary(g.principal, load_query(USAGE_SUMMARY_QUERY)))
