"""Build multi-layer test images straight into a store (like a ``commit`` would)."""

from __future__ import annotations

import io
import tarfile

from dockyard.images import Image, ImageStore
from dockyard.oci import Descriptor, Digest, History, ImageConfig, Manifest, mediatypes


def layer_tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for name, data in sorted(files.items()):
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode = len(data), 0o644
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def derive(store: ImageStore, base: Image, files: dict[str, bytes], tag: str) -> Image:
    """``base`` plus one layer holding ``files``, tagged ``tag``."""
    layer = layer_tar(files)
    digest = store.content.write(layer)
    cfg = ImageConfig(base.config.architecture, base.config.os, (*base.diff_ids, digest),
                      dict(base.config.config), "2026-01-01T00:00:00Z",
                      history=(*base.config.history, History("2026-01-01T00:00:00Z",
                                                             f"add {sorted(files)}")))
    raw = cfg.to_bytes()
    cdigest = store.content.write(raw)
    manifest = Manifest(Descriptor(mediatypes.OCI_CONFIG, cdigest, len(raw)),
                        (*base.manifest.layers,
                         Descriptor(mediatypes.OCI_LAYER, Digest.of(layer), len(layer))))
    return store.register(manifest, [tag])[0]
