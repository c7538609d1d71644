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


def test_default_runtime_is_ours_and_verbs_run_in_process(engine: Any, roots: Any,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from dockyard.engine.runtimes import DockyardRuntime, open_runtime
    from dockyard.errors import NotFound

    monkeypatch.delenv("DOCKYARD_RUNTIME", raising=False)
    cid = engine.create("dflt", {"Image": "busybox", "Cmd": ["sleep", "30"]},
                        {"NetworkMode": "none"})["Id"]
    assert engine.inspect(cid)["HostConfig"]["Runtime"] == "dockyard"
    pid = engine.start(cid)
    rt = open_runtime("dockyard", roots.runtime_state)
    assert isinstance(rt, DockyardRuntime)
    state = rt.state(cid)
    assert state is not None and state["status"] == "running" and state["pid"] == pid
    assert pid in rt.ps(cid)
    assert rt.state("no-such-container") is None
    with pytest.raises(NotFound, match="runtime dockyard: container does not exist: nope"):
        rt.kill("nope", 15)
    argv = rt.exec_argv(cid, "/p.json", tty=False, detach=True)
    assert os.access(argv[0], os.X_OK) and argv[1:3] == ["--root", str(rt.state_root)]
    assert argv[3:] == ["exec", "--process", "/p.json", "--detach", cid]
    ok = engine.exec_create(cid, {"Cmd": ["sh", "-c", "exit 5"]})
    assert engine.exec_start(ok) == 5
    engine.remove(cid, force=True)
    assert rt.state(cid) is None
