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
from typing import Any, Protocol, runtime_checkable

from .fetch import Download
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
    """A resolved ``FROM`` image: its id, top snapshot, OCI config (``config`` part) and
    history (entries keep their ``created``: that is how ``commit`` tells them apart)."""

    image_id: str
    snapshot: str | None
    config: Mapping[str, Any] = field(default_factory=dict)
    history: Sequence[Mapping[str, Any]] = ()


@dataclass(frozen=True)
class RunRequest:
    """Run ``args`` in a container on ``parent``; keep the changes as a new snapshot.

    ``env`` is complete (image env, ARGs, ENVs, proxies); ``mounts`` are expanded;
    ``secrets`` maps secret ids to host files and must never reach the snapshot;
    ``network`` is ``default`` (docker's build network), ``none`` or ``host``;
    ``inline_files`` (heredoc scripts, name → content) are mounted read-only, mode
    0755, at ``/dev/pipes/<name>``; ``from_snapshots`` maps a mount's ``from`` to the
    snapshot it names.
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
    from_snapshots: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class CopySource:
    """Files for COPY/ADD.

    From the build context, ``root`` is its directory and ``paths`` are resolved,
    checked relative paths. From a stage or image, ``snapshot`` names it and ``paths``
    are the instruction's own source patterns, resolved by the engine inside it.
    With ``COPY --parents``, ``kept`` is the path each context path keeps under the
    destination (see :mod:`.copyplan`).
    """

    paths: Sequence[str]
    root: Path | None = None
    snapshot: str | None = None
    kept: Sequence[str] = ()


@dataclass(frozen=True)
class CopyRequest:
    """Copy sources, ``downloads`` (ADD ``urls``, fetched by the builder) or heredoc
    ``contents`` (name → data) to ``dest``.

    ``dest`` is absolute (the builder joins it to the working directory). With no
    sources at all the request just creates ``dest`` as a directory (WORKDIR).
    """

    cache_key: str
    parent: str | None
    dest: str
    workdir: str = "/"
    sources: Sequence[CopySource] = ()
    urls: Sequence[str] = ()
    contents: Mapping[str, str] = field(default_factory=dict)
    chown: str = ""
    chmod: str = ""
    link: bool = False
    parents: bool = False
    excludes: Sequence[str] = ()
    unpack: bool = False
    checksum: str = ""
    downloads: Sequence[Download] = ()
    unpack_downloads: bool = False  # ``ADD --unpack=true <url>``: remote tars too


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

    def commit(self, snapshot: str | None, config: Mapping[str, Any],
               history: Sequence[Mapping[str, Any]], tags: Sequence[str]) -> str:
        """Store the final image and move ``tags`` to it; return the image id.
        ``history`` is complete: the base image's entries, then the build's."""
        ...
