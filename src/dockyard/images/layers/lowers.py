"""Look paths up in a stack of overlay lower dirs the way overlayfs merges them.

Applying a layer straight into an empty upper dir needs to know what the merged view
below looks like: the metadata of a parent directory the layer writes into without
listing it (overlayfs would copy it up), a hardlink target from an earlier layer, and
whether a parent is a symlink (which we refuse to write through).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

__all__ = ["OPAQUE_XATTR", "Lowers", "is_opaque", "is_whiteout"]

OPAQUE_XATTR = "trusted.overlay.opaque"


def is_whiteout(st: os.stat_result) -> bool:
    """overlayfs marks a deleted name with a 0:0 character device."""
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def is_opaque(path: str | Path | int) -> bool:
    """Whether a directory hides everything below it in lower layers."""
    try:
        if isinstance(path, int):
            return os.getxattr(path, OPAQUE_XATTR) == b"y"
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


class Lowers:
    """A read-only stack of lower dirs, topmost first. Lower dirs are our own snapshots,
    never written while in use, so plain path lookups that never follow a symlink are
    enough here."""

    def __init__(self, dirs: Sequence[Path]) -> None:
        self.dirs = [Path(d) for d in dirs]

    def lookup(self, rel: str) -> tuple[Path, os.stat_result] | None:
        """The merged entry at ``rel``, or None; see :meth:`find`."""
        found = self.find(rel)
        return None if found is None else (found[1], found[2])

    def find(self, rel: str) -> tuple[str, Path, os.stat_result] | None:
        """``(found_rel, path, stat)`` of the merged entry at ``rel``, or None if absent.

        An entry reached through a symlink or a non-directory is reported as that
        symlink or non-directory (its path and stat), so callers can refuse it.
        """
        parts = [p for p in rel.split("/") if p]
        layers = list(self.dirs)
        prefix = ""
        for i, part in enumerate(parts):
            prefix = f"{prefix}/{part}" if prefix else part
            last = i == len(parts) - 1
            found: list[tuple[Path, os.stat_result]] = []
            for layer in layers:
                st = _lstat(layer / prefix)
                if st is None:
                    continue
                found.append((layer, st))
                if not stat.S_ISDIR(st.st_mode) or is_opaque(layer / prefix):
                    break
            if not found:
                return None
            top_layer, top = found[0]
            if is_whiteout(top):
                return None
            if last or not stat.S_ISDIR(top.st_mode):
                return prefix, top_layer / prefix, top
            layers = [layer for layer, st in found if stat.S_ISDIR(st.st_mode)]
        return None
