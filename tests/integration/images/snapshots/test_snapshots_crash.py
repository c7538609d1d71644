"""kill -9 during unpacks: the snapshotter's rows and directories stay consistent, and
cleanup() plus removing the dead scratch snapshots brings it back to a clean state."""

from __future__ import annotations

import io
import multiprocessing
import os
import random
import signal
import time
from pathlib import Path

import pytest

from dockyard.images.snapshots import Kind, OverlaySnapshotter, unpack_layer
from tests.unit.images.layers.tarbuild import E, tar_bytes

LAYER = tar_bytes([E(f"d{i % 20}/f{i}", data=os.urandom(2000)) for i in range(1500)])


def _unpacker(root: str) -> None:
    with OverlaySnapshotter(Path(root)) as sn:
        for i in range(1000):
            unpack_layer(sn, io.BytesIO(LAYER), f"layer-{os.getpid()}-{i}", None)
            sn.remove(f"layer-{os.getpid()}-{i}")


def _consistent(sn: OverlaySnapshotter) -> None:
    rows = {sn.meta.get(i.name).id for i in sn.walk()}
    dirs = {int(p) for p in os.listdir(sn.root) if p.isdigit()}
    assert rows == dirs
    assert not [p for p in os.listdir(sn.root) if p.startswith(("new-", "rm-"))]


@pytest.mark.slow
def test_kill_9_during_unpack_leaves_a_repairable_store(tmp_path: Path) -> None:
    root = tmp_path / "s"
    with OverlaySnapshotter(root) as sn:
        unpack_layer(sn, io.BytesIO(tar_bytes([E("keep", data=b"k")])), "base", None)
    ctx = multiprocessing.get_context("fork")
    rnd = random.Random(1234)
    interrupted = 0  # kills that caught an unpack half-way
    for _ in range(10):
        proc = ctx.Process(target=_unpacker, args=(str(root),))
        proc.start()
        time.sleep(rnd.uniform(0.05, 0.6))
        assert proc.pid is not None
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(30)
        for p in root.glob("new-*"):  # age what the kill left past cleanup's grace
            os.utime(p, (0, 0))
        with OverlaySnapshotter(root) as sn:
            interrupted += bool(sn.cleanup())
            for info in list(sn.walk()):
                if info.name.startswith("extract-"):  # a dead unpack's scratch snapshot
                    assert info.kind is Kind.ACTIVE
                    sn.remove(info.name)
                    interrupted += 1
                elif info.name != "base":
                    sn.remove(info.name)  # committed just before the kill
            _consistent(sn)
            assert [i.name for i in sn.walk()] == ["base"]
    assert interrupted >= 3
    with OverlaySnapshotter(root) as sn:
        unpack_layer(sn, io.BytesIO(LAYER), "after", "base")
        _consistent(sn)
