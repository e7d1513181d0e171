"""Query-string schemas for the usage surface (`/usage`, `/usage/summary`).

Unknown parameters are rejected so a misspelt filter is a 400, not a silently wider answer.
"""
import re
from datetime import datetime

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

# RFC 3339 section 5.6 date-time: the offset is mandatory (a naive time is ambiguous).
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
MAX_LIMIT = 1000
MAX_OFFSET = 2**63 - 1  # the largest integer SQLite and PostgreSQL take; more is a 400, not an overflow


class RFC3339Timestamp(fields.Field):
    """An RFC 3339 date-time, loaded as unix seconds (how usage records store time)."""

    def _deserialize(self, value, attr, data, **kwargs) -> float:
        text = value.strip() if isinstance(value, str) else ""
        if not RFC3339.fullmatch(text):
            hint = " (a '+' offset must be sent as %2B)" if re.search(r"\d \d{2}:\d{2}$", text) else ""
            raise ValidationError(f"not an RFC 3339 date-time such as 2024-11-01T00:00:00Z{hint}")
        try:
            return datetime.fromisoformat(text.upper().replace("Z", "+00:00")).timestamp()
        except ValueError as exc:
            raise ValidationError(f"not a valid date-time: {exc}") from None


class UsageFilterSchema(Schema):
    """The filters both endpoints share; start_time is inclusive, end_time exclusive."""

    class Meta:
        unknown = RAISE

    api_key = fields.String(validate=validate.Length(min=1))
    provider = fields.String(validate=validate.Length(min=1))
    model = fields.String(validate=validate.Length(min=1))
    start_time = RFC3339Timestamp()
    end_time = RFC3339Timestamp()

    @validates_schema
    def _window(self, data, **_):
        if "start_time" in data and "end_time" in data and data["start_time"] > data["end_time"]:
            raise ValidationError("must not be before start_time", "end_time")


class UsageListQuerySchema(UsageFilterSchema):
    limit = fields.Integer(load_default=100, validate=validate.Range(1, MAX_LIMIT))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, MAX_OFFSET))
    cursor = fields.String(validate=validate.Length(min=1))  # the X-Next-Cursor of the previous page

    @validates_schema
    def _one_way_of_paging(self, data, **_):
        if "cursor" in data and data["offset"]:
            raise ValidationError("use either offset or cursor, not both", "cursor")


USAGE_LIST_QUERY = UsageListQuerySchema()
USAGE_SUMMARY_QUERY = UsageFilterSchema()
