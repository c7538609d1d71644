"""Snapshots: containerd's snapshotter model (prepare, view, commit, remove, mounts,
stat, usage, walk) over overlayfs or plain copies, with the mounts they return, and the
unpack/diff helpers that join them to layers."""

from .base import Info, Kind, Snapshotter, Usage, WritableDir
from .factory import open_snapshotter, overlay_supported
from .mounting import MAX_OPTIONS, mount, unmount
from .native import NativeSnapshotter
from .overlay import OverlaySnapshotter
from .unpack import chain_ids, diff_snapshot, has_committed, unpack_layer

__all__ = [
    "MAX_OPTIONS",
    "Info",
    "Kind",
    "NativeSnapshotter",
    "OverlaySnapshotter",
    "Snapshotter",
    "Usage",
    "WritableDir",
    "chain_ids",
    "diff_snapshot",
    "has_committed",
    "mount",
    "open_snapshotter",
    "overlay_supported",
    "unmount",
    "unpack_layer",
]
