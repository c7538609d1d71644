"""Media types of OCI image-spec 1.1 and Docker schema2, and how they map onto each other."""

from __future__ import annotations

__all__ = [
    "CONFIGS",
    "DOCKER_CONFIG",
    "DOCKER_FOREIGN_LAYER",
    "DOCKER_LAYER",
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "INDEXES",
    "LAYERS",
    "MANIFESTS",
    "OCI_CONFIG",
    "OCI_EMPTY",
    "OCI_INDEX",
    "OCI_LAYER",
    "OCI_LAYER_GZIP",
    "OCI_LAYER_ZSTD",
    "OCI_MANIFEST",
    "compression_of",
    "is_config",
    "is_index",
    "is_layer",
    "is_manifest",
    "layer_type",
    "to_oci",
]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
_OCI_NONDIST = "application/vnd.oci.image.layer.nondistributable.v1.tar"

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
_DOCKER_LAYER_TAR = "application/vnd.docker.image.rootfs.diff.tar"

MANIFESTS = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
INDEXES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
CONFIGS = frozenset({OCI_CONFIG, DOCKER_CONFIG})
# Layer media type -> compression ("" for plain tar).
LAYERS: dict[str, str] = {
    OCI_LAYER: "", OCI_LAYER_GZIP: "gzip", OCI_LAYER_ZSTD: "zstd",
    _OCI_NONDIST: "", _OCI_NONDIST + "+gzip": "gzip", _OCI_NONDIST + "+zstd": "zstd",
    DOCKER_LAYER: "gzip", DOCKER_FOREIGN_LAYER: "gzip", _DOCKER_LAYER_TAR: "",
}
_TO_OCI = {
    DOCKER_MANIFEST: OCI_MANIFEST, DOCKER_MANIFEST_LIST: OCI_INDEX, DOCKER_CONFIG: OCI_CONFIG,
    DOCKER_LAYER: OCI_LAYER_GZIP, DOCKER_FOREIGN_LAYER: OCI_LAYER_GZIP,
    _DOCKER_LAYER_TAR: OCI_LAYER,
}
_BY_COMPRESSION = {"": OCI_LAYER, "gzip": OCI_LAYER_GZIP, "zstd": OCI_LAYER_ZSTD}


def is_manifest(media_type: str) -> bool:
    return media_type in MANIFESTS


def is_index(media_type: str) -> bool:
    return media_type in INDEXES


def is_config(media_type: str) -> bool:
    return media_type in CONFIGS


def is_layer(media_type: str) -> bool:
    return media_type in LAYERS


def compression_of(media_type: str) -> str:
    """``""``, ``gzip`` or ``zstd`` for a layer media type; KeyError when not a layer."""
    return LAYERS[media_type]


def to_oci(media_type: str) -> str:
    """The OCI media type equivalent to a Docker one (OCI types map to themselves)."""
    return _TO_OCI.get(media_type, media_type)


def layer_type(compression: str) -> str:
    """The OCI layer media type for a compression (``""``, ``gzip``, ``zstd``)."""
    return _BY_COMPRESSION[compression]
