"""Where a container's root filesystem comes from: images and their snapshots.

The engine needs little from ``dockyard.images``: resolve a reference to an image (id,
Docker-style runtime config, top chain id), prepare a writable snapshot keyed by the
container id over that chain, describe (for diff), mount, unmount and remove it.
:class:`ImageSource` names exactly that; :class:`StoreImages` implements it over
``ImageStore`` and its overlay snapshotter. Tests may hand the engine another source.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from dockyard.settings import Roots

if TYPE_CHECKING:
    from dockyard.oci.mount import Mount

__all__ = ["ImageSource", "ResolvedImage", "StoreImages", "is_mounted"]


@dataclass(frozen=True)
class ResolvedImage:
    """An image as a container sees it."""

    id: str                      # sha256:<hex>
    config: dict[str, Any]       # Docker's capitalised runtime config (Cmd, Env...)
    chain_id: str                # top layer's chain id; "" for an image without layers
    names: tuple[str, ...] = field(default_factory=tuple)


class ImageSource(Protocol):
    def resolve(self, ref: str) -> ResolvedImage: ...

    def prepare(self, key: str, image: ResolvedImage) -> None: ...

    def mount(self, key: str, target: Path) -> None: ...

    def unmount(self, target: Path) -> None: ...

    def remove(self, key: str) -> None: ...

    def mounts(self, key: str) -> list[Mount]: ...


def is_mounted(target: Path) -> bool:
    """Whether something is mounted exactly at ``target``."""
    want = os.path.realpath(target)
    try:
        with open("/proc/self/mountinfo") as f:
            return any(line.split()[4] == want for line in f)
    except OSError:
        return False


class StoreImages:
    """:class:`ImageSource` over the image store of ``roots``."""

    def __init__(self, roots: Roots) -> None:
        self.roots = roots
        self._store: Any = None
        self._snap: Any = None

    @property
    def store(self) -> Any:
        if self._store is None:
            from dockyard.engine.store import ContainerStore
            from dockyard.images import ImageStore

            users = ContainerStore(self.roots.containers).image_users
            self._store = ImageStore(self.roots, in_use=users)
        return self._store

    @property
    def snapshotter(self) -> Any:
        if self._snap is None:
            from dockyard.images.snapshots import open_snapshotter

            self._snap = open_snapshotter(self.roots)
        return self._snap

    def resolve(self, ref: str) -> ResolvedImage:
        image = self.store.resolve(ref)
        chain = image.chain_id
        return ResolvedImage(id=str(image.id), config=dict(image.config.config),
                             chain_id=str(chain) if chain else "",
                             names=tuple(image.names))

    def prepare(self, key: str, image: ResolvedImage) -> None:
        from dockyard.errors import NotFound
        from dockyard.images.snapshots import has_committed

        try:
            self.snapshotter.stat(key)
            return
        except NotFound:
            pass
        # A committed top layer means every layer below it is there too: skip the
        # unpack's second database connection and lock on every create.
        if not (image.chain_id and has_committed(self.snapshotter, image.chain_id)):
            self.store.unpack(self.store.get(image.id))
        self.snapshotter.prepare(key, image.chain_id or None)

    def mount(self, key: str, target: Path) -> None:
        from dockyard.images.snapshots import mount

        target.mkdir(parents=True, exist_ok=True)
        if not is_mounted(target):
            mount(self.snapshotter.mounts(key), target)

    def unmount(self, target: Path) -> None:
        from dockyard.images.snapshots import unmount

        if is_mounted(target):
            unmount(target, detach=True)

    def remove(self, key: str) -> None:
        from dockyard.errors import NotFound

        try:
            self.snapshotter.remove(key)
        except NotFound:
            pass

    def mounts(self, key: str) -> list[Mount]:
        return list(self.snapshotter.mounts(key))

    def container_keys(self) -> list[str]:
        """Keys of the writable snapshots containers own (named by container id)."""
        import re

        hex64 = re.compile(r"^[0-9a-f]{64}$")
        return [i.name for i in self.snapshotter.walk()
                if i.kind.value == "active" and hex64.match(i.name)]
