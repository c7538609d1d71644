"""Image objects in the API's list shapes (``/images/json``, history, ``/system/df``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockyard.images import Image

__all__ = ["epoch", "image_summary", "parse_timestamp"]


def epoch(stamp: str) -> int:
    """Unix seconds of an RFC 3339 time (0 for none)."""
    from dockyard.engine.status import parse_time

    try:
        return int(parse_time(stamp) or 0)
    except ValueError:
        return 0


def parse_timestamp(text: str, field: str) -> float:
    """Docker's ``since``/``until`` values (unix seconds, RFC 3339, a duration before
    now) as unix seconds, read as ``docker logs`` reads them."""
    from dockyard.engine.logs import parse_since

    return parse_since(text, field) / 1e9


def image_summary(img: Image) -> dict[str, Any]:
    """One ``/images/json`` entry."""
    from dockyard.images import familiar

    tags = [familiar(n) for n in img.names]
    digests = [familiar(d) for d in img.repo_digests]
    return {
        "Id": str(img.id), "ParentId": "",
        "RepoTags": tags or (["<none>:<none>"] if not digests else []),
        "RepoDigests": digests or (["<none>@<none>"] if not tags else []),
        "Created": epoch(img.config.created), "Size": img.size, "SharedSize": -1,
        "VirtualSize": img.size, "Labels": img.config.config.get("Labels") or {},
        "Containers": -1,
    }
