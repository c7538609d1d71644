"""A ``--rm`` container that has just exited, looked at before anyone removed it."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.engine.monitor.client import wait_exit
from dockyard.errors import NotFound
from dockyard.settings import Roots


def test_inspect_of_an_exited_rm_container_shows_how_it_ended_then_it_is_gone(
        engine: Any, roots: Roots) -> None:
    """Views tidy, so the inspect itself removes it; it still describes the container
    as it ended (the API's wait polls inspect for the exit code: it got a 500, then
    a wrong 0), and the next one is docker's 404."""
    cid = engine.create(None, {"Image": "busybox", "Cmd": ["sh", "-c", "exit 7"]},
                        {"NetworkMode": "none", "AutoRemove": True})["Id"]
    engine.start(cid)
    # The monitor's answer: the exit is recorded, nobody has tidied yet.
    assert wait_exit(engine.run_dir(cid), engine.container_dir(cid), timeout=20) == 7
    assert (roots.containers / cid / "container.json").exists()
    state = engine.inspect(cid)["State"]
    assert (state["Status"], state["Running"], state["ExitCode"]) == ("exited", False, 7)
    assert not (roots.containers / cid).exists()
    with pytest.raises(NotFound, match="No such container"):
        engine.inspect(cid)
