"""Overlay specifics: deep images under long paths, crash leftovers, several processes."""

from __future__ import annotations

import fcntl
import io
import multiprocessing
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from dockyard.images.snapshots import (
    MAX_OPTIONS,
    OverlaySnapshotter,
    open_snapshotter,
    unpack_layer,
)
from dockyard.settings import Roots
from tests.unit.images.layers.tarbuild import E, tar_bytes

Mounter = Callable[..., AbstractContextManager[Path]]


def test_deep_image_mounts_despite_long_paths(tmp_path: Path, mounter: Mounter) -> None:
    root = tmp_path / ("long-" * 40) / ("deeper-" * 30) / "snapshots"
    depth = 130
    with OverlaySnapshotter(root) as sn:
        parent = None
        for i in range(depth):
            data = tar_bytes([E(f"f{i:03}", data=str(i).encode()), E("top", data=str(i).encode())])
            unpack_layer(sn, io.BytesIO(data), f"layer-{i}", parent)
            parent = f"layer-{i}"
        mounts = sn.prepare("ctr", parent)
        options = ",".join(mounts[0].options)
        assert len(options) > MAX_OPTIONS  # absolute paths would not fit in a page
        with mounter(mounts) as merged:
            assert len(os.listdir(merged)) == depth + 1
            assert (merged / "top").read_text() == str(depth - 1)
            assert (merged / "f000").read_text() == "0"
            (merged / "written").write_text("ok")
        assert (sn.writable("ctr").path / "written").read_text() == "ok"
        with mounter(sn.view("view", parent), "view") as merged:
            assert (merged / "f064").read_text() == "64"


def test_cleanup_removes_crash_leftovers_only(tmp_path: Path) -> None:
    with OverlaySnapshotter(tmp_path / "s") as sn:
        sn.prepare("live")
        (sn.root / "new-dead").mkdir()
        os.utime(sn.root / "new-dead", (0, 0))  # long ago
        (sn.root / "new-young").mkdir()  # may be between mkdir and flock elsewhere
        (sn.root / "rm-7-abcd").mkdir()
        (sn.root / "99").mkdir()
        busy = sn.root / "new-busy"
        busy.mkdir()
        os.utime(busy, (0, 0))
        fd = os.open(busy, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            assert sn.cleanup() == ["99", "new-dead", "rm-7-abcd"]
        finally:
            os.close(fd)
        assert busy.exists() and (sn.root / "1").exists() and (sn.root / "new-young").exists()
        assert sn.stat("live").name == "live"


def _worker(root: str, n: int, layer: bytes) -> None:
    with OverlaySnapshotter(Path(root)) as sn:
        unpack_layer(sn, io.BytesIO(layer), "sha256:shared", None)
        for i in range(15):
            sn.prepare(f"w{n}-{i}", "sha256:shared")
            if i % 2:
                sn.remove(f"w{n}-{i}")


def test_several_processes_share_one_store(tmp_path: Path) -> None:
    root = tmp_path / "s"
    OverlaySnapshotter(root).close()
    layer = tar_bytes([E(f"f{i}", data=b"x" * 1000) for i in range(50)])
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_worker, args=(str(root), n, layer)) for n in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    with OverlaySnapshotter(root) as sn:
        names = [i.name for i in sn.walk()]
        assert names.count("sha256:shared") == 1
        assert sorted(n for n in names if n.startswith("w")) == sorted(
            f"w{n}-{i}" for n in range(4) for i in range(0, 15, 2))
        ids = {p for p in os.listdir(root) if p.isdigit()}
        assert len(ids) == len(names)  # no orphan directories
        assert sn.cleanup() == []


def test_open_snapshotter_picks_by_name(tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    roots = Roots(tmp_path / "root", tmp_path / "run")
    sn = open_snapshotter(roots, "overlay")
    assert isinstance(sn, OverlaySnapshotter) and sn.root == roots.snapshots
    sn.close()
    monkeypatch.setenv("DOCKYARD_SNAPSHOTTER", "native")
    sn = open_snapshotter(roots)
    assert type(sn).__name__ == "NativeSnapshotter"
    sn.close()
    from dockyard.errors import InvalidArgument
    with pytest.raises(InvalidArgument, match="snapshotter: unknown 'zfs'"):
        open_snapshotter(roots, "zfs")


def test_failed_mount_is_a_clear_error_and_leaves_nothing(tmp_path: Path) -> None:
    from dockyard.errors import SystemFailure
    from dockyard.images.snapshots import mount, unmount
    from dockyard.oci.mount import Mount

    target = tmp_path / "t"
    target.mkdir()
    bad = Mount("overlay", "overlay", options=(f"lowerdir={tmp_path}/missing",))
    with pytest.raises(SystemFailure, match=r"mount overlay on .*/t: No such file"):
        mount([bad], target)
    with open("/proc/self/mountinfo") as f:
        assert str(target) not in f.read()
    unmount(target)  # not mounted: nothing to do, no error
