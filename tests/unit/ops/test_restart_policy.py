"""Restart policies and docker's back-off (monitor/restart.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.engine.boot import should_start
from dockyard.engine.monitor.restart import BACKOFF_START, MAX_BACKOFF, RestartManager


def manager(name: str, retries: int = 0) -> RestartManager:
    return RestartManager({"Name": name, "MaximumRetryCount": retries})


def test_no_policy_never_restarts() -> None:
    for policy in (None, {}, {"Name": "no"}, {"Name": ""}):
        assert RestartManager(policy).next_delay(1, False, 0.0) is None


def test_backoff_doubles_from_100ms_and_caps_at_a_minute() -> None:
    m = manager("always")
    delays = [m.next_delay(0, False, 0.01) for _ in range(12)]
    assert delays[:6] == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2]
    assert delays[-1] == MAX_BACKOFF
    assert all(d is not None and d <= MAX_BACKOFF for d in delays)


def test_ten_seconds_of_uptime_resets_the_backoff() -> None:
    m = manager("always")
    for _ in range(5):
        m.next_delay(1, False, 0.5)
    assert m.next_delay(1, False, 10.0) == BACKOFF_START
    assert m.next_delay(1, False, 9.99) == 2 * BACKOFF_START


def test_on_failure_counts_and_stops_at_its_maximum() -> None:
    m = manager("on-failure", 3)
    assert [m.next_delay(2, False, 0.0) is not None for _ in range(5)] == \
        [True, True, True, False, False]
    assert m.count == 3


def test_on_failure_ignores_success_and_zero_means_unlimited() -> None:
    m = manager("on-failure")
    assert m.next_delay(0, False, 0.0) is None
    assert all(m.next_delay(1, False, 0.0) is not None for _ in range(50))


@pytest.mark.parametrize("name", ["always", "unless-stopped", "on-failure"])
def test_a_manual_stop_is_never_undone(name: str) -> None:
    assert manager(name).next_delay(137, True, 0.0) is None


@given(st.lists(st.tuples(st.integers(0, 255), st.floats(0, 30)), max_size=40))
def test_delays_stay_within_docker_bounds(runs: list[tuple[int, float]]) -> None:
    m = manager("always")
    for code, ran in runs:
        delay = m.next_delay(code, False, ran)
        assert delay is not None and BACKOFF_START <= delay <= MAX_BACKOFF
        if ran >= 10:
            assert delay == BACKOFF_START


STARTED = {"Running": False, "StartedAt": "2026-01-01T00:00:00Z", "ExitCode": 255,
           "Error": "container monitor died"}


@pytest.mark.parametrize(("policy", "stopped", "expected"), [
    ("always", False, True), ("always", True, True),
    ("unless-stopped", False, True), ("unless-stopped", True, False),
    ("on-failure", False, True), ("on-failure", True, False),
    ("no", False, False),
])
def test_boot_rules(policy: str, stopped: bool, expected: bool) -> None:
    assert should_start({"Name": policy}, STARTED, stopped) is expected


def test_boot_leaves_never_started_and_running_containers() -> None:
    assert not should_start({"Name": "always"}, {"StartedAt": "0001-01-01T00:00:00Z"}, False)
    assert not should_start({"Name": "always"}, {**STARTED, "Running": True}, False)
    assert not should_start({"Name": "on-failure"}, {**STARTED, "Error": "", "ExitCode": 0},
                            False)
