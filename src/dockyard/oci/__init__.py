"""OCI and Docker data types: image manifests, indexes, configs, descriptors, digests,
media types, platforms, references, and the runtime spec (config.json). Plain data,
standard library only, no I/O beyond (de)serialising."""

from dockyard.oci import mediatypes
from dockyard.oci.codec import dumps, loads
from dockyard.oci.config import History, ImageConfig, chain_ids
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.digest import Digest, Digester
from dockyard.oci.manifest import Index, Manifest, parse_document
from dockyard.oci.mount import Mount
from dockyard.oci.platform import Platform, host_platform, normalize_arch
from dockyard.oci.reference import DEFAULT_DOMAIN, Reference, parse_reference

__all__ = [
    "DEFAULT_DOMAIN", "Descriptor", "Digest", "Digester", "History", "ImageConfig", "Index",
    "Manifest", "Mount", "Platform", "Reference", "chain_ids", "dumps", "host_platform",
    "loads", "mediatypes", "normalize_arch", "parse_document", "parse_reference",
]
