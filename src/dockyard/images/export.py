"""``docker export``: a container's filesystem (its mounts, merged) as one tar.

The engine passes the container's root mounts (from the snapshotter); they are mounted
on a scratch directory under ``roots.tmp``, walked in sorted order (hard links kept as
links, symlinks as symlinks, devices as devices) and unmounted, even on error.
"""

from __future__ import annotations

import os
import secrets
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from dockyard.oci import Mount
from dockyard.settings import Roots

__all__ = ["export_rootfs", "write_tree"]


def write_tree(root: Path, out: BinaryIO) -> int:
    """Tar everything under ``root`` (names relative to it, parents first, sorted);
    returns the number of entries. Never follows symlinks."""
    count = 0
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tf:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            rel_dir = os.path.relpath(dirpath, root)
            for name in sorted([*dirnames, *filenames]):
                path = os.path.join(dirpath, name)
                arc = name if rel_dir == "." else f"{rel_dir}/{name}"
                ti = tf.gettarinfo(path, arc)
                ti.uname = ti.gname = ""
                if ti.isreg():
                    with open(path, "rb") as f:
                        tf.addfile(ti, f)
                else:
                    tf.addfile(ti)
                count += 1
    return count


def export_rootfs(roots: Roots, mounts: Sequence[Mount], out: BinaryIO) -> int:
    """Mount ``mounts`` on a scratch dir, write the tree to ``out``, unmount."""
    from dockyard.images.snapshots import mount, unmount

    target = roots.tmp / f"export-{secrets.token_hex(6)}"
    target.mkdir(parents=True)
    try:
        mount(mounts, target)
        try:
            return write_tree(target, out)
        finally:
            unmount(target)
    finally:
        target.rmdir()
