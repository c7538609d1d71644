"""The content store: blobs by digest, verified while written, published atomically."""

from dockyard.images.content.local import LocalStore, LocalWriter, fsync_dir
from dockyard.images.content.protocols import (
    Info,
    InfoProvider,
    Ingester,
    Manager,
    Provider,
    Writer,
)

__all__ = ["Info", "InfoProvider", "Ingester", "LocalStore", "LocalWriter", "Manager",
           "Provider", "Writer", "fsync_dir"]
