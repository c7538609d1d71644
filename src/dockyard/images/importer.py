"""``docker import``: a root filesystem tar (plain or compressed) becomes a one-layer image."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, BinaryIO

from dockyard.images.changes import apply_changes
from dockyard.images.layerio import ingest_tar
from dockyard.oci import Descriptor, History, ImageConfig, Manifest, mediatypes, parse_reference
from dockyard.oci.platform import Platform, host_platform

if TYPE_CHECKING:
    from dockyard.images.image import Image
    from dockyard.images.store import ImageStore

__all__ = ["import_rootfs", "now_rfc3339"]


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def import_rootfs(store: ImageStore, src: BinaryIO, name: str = "", *, source: str = "-",
                  changes: list[str] | None = None, message: str = "",
                  platform: Platform | None = None) -> Image:
    """Import the tar in ``src`` as an image tagged ``name`` (untagged when empty).
    Bad input (a reference, a change, not a tar) raises before anything is stored."""
    tag = str(parse_reference(name)) if name else ""
    runtime = apply_changes({}, changes or [])
    plat = platform or host_platform()
    writer, diff_id = ingest_tar(store.content, src, source)
    with store.writing():
        size = writer.size
        writer.commit(diff_id)
        created = now_rfc3339()
        cfg = ImageConfig(plat.architecture, plat.os, (diff_id,), runtime, created,
                          variant=plat.variant,
                          history=(History(created, "", message or f"Imported from {source}"),),
                          extra={"comment": message} if message else {})
        raw = cfg.to_bytes()
        cfg_digest = store.content.write(raw)
        manifest = Manifest(Descriptor(mediatypes.OCI_CONFIG, cfg_digest, len(raw)),
                            (Descriptor(mediatypes.OCI_LAYER, diff_id, size),))
        image, _ = store.register(manifest, [tag] if tag else [], hold=False)
    return image
