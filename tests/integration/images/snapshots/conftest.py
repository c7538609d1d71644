"""Snapshotter fixtures: each implementation over a fresh root, mounts undone on exit."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from dockyard.images.snapshots import (
    NativeSnapshotter,
    OverlaySnapshotter,
    mount,
    unmount,
)
from dockyard.images.snapshots.common import DirSnapshotter
from dockyard.oci.mount import Mount


@pytest.fixture(params=["overlay", "native"])
def sn(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DirSnapshotter]:
    """Every snapshotter implementation, so one suite covers them all."""
    cls = OverlaySnapshotter if request.param == "overlay" else NativeSnapshotter
    s = cls(tmp_path / f"{request.param}-snapshots")
    yield s
    s.close()


@pytest.fixture
def mounter(tmp_path: Path) -> Iterator[contextlib.AbstractContextManager[Path]]:
    """``with mounter(mounts, name) as root:`` mounts under tmp_path, always unmounted."""
    targets: list[Path] = []

    @contextlib.contextmanager
    def _mounted(mounts: Sequence[Mount], name: str = "mnt") -> Iterator[Path]:
        target = tmp_path / name
        target.mkdir(exist_ok=True)
        mount(mounts, target)
        targets.append(target)
        try:
            yield target
        finally:
            unmount(target)

    yield _mounted  # type: ignore[misc]
    for t in targets:
        unmount(t, detach=True)
