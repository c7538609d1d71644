"""Regressions found when the built-in runtime became the default, on every runtime.

1. PID 1's ``trap 'exit 42' TERM`` never ran: the monitor's ignored SIGTERM reached the
   container through the runtime, so ``stop`` ended in SIGKILL (137).
2. ``stop`` then ``start`` of the same container left it not running.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

RUNTIMES = ["runc", "dockyard"]
LOOP = "trap 'exit 42' TERM; while :; do sleep 0.1; done"


def _ready(engine: Any, cid: str) -> None:
    """Wait until the shell has set its trap (it prints nothing; give it a moment)."""
    deadline = time.monotonic() + 10
    while not engine.inspect(cid)["State"]["Running"]:
        assert time.monotonic() < deadline, "the container never ran"
        time.sleep(0.02)
    time.sleep(0.3)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_stop_runs_the_term_trap_of_pid1(engine: Any, runtime: str) -> None:
    cid = engine.create(f"trap-{runtime}", {"Image": "busybox", "Cmd": ["sh", "-c", LOOP]},
                        {"NetworkMode": "none", "Runtime": runtime})["Id"]
    engine.start(cid)
    _ready(engine, cid)
    t = time.monotonic()
    engine.stop(cid, timeout=10)
    assert time.monotonic() - t < 5, "stop waited for the timeout: SIGTERM was ignored"
    state = engine.inspect(cid)["State"]
    assert state["ExitCode"] == 42 and state["Status"] == "exited"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_stop_then_start_runs_again(engine: Any, runtime: str) -> None:
    cid = engine.create(f"again-{runtime}", {"Image": "busybox", "Cmd": ["sh", "-c", LOOP]},
                        {"NetworkMode": "none", "Runtime": runtime})["Id"]
    first = engine.start(cid)
    _ready(engine, cid)
    engine.stop(cid, timeout=10)
    assert not engine.inspect(cid)["State"]["Running"]
    for round_ in range(2):
        second = engine.start(cid)
        assert second > 0 and second != first
        time.sleep(0.5)  # a container that dies at once would show it by now
        state = engine.inspect(cid)["State"]
        assert state["Running"] and state["Status"] == "running", (round_, state)
        assert state["Pid"] == second
        _ready(engine, cid)
        engine.stop(cid, timeout=10)
        state = engine.inspect(cid)["State"]
        assert state["ExitCode"] == 42 and not state["Running"]
        first = second
    engine.remove(cid)
