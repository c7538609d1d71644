"""Image archives: ``save`` (OCI layout + docker-archive) and ``load`` (either, and
skopeo's docker-archive)."""

from dockyard.images.archive.load import load
from dockyard.images.archive.save import FORMATS, save, total_size

__all__ = ["FORMATS", "load", "save", "total_size"]
