"""An OCI image layout built by hand from a rootfs (what ``skopeo copy oci:`` reads)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _blob(layout: Path, data: bytes) -> str:
    hexd = hashlib.sha256(data).hexdigest()
    path = layout / "blobs" / "sha256" / hexd
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return "sha256:" + hexd


def make_layout(rootfs: Path, layout: Path, tag: str = "latest",
                extra: bytes = b"") -> bytes:
    """Write ``layout`` holding one image of ``rootfs`` (plus a file ``extra`` when
    given, to make a bigger layer); returns the manifest bytes."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.add(rootfs, arcname=".")
        if extra:
            info = tarfile.TarInfo("extra.bin")
            info.size = len(extra)
            tar.addfile(info, io.BytesIO(extra))
    diff = raw.getvalue()
    layer = gzip.compress(diff, compresslevel=1, mtime=0)
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers",
                   "diff_ids": ["sha256:" + hashlib.sha256(diff).hexdigest()]},
    }).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": _blob(layout, config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": _blob(layout, layer), "size": len(layer)}],
    }).encode()
    index = {"schemaVersion": 2, "manifests": [{
        "mediaType": OCI_MANIFEST, "digest": _blob(layout, manifest), "size": len(manifest),
        "annotations": {"org.opencontainers.image.ref.name": tag}}]}
    (layout / "index.json").write_text(json.dumps(index))
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return manifest
