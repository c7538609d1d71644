"""The content store's narrow interfaces (containerd's words): read, ingest, inspect, manage.

Helpers ask for the least they need: reading a blob takes a :class:`Provider`, writing
one an :class:`Ingester`, asking whether one exists an :class:`InfoProvider`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from dockyard.oci import Digest

__all__ = ["Info", "InfoProvider", "Ingester", "Manager", "Provider", "Writer"]


@dataclass(frozen=True)
class Info:
    """What the store knows of a committed blob."""

    digest: Digest
    size: int


class Provider(Protocol):
    def open(self, digest: Digest) -> BinaryIO:
        """A reader of the blob; ``NotFound`` when absent."""
        ...


class InfoProvider(Protocol):
    def info(self, digest: Digest) -> Info:
        """Size of the blob; ``NotFound`` when absent."""
        ...

    def exists(self, digest: Digest) -> bool: ...


class Writer(Protocol):
    """An open ingest: bytes are hashed as they arrive; ``commit`` checks and publishes."""

    def write(self, data: bytes) -> int: ...

    def digest(self) -> Digest: ...

    @property
    def size(self) -> int: ...

    def commit(self, expected: Digest | None = None, size: int | None = None) -> Digest: ...

    def abort(self) -> None: ...


class Ingester(Protocol):
    def writer(self, ref: str = "") -> Writer:
        """Start an ingest; the caller must ``commit`` or ``abort`` it."""
        ...


class Manager(InfoProvider, Protocol):
    def walk(self) -> Iterator[Digest]:
        """Every committed blob (by name; see ``check`` for content)."""
        ...

    def delete(self, digest: Digest) -> bool:
        """Remove the blob; False when it was absent."""
        ...
