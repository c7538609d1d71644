"""Names inside an OCI image layout and a docker-archive (``docker save``)."""

from __future__ import annotations

from dockyard.oci.codec import dumps
from dockyard.oci.digest import Digest

__all__ = [
    "CONTAINERD_NAME",
    "INDEX_FILE",
    "LAYOUT_FILE",
    "LAYOUT_VERSION",
    "MANIFEST_FILE",
    "REF_NAME",
    "REPOSITORIES_FILE",
    "blob_path",
    "layout_file_bytes",
]

LAYOUT_FILE = "oci-layout"
INDEX_FILE = "index.json"
LAYOUT_VERSION = "1.0.0"
MANIFEST_FILE = "manifest.json"  # docker-archive
REPOSITORIES_FILE = "repositories"  # docker-archive, legacy
REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"


def blob_path(digest: Digest) -> str:
    """``blobs/<alg>/<hex>``, relative to the layout's root."""
    return f"blobs/{digest.algorithm}/{digest.hex}"


def layout_file_bytes() -> bytes:
    return dumps({"imageLayoutVersion": LAYOUT_VERSION})
