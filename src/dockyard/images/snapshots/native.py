"""Native snapshotter: every snapshot is a full copy of its parent, bind-mounted.

The fallback where overlayfs is missing (or refused, as on some nested setups). Slow
to prepare and heavy on disk, but it needs nothing from the kernel beyond bind mounts.
Layers are applied in ``Format.DIR`` and diffs compare a snapshot with its parent.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from dockyard.errors import SystemFailure
from dockyard.oci.mount import Mount

from .base import Kind
from .common import DirSnapshotter
from .metadata import Record

__all__ = ["NativeSnapshotter"]


class NativeSnapshotter(DirSnapshotter):
    """Snapshots under ``root``, each a copy (reflinked where the filesystem can)."""

    overlay = False

    def _lower_dirs(self, rec: Record) -> tuple[Path, ...]:
        # Only the parent matters: it already holds the whole tree.
        return tuple(self.fs_dir(i) for i in rec.ancestors[:1])

    def _fill(self, tmp: Path, parent: Record | None, kind: Kind) -> None:
        if parent is None:
            return
        src = self.fs_dir(parent.id)
        proc = subprocess.run(
            ["cp", "-a", "--reflink=auto", "--no-target-directory", str(src), str(tmp / "fs")],
            capture_output=True, text=True)
        if proc.returncode:
            raise SystemFailure(f"snapshot copy of {parent.info.name}: "
                                f"{proc.stderr.strip().splitlines()[-1:] or proc.returncode}")

    def _mounts(self, rec: Record) -> list[Mount]:
        ro = "rw" if rec.info.kind is Kind.ACTIVE else "ro"
        return [Mount("bind", str(self.fs_dir(rec.id)), options=(ro, "rbind"))]
