"""The storage part of the spec: destinations checked inside the root, user mounts over
defaults, tmpfs options, propagation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dockyard.engine.mounts import _check_destination, _inside, _tmpfs
from dockyard.errors import Forbidden
from tests.unit.engine.test_spec import make


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    root = tmp_path / "rootfs"
    for d in ("proc", "sys", "dev", "run", "var", "data"):
        (root / d).mkdir(parents=True)
    (root / "var" / "run").symlink_to("/run")           # absolute: in the root
    (root / "up").symlink_to("../../../../etc")          # climbs out
    (root / "p").symlink_to("/proc")
    (root / "rel").symlink_to("data/../run")
    (root / "loop").symlink_to("loop")
    return root


@pytest.mark.parametrize("dest", ["/data", "/var/run/x", "/rel/y", "/new/deep", "/dev/shm",
                                  "/sys/fs/cgroup", "/dev"])
def test_user_destinations_inside(rootfs: Path, dest: str) -> None:
    _inside(rootfs, dest)


@pytest.mark.parametrize(("dest", "from_config", "words"), [
    ("/up/x", False, "leads out of the container's root"),
    ("/data/../../x", False, "leads out"),
    ("/p/sys", False, "resolves to /proc/sys"),
    ("/proc", False, "it would cover /proc"),
    ("/sys/kernel", True, "it would cover /sys"),
    ("/dev", True, "it would cover /dev"),
    ("/loop/x", False, "too many levels"),
])
def test_refused_destinations(rootfs: Path, dest: str, from_config: bool,
                              words: str) -> None:
    with pytest.raises(Forbidden, match=words):
        _inside(rootfs, dest, from_config)


@pytest.mark.parametrize(("dest", "from_config", "refused"), [
    ("/proc", False, True), ("/proc/sys", False, True), ("/sys", False, False),
    ("/sys", True, True), ("/dev", False, False), ("/dev", True, True),
    ("/dev/shm", True, False), ("/procfs", False, False),
])
def test_check_destination(dest: str, from_config: bool, refused: bool) -> None:
    if refused:
        with pytest.raises(Forbidden):
            _check_destination(dest, from_config)
    else:
        _check_destination(dest, from_config)


def test_tmpfs_options() -> None:
    assert _tmpfs("/t", "size=1m,mode=700") == {
        "destination": "/t", "type": "tmpfs", "source": "tmpfs",
        "options": ["noexec", "nosuid", "nodev", "rprivate", "size=1m", "mode=700"]}


def test_user_mounts_replace_defaults_and_set_root_propagation() -> None:
    shm: dict[str, Any] = {"destination": "/dev/shm", "type": "bind", "source": "/x",
                           "options": ["rbind", "rslave"]}
    spec = make(mounts=[shm], rootfs_propagation="rslave")
    dests = [m["destination"] for m in spec["mounts"]]
    assert dests.count("/dev/shm") == 1 and spec["mounts"][-1] == shm
    assert spec["linux"]["rootfsPropagation"] == "rslave"
    assert "rootfsPropagation" not in make()["linux"]
