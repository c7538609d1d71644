"""One suite every CgroupManager passes: the real ones on this host's hierarchies
(hybrid, v1 alone, v2 alone on a cgroup2 mount), the null one and the fake."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.errors import SystemFailure
from dockyard.runtime.cgroups import (
    CgroupManager,
    FakeManager,
    HybridManager,
    NullManager,
    V2Manager,
    hierarchies,
    manager_for,
)
from dockyard.runtime.cgroups.tree import remove_tree

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
KINDS = ["hybrid", "v1", "v2", "fake"]


@pytest.fixture(params=KINDS)
def manager(request: pytest.FixtureRequest, cgroup_parent: str,
            tmp_path: Path) -> Iterator[CgroupManager]:
    h = hierarchies()
    path = f"/{cgroup_parent}/contract-{request.param}"
    mnt = tmp_path / "cg2"
    m: CgroupManager
    if request.param == "hybrid":
        m = manager_for(path, "x")
    elif request.param == "v1":
        hybrid = manager_for(path, "x")
        assert isinstance(hybrid, HybridManager)
        m = hybrid.v1
    elif request.param == "v2":
        mnt.mkdir()
        subprocess.run(["mount", "-t", "cgroup2", "none", str(mnt)], check=True)
        m = V2Manager(str(mnt) + path, str(mnt), enable_all=False)
    else:
        m = FakeManager(path)
    try:
        yield m
    finally:
        m.remove()
        mounts = [*set(h.v1.values()), *([h.unified] if h.unified else [])]
        remove_tree([os.path.join(x, path.lstrip("/")) for x in mounts])
        for x in mounts:
            try:
                os.rmdir(os.path.join(x, cgroup_parent))
            except OSError:
                pass
        if request.param == "v2":
            subprocess.run(["umount", "-l", str(mnt)], check=True)


def test_is_a_cgroup_manager(manager: CgroupManager) -> None:
    assert isinstance(manager, CgroupManager)


def test_lifecycle(manager: CgroupManager) -> None:
    manager.create()
    manager.create()  # idempotent
    p = subprocess.Popen(["sleep", "60"])
    try:
        manager.add_pid(p.pid)
        assert manager.pids() == [p.pid]
        manager.apply({})
        manager.apply(None)
        manager.freeze()
        assert manager.frozen()
        manager.thaw()
        assert not manager.frozen()
        assert manager.oom_kill_count() == 0
        assert isinstance(manager.stats(), dict)
        manager.remove()
        assert manager.pids() == []
        manager.remove()  # idempotent
    finally:
        p.kill()
        p.wait()


def test_removed_cgroup_cannot_take_a_process(manager: CgroupManager) -> None:
    manager.create()
    manager.remove()
    with pytest.raises(SystemFailure):
        manager.add_pid(os.getpid())


def test_null_manager_is_a_cgroup_manager() -> None:
    m = NullManager()
    assert isinstance(m, CgroupManager)
    m.create()
    m.add_pid(1)
    assert m.pids() == [] and not m.frozen()
    with pytest.raises(SystemFailure, match="cannot freeze without a cgroup hierarchy"):
        m.freeze()
    m.remove()
