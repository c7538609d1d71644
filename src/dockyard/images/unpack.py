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

__all__ = ["remove_unused_snapshots", "snapshotter_for", "unpack_image"]

def snapshotter_for(store: ImageStore) -> Snapshotter:
    """The store's snapshotter (overlay over ``roots.snapshots``)."""
    from dockyard.images.snapshots import open_snapshotter

    return open_snapshotter(store.roots)


def unpack_image(store: ImageStore, image: Image) -> str:
    """Commit a snapshot for every layer of ``image`` that lacks one; the top chain id."""
    from dockyard.images.snapshots import has_committed, unpack_layer

    chains = [str(c) for c in image.chain_ids]
    if not chains:
        return ""
    sn = snapshotter_for(store)
    try:
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
    """Remove committed layer snapshots no image lists and no snapshot stands on, top
    down. Returns the names removed. (Extraction keys may belong to a live unpack in
    another process; ``check --repair`` clears them.)"""
    sn = snapshotter_for(store)
    removed: list[str] = []
    try:
        wanted = store.records.all_chains()
        infos = list(sn.walk())
        parents = {i.parent for i in infos if i.parent}
        for info in reversed(infos):  # children were created after their parents
            name = info.name
            if name in wanted:
                continue
            if not name.startswith("sha256:"):
                continue  # containers' snapshots belong to the engine
            if name in parents and name not in removed:
                still = {i.parent for i in infos if i.name not in removed and i.parent}
                if name in still:
                    continue
            try:
                sn.remove(name)
                removed.append(name)
            except (Conflict, NotFound):
                continue
        return removed
    finally:
        sn.close()
