"""The health check state machine (monitor/health.py) and the engine's side (health.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.engine.health import check_healthcheck, merge_healthcheck, probe_argv
from dockyard.engine.monitor.health import MAX_LOG_ENTRIES, HealthCheck, go_duration
from dockyard.errors import InvalidArgument

S = 1_000_000_000


def result(code: int, start_ns: int) -> dict[str, object]:
    return {"Start": "x", "End": "y", "ExitCode": code, "Output": "", "_start_ns": start_ns}


def check(**cfg: object) -> HealthCheck:
    h = HealthCheck({"argv": ["true"], **cfg})
    h.reset(1000 * S)
    return h


def test_defaults_are_dockers() -> None:
    h = check()
    assert (h.interval, h.timeout, h.start_period, h.retries) == (30 * S, 30 * S, 0, 3)
    assert h.health == {"Status": "starting", "FailingStreak": 0, "Log": []}


def test_unhealthy_after_retries_failures_and_healthy_on_success() -> None:
    h = check(retries=3)
    assert h.record(result(1, 1001 * S)) is None
    assert h.record(result(1, 1002 * S)) is None
    assert h.record(result(1, 1003 * S)) == "unhealthy"
    assert h.health["FailingStreak"] == 3
    assert h.record(result(1, 1004 * S)) is None  # still unhealthy, no new event
    assert h.record(result(0, 1005 * S)) == "healthy"
    assert h.health["FailingStreak"] == 0


def test_first_success_turns_healthy() -> None:
    h = check()
    assert h.record(result(0, 1001 * S)) == "healthy"


def test_failures_within_the_start_period_do_not_count() -> None:
    h = check(retries=1, start_period=5 * S)
    assert h.record(result(1, 1004 * S)) is None
    assert h.health == {"Status": "starting", "FailingStreak": 0, "Log": h.health["Log"]}
    assert h.record(result(1, 1005 * S)) == "unhealthy"


def test_start_period_ends_with_the_first_success() -> None:
    h = check(retries=1, start_period=60 * S)
    h.record(result(0, 1001 * S))
    assert h.record(result(1, 1002 * S)) == "unhealthy"


def test_start_interval_applies_only_while_starting_in_the_start_period() -> None:
    h = check(interval=10 * S, start_interval=S, start_period=30 * S)
    assert h.current_interval(1001 * S) == S
    assert h.current_interval(1031 * S) == 10 * S
    h.record(result(0, 1002 * S))
    assert h.current_interval(1003 * S) == 10 * S


@given(st.lists(st.integers(0, 3), max_size=30))
def test_log_keeps_the_last_five_and_streak_matches(codes: list[int]) -> None:
    h = check(retries=2)
    for i, code in enumerate(codes):
        h.record(result(code, (1001 + i) * S))
    log = h.health["Log"]
    assert isinstance(log, list) and len(log) == min(len(codes), MAX_LOG_ENTRIES)
    assert all("_start_ns" not in entry for entry in log)
    streak = 0
    for code in codes:
        streak = 0 if code == 0 else streak + 1
    assert h.health["FailingStreak"] == streak
    if codes:
        expected = "healthy" if codes[-1] == 0 else ("unhealthy" if streak >= 2 else None)
        if expected is not None:
            assert h.health["Status"] == expected


def test_timeout_result_has_dockers_words() -> None:
    h = check(timeout=S)
    r = h.timeout_result(1001 * S)
    assert r["ExitCode"] == -1
    assert r["Output"] == "Health check exceeded timeout (1s)"


@pytest.mark.parametrize(("ns", "text"), [
    (30 * S, "30s"), (S // 2, "500ms"), (1500 * 1_000_000, "1.5s"), (60 * S, "1m0s"),
    (3600 * S, "1h0m0s"), (90 * S, "1m30s"), (1500, "1.5µs"), (7, "7ns"),
])
def test_go_duration(ns: int, text: str) -> None:
    assert go_duration(ns) == text


def test_probe_argv_forms() -> None:
    assert probe_argv(["CMD", "curl", "-f", "x"], None) == ["curl", "-f", "x"]
    assert probe_argv(["CMD-SHELL", "exit 1"], None) == ["/bin/sh", "-c", "exit 1"]
    assert probe_argv(["CMD-SHELL", "x"], ["/bin/bash", "-ec"]) == ["/bin/bash", "-ec", "x"]
    assert probe_argv(["NONE"], None) is None
    assert probe_argv([], None) is None


def test_merge_takes_the_images_fields_where_the_user_set_none() -> None:
    image = {"Test": ["CMD", "true"], "Interval": 5 * S, "Retries": 4}
    assert merge_healthcheck(None, image) == image
    assert merge_healthcheck({"Interval": S}, image) == {"Test": ["CMD", "true"],
                                                         "Interval": S, "Retries": 4}
    assert merge_healthcheck({"Test": ["NONE"]}, image)["Test"] == ["NONE"]  # type: ignore[index]
    assert merge_healthcheck(None, None) is None


@pytest.mark.parametrize(("hc", "message"), [
    ({"Interval": 10}, "Interval in Healthcheck cannot be less than 1ms"),
    ({"Timeout": 999_999}, "Timeout in Healthcheck cannot be less than 1ms"),
    ({"StartPeriod": 1}, "StartPeriod in Healthcheck cannot be less than 1ms"),
    ({"Retries": -1}, "Retries in Healthcheck cannot be negative"),
    ({"Test": ["BOGUS", "x"]}, "unknown type 'BOGUS' in Healthcheck Test"),
    ({"Test": ["CMD"]}, "Healthcheck Test CMD needs a command"),
    ({"Interval": "5s"}, "Interval in Healthcheck must be a number of nanoseconds"),
])
def test_daemon_checks(hc: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        check_healthcheck(hc)
    assert str(err.value) == message


def test_on_failure_values() -> None:
    for ok in ("none", "kill", "restart", "stop", ""):
        check_healthcheck(None, ok)
    with pytest.raises(InvalidArgument, match="invalid on-failure action: 'reboot'"):
        check_healthcheck(None, "reboot")
