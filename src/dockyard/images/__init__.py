"""Image store: content store (blobs by digest), metadata (SQLite), layers (apply and
diff with whiteouts), overlay snapshots shared between images, import/export.

``ImageStore(roots)`` is the facade; ``import_rootfs``, ``save``, ``load``, ``check`` and
``export_rootfs`` take a store.
"""

from dockyard.images.archive import FORMATS, load, save, total_size
from dockyard.images.check import CheckReport, check
from dockyard.images.export import export_rootfs, write_tree
from dockyard.images.image import Image, familiar
from dockyard.images.importer import import_rootfs
from dockyard.images.store import DEFAULT_IMAGE, ImageStore, InUse

__all__ = [
    "DEFAULT_IMAGE", "FORMATS", "CheckReport", "Image", "ImageStore", "InUse", "check",
    "export_rootfs", "familiar", "import_rootfs", "load", "save", "total_size", "write_tree",
]
