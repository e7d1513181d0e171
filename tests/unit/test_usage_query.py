"""Pure parts of the usage surface: the query schema's time parsing and the paging cursor."""
import pytest

from app.errors import InvalidRequest
from app.usage_query import decode_cursor, encode_cursor, rfc3339
from schemas.usage import USAGE_LIST_QUERY, USAGE_SUMMARY_QUERY


def test_defaults():
    assert USAGE_LIST_QUERY.load({}) == {"limit": 100, "offset": 0}
    assert USAGE_SUMMARY_QUERY.load({}) == {}


@pytest.mark.parametrize("text, unix", [
    ("2024-11-29T10:30:00Z", 1732876200.0),
    ("2024-11-29t10:30:00z", 1732876200.0),
    ("2024-11-29T11:30:00+01:00", 1732876200.0),
    ("2024-11-29T05:30:00.250-05:00", 1732876200.25),
    ("2024-11-29T10:30:00.1234567Z", 1732876200.123456),  # beyond microseconds: truncated
])
def test_rfc3339_times_load_as_unix_seconds(text, unix):
    assert USAGE_SUMMARY_QUERY.load({"start_time": text})["start_time"] == pytest.approx(unix, abs=1e-6)


def test_records_render_whole_seconds_in_utc():
    assert rfc3339(1732876200.999) == "2024-11-29T10:30:00Z"


@pytest.mark.parametrize("timestamp, record_id", [(1732876200.123456789, 1), (0.1 + 0.2, 10**12)])
def test_cursor_round_trips_exactly(timestamp, record_id):
    assert decode_cursor(encode_cursor(timestamp, record_id)) == (timestamp, record_id)


@pytest.mark.parametrize("cursor", ["", "!!!", "bm8tY29tbWE", "MS4wLHg"])  # "no-comma", "1.0,x"
def test_bad_cursors_are_invalid_requests(cursor):
    with pytest.raises(InvalidRequest) as caught:
        decode_cursor(cursor)
    assert caught.value.param == "cursor"
