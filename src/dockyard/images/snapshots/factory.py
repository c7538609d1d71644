"""Pick and open the engine's snapshotter."""

from __future__ import annotations

import functools
import os

from dockyard.errors import InvalidArgument
from dockyard.settings import Roots

from .base import Snapshotter
from .native import NativeSnapshotter
from .overlay import OverlaySnapshotter

__all__ = ["NAMES", "open_snapshotter", "overlay_supported"]

NAMES = ("overlay", "native")


@functools.cache
def overlay_supported() -> bool:
    """Whether the kernel offers overlayfs (listed, or loadable as a module)."""
    try:
        with open("/proc/filesystems") as f:
            if any(line.split()[-1] == "overlay" for line in f if line.strip()):
                return True
    except OSError:
        return False
    return os.path.exists(f"/lib/modules/{os.uname().release}/kernel/fs/overlayfs")


def open_snapshotter(roots: Roots, name: str | None = None) -> Snapshotter:
    """The snapshotter ``name`` (``$DOCKYARD_SNAPSHOTTER``, else overlay when the kernel
    has it, else native). Overlay lives in ``roots.snapshots``, native in its
    ``native/`` subdirectory, so the two never mix. Close it when done."""
    name = name or os.environ.get("DOCKYARD_SNAPSHOTTER") or (
        "overlay" if overlay_supported() else "native")
    if name == "overlay":
        return OverlaySnapshotter(roots.snapshots)
    if name == "native":
        return NativeSnapshotter(roots.snapshots / "native")
    raise InvalidArgument(f"snapshotter: unknown {name!r} (want {' or '.join(NAMES)})")
