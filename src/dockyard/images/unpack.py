"""Layers into snapshots: one committed snapshot per chain id, shared by every image.

Each missing layer is applied by ``snapshots.unpack_layer`` into a scratch snapshot over
its parent's, checked against the config's diff id, and committed under its chain id.
A snapshot already present is skipped, so two images with a common base share it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.errors import Conflict, NotFound

if TYPE_CHECKING:
    from dockyard.images.image import Image
    from dockyard.images.snapshots import Snapshotter
    from dockyard.images.store import ImageStore

__all__ = ["EXTRACT_PREFIX", "remove_unused_snapshots", "snapshotter_for", "stale_extractions",
           "unpack_image"]

# snapshots.unpack_layer names its scratch snapshots so
EXTRACT_PREFIX = "extract-"

def snapshotter_for(store: ImageStore) -> Snapshotter:
    """The store's snapshotter (overlay over ``roots.snapshots``)."""
    from dockyard.images.snapshots import open_snapshotter

    return open_snapshotter(store.roots)


def unpack_image(store: ImageStore, image: Image) -> str:
    """Commit a snapshot for every layer of ``image`` that lacks one; the top chain id.
    Holds the store's writer lock, so gc knows an extraction left behind is stale."""
    from dockyard.images.snapshots import has_committed, unpack_layer

    chains = [str(c) for c in image.chain_ids]
    if not chains:
        return ""
    sn = snapshotter_for(store)
    try:
        with store.writing():
            parent: str | None = None
            for i, chain in enumerate(chains):
                if not has_committed(sn, chain):
                    with store.content.open(image.manifest.layers[i].digest) as f:
                        unpack_layer(sn, f, chain, parent,
                                     expected_diff_id=str(image.diff_ids[i]))
                parent = chain
        return chains[-1]
    finally:
        sn.close()


def remove_unused_snapshots(store: ImageStore) -> list[str]:
    """Remove committed layer snapshots no image lists, top down, and extractions a
    killed process left behind. The caller holds the writer lock exclusively (gc), so
    no unpack is in flight. Snapshots others stand on (containers) stay. Returns the
    names removed."""
    sn = snapshotter_for(store)
    removed: list[str] = []
    try:
        wanted = store.records.all_chains()
        for info in reversed(list(sn.walk())):  # children were made after their parents
            stale_extract = info.name.startswith(EXTRACT_PREFIX)
            if not stale_extract and (info.name in wanted or not info.name.startswith("sha256:")):
                continue  # in use, or a container's snapshot (the engine's)
            try:
                sn.remove(info.name)
                removed.append(info.name)
            except (Conflict, NotFound):
                continue
        return removed
    finally:
        sn.close()


def stale_extractions(store: ImageStore) -> list[str]:
    """Extraction snapshots present (stale only when no writer holds the lock)."""
    if not store.roots.snapshots.exists():
        return []
    sn = snapshotter_for(store)
    try:
        return [i.name for i in sn.walk() if i.name.startswith(EXTRACT_PREFIX)]
    finally:
        sn.close()
