"""Docker's time formats and the --since/--until parser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.engine.logs.timefmt import format_fixed, format_nano, parse_nano, parse_since
from dockyard.errors import InvalidArgument

S = 1_764_237_600  # 2025-11-27T10:00:00Z
NOW = S * 10**9


@pytest.mark.parametrize(("ns", "text"), [
    (NOW, "2025-11-27T10:00:00Z"),
    (NOW + 500_000_000, "2025-11-27T10:00:00.5Z"),
    (NOW + 120_000, "2025-11-27T10:00:00.00012Z"),
    (NOW + 123_456_789, "2025-11-27T10:00:00.123456789Z"),
    (0, "1970-01-01T00:00:00Z"),
])
def test_format_nano_trims_like_go(ns: int, text: str) -> None:
    assert format_nano(ns) == text


def test_format_fixed_keeps_nine_digits() -> None:
    assert format_fixed(NOW + 500_000_000) == "2025-11-27T10:00:00.500000000Z"


@given(st.integers(min_value=0, max_value=253_402_300_799 * 10**9))
def test_parse_inverts_format(ns: int) -> None:
    assert parse_nano(format_nano(ns)) == ns
    assert parse_nano(format_fixed(ns)) == ns


def test_parse_offsets() -> None:
    assert parse_nano("2025-11-27T12:00:00+02:00") == NOW
    assert parse_nano("2025-11-27T09:30:00.25-00:30") == NOW + 250_000_000


@pytest.mark.parametrize(("value", "expected"), [
    ("10m", NOW - 600 * 10**9),
    ("1h30m", NOW - 5400 * 10**9),
    ("1.5s", NOW - 1_500_000_000),
    ("250ms", NOW - 250_000_000),
    ("1764237600", NOW),
    ("1764237600.5", NOW + 500_000_000),
    ("2025-11-27T10:00:00Z", NOW),
    ("2025-11-27T10:00:00.000000001Z", NOW + 1),
])
def test_since_values(value: str, expected: int) -> None:
    assert parse_since(value, "since", now_ns=NOW) == expected


def test_since_local_date_forms() -> None:
    import time

    local = int(time.mktime(time.strptime("2025-11-27", "%Y-%m-%d"))) * 10**9
    assert parse_since("2025-11-27", "since", now_ns=NOW) == local


@pytest.mark.parametrize("value", ["", "yesterday", "10x", "-5m", "1.2.3", "2025-13-01",
                                   "1764237600.1234567891"])
def test_bad_since_values_name_the_flag(value: str) -> None:
    with pytest.raises(InvalidArgument, match="invalid value for until"):
        parse_since(value, "until", now_ns=NOW)


@pytest.mark.parametrize("text", ["2025-02-29T00:00:00Z", "2025-02-30T00:00:00Z",
                                  "2025-04-31T00:00:00Z", "2025-13-01T00:00:00Z",
                                  "2025-01-01T24:00:00Z", "2025-01-01T00:00:00.Z",
                                  "2025-01-01T00:00:00",
                                  "2025-01-01 00:00:00Z", "abcd-01-01T00:00:00Z"])
def test_impossible_times_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_nano(text)


def test_leap_days() -> None:
    assert parse_nano("2024-02-29T00:00:00Z") == 1_709_164_800 * 10**9
    assert parse_nano("2000-02-29T12:00:00.5Z") == (951_782_400 + 12 * 3600) * 10**9 + 5 * 10**8
    with pytest.raises(ValueError):
        parse_nano("1900-02-29T00:00:00Z")


@given(st.datetimes(min_value=__import__("datetime").datetime(1970, 1, 1),
                    max_value=__import__("datetime").datetime(9999, 12, 31)),
       st.integers(0, 999_999_999))
def test_fast_path_agrees_with_the_calendar(dt: object, frac: int) -> None:
    import calendar
    import datetime

    assert isinstance(dt, datetime.datetime)
    text = dt.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac:09d}" if frac else "") + "Z"
    want = calendar.timegm(dt.timetuple()) * 10**9 + frac
    assert parse_nano(text) == want
