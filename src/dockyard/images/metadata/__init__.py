"""Image metadata in SQLite (WAL): images, tags, repo digests, chain ids, leases."""

from dockyard.images.metadata.db import Database
from dockyard.images.metadata.records import ImageRecord, Records

__all__ = ["Database", "ImageRecord", "Records"]
