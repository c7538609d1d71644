"""A ``--rm`` container that has just exited, looked at before anyone removed it."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest

from dockyard.engine.monitor.client import wait_exit
from dockyard.errors import NotFound
from dockyard.settings import Roots


def _exited_rm_container(engine: Any, roots: Roots) -> str:
    cid: str = engine.create(None, {"Image": "busybox", "Cmd": ["sh", "-c", "exit 7"]},
                             {"NetworkMode": "none", "AutoRemove": True})["Id"]
    engine.start(cid)
    # The monitor's answer: the exit is recorded, nobody has tidied yet.
    assert wait_exit(engine.run_dir(cid), engine.container_dir(cid), timeout=20) == 7
    assert (roots.containers / cid / "container.json").exists()
    return cid


def test_views_leave_a_just_ended_rm_container_to_its_waiters(
        engine: Any, roots: Roots) -> None:
    """A view (inspect, ps) does not remove it from under whoever waits for it (the
    API's wait polls inspect for the exit code while its attach relays the output);
    the waiter's own wait removes it."""
    cid = _exited_rm_container(engine, roots)
    state = engine.inspect(cid)["State"]
    assert (state["Status"], state["Running"], state["ExitCode"]) == ("exited", False, 7)
    assert [c["Id"] for c in engine.list(all=True)] == [cid]
    assert (roots.containers / cid).exists()
    assert engine.wait(cid, "removed", timeout=20)["StatusCode"] == 7
    assert not (roots.containers / cid).exists()
    with pytest.raises(NotFound, match="No such container"):
        engine.inspect(cid)


def test_a_view_removes_an_rm_container_nobody_came_for(engine: Any, roots: Roots) -> None:
    """Once the grace is over, a view tidies what no waiter or helper did, and still
    describes the container as it ended."""
    cid = _exited_rm_container(engine, roots)
    state_file = roots.containers / cid / "state.json"
    old = time.time() - 60
    os.utime(state_file, (old, old))  # as if it ended a minute ago
    state = engine.inspect(cid)["State"]
    assert (state["Status"], state["ExitCode"]) == ("exited", 7)
    assert not (roots.containers / cid).exists()
    with pytest.raises(NotFound):
        engine.inspect(cid)
