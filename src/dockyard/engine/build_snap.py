"""Snapshots for build steps: the store and snapshotter, the mount helpers COPY uses,
and the clean-up of what a RUN step leaves in its upper dir only because it ran
(mount points of /proc, /etc/hosts...)."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from dockyard.engine.rootfs import StoreImages
from dockyard.errors import NotFound
from dockyard.settings import Roots

__all__ = ["RUN_ARTIFACTS", "BuildImages", "clean_run_artifacts", "mounted", "viewed"]

# Paths the runtime creates as mount points when the image lacks them; BuildKit drops
# them from the layer when they are still empty after the step.
# Children come before their parents.
RUN_ARTIFACTS = ("etc/hostname", "etc/hosts", "etc/resolv.conf", "etc", "proc", "sys",
                 "dev/pts", "dev/shm", "dev/mqueue", "dev", "run/secrets", "run")


class BuildImages(StoreImages):
    """The store and its snapshotter, opened on first use, closed with :meth:`close`."""

    def close(self) -> None:
        if self._snap is not None:
            self._snap.close()
            self._snap = None
        if self._store is not None:
            self._store.close()
            self._store = None


def clean_run_artifacts(sn: Any, key: str) -> None:
    """Drop the empty mount points a container left in active snapshot ``key``."""
    target = sn.writable(key)
    if not target.overlay:
        return
    upper: Path = target.path
    for rel in RUN_ARTIFACTS:
        path = upper / rel
        if not os.path.lexists(path) or any(os.path.lexists(lo / rel) for lo in target.lowers):
            continue
        if path.is_symlink():
            continue
        if path.is_dir():
            with contextlib.suppress(OSError):
                os.rmdir(path)  # only when empty
        elif path.is_file() and path.stat().st_size == 0:
            path.unlink()


@contextlib.contextmanager
def mounted(roots: Roots, mounts: Sequence[Any]) -> Iterator[Path]:
    """Mount ``mounts`` on a private directory under the run root for the block."""
    from dockyard.images.snapshots import mount, unmount

    target = roots.run_root / "build" / secrets.token_hex(8)
    target.mkdir(parents=True)
    try:
        mount(mounts, target)
        try:
            yield target
        finally:
            unmount(target)
    finally:
        shutil.rmtree(target, ignore_errors=True)


@contextlib.contextmanager
def viewed(roots: Roots, sn: Any, snapshot: str | None) -> Iterator[Path]:
    """A read-only view of committed ``snapshot`` (an empty dir for none)."""
    if not snapshot:
        empty = roots.tmp / f"build-empty-{secrets.token_hex(6)}"
        empty.mkdir(parents=True)
        try:
            yield empty
        finally:
            shutil.rmtree(empty, ignore_errors=True)
        return
    key = f"build-view-{secrets.token_hex(8)}"
    mounts = sn.view(key, snapshot)
    try:
        with mounted(roots, mounts) as root:
            yield root
    finally:
        with contextlib.suppress(NotFound):
            sn.remove(key)

