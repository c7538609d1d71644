"""The snapshotter contract, in containerd's words.

A *key* names an active or view snapshot (writable or read-only, being used); a *name*
names a committed one (immutable, usable as a parent). ``prepare(key, parent)`` makes an
active snapshot on top of committed ``parent``; ``commit(name, key)`` freezes it under
``name``; ``view(key, parent)`` gives a read-only look at ``parent``. Snapshotters return
the mounts to perform (``oci.Mount``); ``mounting.mount`` performs them.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from dockyard.oci.mount import Mount

__all__ = ["Info", "Kind", "Snapshotter", "Usage", "WritableDir"]


class Kind(enum.Enum):
    """What a snapshot is for."""

    VIEW = "view"
    ACTIVE = "active"
    COMMITTED = "committed"


@dataclass(frozen=True)
class Info:
    """A snapshot's record: ``name`` is its key or, once committed, its name."""

    name: str
    kind: Kind
    parent: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    created: float = 0.0
    updated: float = 0.0


@dataclass(frozen=True)
class Usage:
    """Disk used by the snapshot's own directory (not its parents)."""

    size: int
    inodes: int


@dataclass(frozen=True)
class WritableDir:
    """Where to write into an active snapshot without mounting it.

    ``overlay``: ``path`` is an overlay upper dir over ``lowers`` (topmost first), so a
    layer is applied in ``Format.OVERLAY`` and diffed with ``write_diff``. Otherwise
    ``path`` is a full copy of the parent (``lowers[0]``, if any) and diffs compare the two.
    """

    path: Path
    lowers: tuple[Path, ...]
    overlay: bool


class Snapshotter(Protocol):
    """Snapshots by key and name; every implementation passes tests/…/snapshots suites."""

    def prepare(self, key: str, parent: str | None = None,
                labels: Mapping[str, str] | None = None) -> list[Mount]:
        """A new active (writable) snapshot over committed ``parent``; its mounts."""
        ...

    def view(self, key: str, parent: str | None = None,
             labels: Mapping[str, str] | None = None) -> list[Mount]:
        """A new read-only snapshot showing committed ``parent``; its mounts."""
        ...

    def commit(self, name: str, key: str, labels: Mapping[str, str] | None = None) -> None:
        """Freeze active ``key`` as committed ``name`` (``AlreadyExists`` if taken)."""
        ...

    def remove(self, key: str) -> None:
        """Delete a snapshot; ``Conflict`` while others have it as their parent."""
        ...

    def mounts(self, key: str) -> list[Mount]:
        """The mounts of an existing snapshot, as ``prepare``/``view`` returned them."""
        ...

    def stat(self, key: str) -> Info:
        """The record of ``key`` (``NotFound`` if none)."""
        ...

    def usage(self, key: str) -> Usage:
        """Bytes and inodes of the snapshot's own directory."""
        ...

    def walk(self) -> Iterator[Info]:
        """Every snapshot, in creation order."""
        ...

    def writable(self, key: str) -> WritableDir:
        """Where an active snapshot can be written (layer apply) or diffed (commit)."""
        ...

    def close(self) -> None:
        """Release the metadata connection."""
        ...
