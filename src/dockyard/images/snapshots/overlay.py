"""Overlay snapshotter: one upper dir per snapshot, parents as lower dirs.

Committed layers are named by chain id and shared by every image with that layer.
An active snapshot with no parent is a plain bind mount of its ``fs``; a view of one
layer is a read-only bind mount of that layer's ``fs``; anything deeper is an overlay
whose ``lowerdir`` lists the parents' ``fs`` dirs, topmost first.
"""

from __future__ import annotations

from dockyard.oci.mount import Mount

from .base import Kind
from .common import DirSnapshotter
from .metadata import Record

__all__ = ["OverlaySnapshotter"]

# Keep the upper dir a plain diff whatever the kernel's defaults: a renamed lower
# directory is copied up whole (no redirect xattr), a chmod copies data too (no
# metacopy), so write_diff sees every change as files and whiteouts.
_PLAIN_UPPER = ("redirect_dir=off", "metacopy=off", "index=off")


class OverlaySnapshotter(DirSnapshotter):
    """Snapshots under ``root`` (``Roots.snapshots``), mounted with overlayfs."""

    overlay = True

    def _mounts(self, rec: Record) -> list[Mount]:
        fs = str(self.fs_dir(rec.id))
        lowers = [str(p) for p in self._lower_dirs(rec)]
        kind = rec.info.kind
        if kind is Kind.ACTIVE:
            if not lowers:
                return [Mount("bind", fs, options=("rw", "rbind"))]
            work = str(self.root / str(rec.id) / "work")
            return [Mount("overlay", "overlay", options=(
                "lowerdir=" + ":".join(lowers), f"upperdir={fs}", f"workdir={work}",
                *_PLAIN_UPPER))]
        if kind is Kind.COMMITTED:
            lowers.insert(0, fs)
        if not lowers:
            return [Mount("bind", fs, options=("ro", "rbind"))]
        if len(lowers) == 1:
            return [Mount("bind", lowers[0], options=("ro", "rbind"))]
        return [Mount("overlay", "overlay", options=("ro", "lowerdir=" + ":".join(lowers)))]
