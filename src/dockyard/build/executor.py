"""The seam between the builder and the engine: what ``build/`` asks, ``engine/`` does.

The builder plans (stages, expansion, cache keys) and never touches the kernel; the
engine implements :class:`StageExecutor` with containers, snapshots and the image
store. Every request carries the cache key the builder computed, so the engine can
record results under it and answer :meth:`StageExecutor.cached` across restarts.
Snapshot references are opaque strings to the builder (``None`` is an empty root).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from .mounts import Mount

__all__ = [
    "BaseImage",
    "CopyRequest",
    "CopySource",
    "RunFailed",
    "RunRequest",
    "StageExecutor",
]


@dataclass(frozen=True)
class BaseImage:
    """A resolved ``FROM`` image: its id, top snapshot and OCI config (``config`` part)."""

    image_id: str
    snapshot: str | None
    config: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class RunRequest:
    """Run ``args`` in a container on ``parent``; keep the changes as a new snapshot.

    ``env`` is complete (image env, ARGs, ENVs, proxies); ``mounts`` are expanded;
    ``secrets`` maps secret ids to host files and must never reach the snapshot;
    ``network`` is ``default`` (docker's build network), ``none`` or ``host``.
    """

    cache_key: str
    parent: str | None
    args: Sequence[str]
    env: Mapping[str, str]
    workdir: str = "/"
    user: str = ""
    mounts: Sequence[Mount] = ()
    network: str = "default"
    secrets: Mapping[str, Path] = field(default_factory=dict)
    inline_files: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CopySource:
    """Files for COPY/ADD: ``paths`` under ``root`` (a context dir or a mounted snapshot)."""

    root: Path
    paths: Sequence[str]


@dataclass(frozen=True)
class CopyRequest:
    """Copy sources (or heredoc ``contents``, name → data) to ``dest`` on ``parent``."""

    cache_key: str
    parent: str | None
    dest: str
    workdir: str = "/"
    sources: Sequence[CopySource] = ()
    contents: Mapping[str, str] = field(default_factory=dict)
    chown: str = ""
    chmod: str = ""
    link: bool = False
    parents: bool = False
    excludes: Sequence[str] = ()
    unpack: bool = False
    checksum: str = ""


class RunFailed(Exception):
    """A RUN exited non-zero; the build stops and shows ``exit_code`` and the last lines."""

    def __init__(self, exit_code: int, last_lines: Sequence[str]) -> None:
        self.exit_code = exit_code
        self.last_lines = list(last_lines)
        super().__init__(f"process did not complete successfully: exit code: {exit_code}")


@runtime_checkable
class StageExecutor(Protocol):
    """What the engine does for the builder. All methods may block; the builder calls
    them from one thread per stage, independent stages in parallel."""

    def resolve_image(self, ref: str, platform: str) -> BaseImage:
        """Find (pulling if needed) ``ref`` for ``platform``; ``scratch`` is empty."""
        ...

    def cached(self, cache_key: str) -> str | None:
        """The snapshot recorded under ``cache_key``, if any."""
        ...

    def run(self, request: RunRequest) -> str:
        """Run a step; record and return its snapshot. Raise :class:`RunFailed`."""
        ...

    def copy(self, request: CopyRequest) -> str:
        """Copy into a new snapshot; record and return it."""
        ...

    def commit(self, snapshot: str | None, config: Mapping[str, object],
               history: Sequence[Mapping[str, object]], tags: Sequence[str]) -> str:
        """Store the final image and move ``tags`` to it; return the image id."""
        ...
