"""Where Dockyard keeps its state.

``root`` (``--root`` / ``DOCKYARD_ROOT``, default ``/var/lib/dockyard``) holds what must
survive a reboot; ``run_root`` (``--run-root`` / ``DOCKYARD_RUN_ROOT``, default
``/run/dockyard``) holds runtime state, sockets and pids. Two engines with different
roots are fully independent, which is how tests run side by side.
Standard library only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULT_ROOT", "DEFAULT_RUN_ROOT", "Roots"]

DEFAULT_ROOT = Path("/var/lib/dockyard")
DEFAULT_RUN_ROOT = Path("/run/dockyard")


@dataclass(frozen=True)
class Roots:
    """The two state directories of one engine, and the fixed layout below them."""

    root: Path = DEFAULT_ROOT
    run_root: Path = DEFAULT_RUN_ROOT

    @classmethod
    def from_env(cls, root: str | None = None, run_root: str | None = None) -> Roots:
        """Explicit arguments win over the environment, which wins over the defaults."""
        return cls(
            Path(root or os.environ.get("DOCKYARD_ROOT") or DEFAULT_ROOT),
            Path(run_root or os.environ.get("DOCKYARD_RUN_ROOT") or DEFAULT_RUN_ROOT),
        )

    # Persistent layout (root).
    @property
    def content(self) -> Path:
        """Content store: ``blobs/sha256/<hex>`` and ``ingest/<ref>``."""
        return self.root / "content"

    @property
    def metadata_db(self) -> Path:
        """SQLite database (WAL) with images, tags, containers, snapshots records."""
        return self.root / "metadata.db"

    @property
    def snapshots(self) -> Path:
        """Overlay snapshots: ``snapshots/<id>/{fs,work}``."""
        return self.root / "snapshots"

    @property
    def containers(self) -> Path:
        """Per-container persistent dirs: config, logs, hostname, resolv.conf."""
        return self.root / "containers"

    @property
    def volumes(self) -> Path:
        return self.root / "volumes"

    @property
    def tmp(self) -> Path:
        """Scratch space on the same filesystem as the store, for atomic renames."""
        return self.root / "tmp"

    # Volatile layout (run_root).
    @property
    def runtime_state(self) -> Path:
        """``--root`` handed to the OCI runtime (dockyard-runtime, runc, crun)."""
        return self.run_root / "runtime"

    @property
    def run_containers(self) -> Path:
        """Per-container volatile dirs: monitor socket and pid, bundle, rootfs mount."""
        return self.run_root / "containers"
