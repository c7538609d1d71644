"""ps's STATUS column, and signal names."""

from __future__ import annotations

import calendar
import time

import pytest

from dockyard.engine.lifecycle import parse_signal
from dockyard.engine.views import status_text
from dockyard.errors import InvalidArgument

NOW = calendar.timegm(time.strptime("2026-11-27T10:00:00", "%Y-%m-%dT%H:%M:%S"))


def _ts(seconds_ago: float) -> str:
    whole, frac = divmod(NOW - seconds_ago, 1)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(whole))) + \
        f".{round(frac * 1e9):09d}Z"


@pytest.mark.parametrize("ago, text", [
    (0.2, "Less than a second"), (1, "1 second"), (3, "3 seconds"), (59, "59 seconds"),
    (60, "About a minute"), (150, "2 minutes"), (3600, "About an hour"),
    (3 * 3600, "3 hours"), (3 * 86400, "3 days"), (20 * 86400, "2 weeks"),
    (90 * 86400, "3 months"), (800 * 86400, "2 years"),
])
def test_up_and_exited(ago: float, text: str) -> None:
    assert status_text({"Running": True, "StartedAt": _ts(ago)}, NOW) == f"Up {text}"
    assert status_text({"Running": False, "Status": "exited", "ExitCode": 3,
                        "FinishedAt": _ts(ago)}, NOW) == f"Exited (3) {text} ago"


def test_created_and_paused() -> None:
    assert status_text({"Running": False, "Status": "created",
                        "FinishedAt": "0001-01-01T00:00:00Z"}, NOW) == "Created"
    assert status_text({"Running": True, "Paused": True, "StartedAt": _ts(5)},
                       NOW) == "Up 5 seconds (Paused)"


@pytest.mark.parametrize("given, number", [
    ("KILL", 9), ("SIGKILL", 9), ("sigterm", 15), ("9", 9), (15, 15), ("USR1", 10),
])
def test_signals(given: str | int, number: int) -> None:
    assert parse_signal(given) == number


@pytest.mark.parametrize("given", ["SIGNOPE", "0", "99", "", "KILL9"])
def test_bad_signals(given: str) -> None:
    with pytest.raises(InvalidArgument, match="Invalid signal"):
        parse_signal(given)


@pytest.mark.parametrize("stamp", [
    "1970-01-01T00:00:00Z", "2000-02-29T12:34:56.5Z", "2026-11-27T10:00:00.123456789Z",
    "2100-03-01T00:00:01Z", "1999-12-31T23:59:59Z",
])
def test_epoch_matches_calendar(stamp: str) -> None:
    from dockyard.engine.views import _epoch

    base, _, frac = stamp.rstrip("Z").partition(".")
    want = calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S")) + float("0." + (frac or "0"))
    assert _epoch(stamp) == pytest.approx(want)
