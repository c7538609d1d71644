"""A ``--rm`` container that has just exited, looked at before anyone removed it."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.engine.monitor.client import wait_exit
from dockyard.errors import NotFound
from dockyard.settings import Roots


def test_inspect_of_an_exited_rm_container_removes_it_and_says_not_found(
        engine: Any, roots: Roots) -> None:
    """Views tidy: the inspect itself removes it, and must then answer docker's 404
    (the API's wait looked at such a container and failed with a 500)."""
    cid = engine.create(None, {"Image": "busybox", "Cmd": ["true"]},
                        {"NetworkMode": "none", "AutoRemove": True})["Id"]
    engine.start(cid)
    # The monitor's answer: the exit is recorded, nobody has tidied yet.
    assert wait_exit(engine.run_dir(cid), engine.container_dir(cid), timeout=20) == 0
    assert (roots.containers / cid / "container.json").exists()
    with pytest.raises(NotFound, match="No such container"):
        engine.inspect(cid)
    assert not (roots.containers / cid).exists()
    with pytest.raises(NotFound):
        engine.inspect(cid)
