"""Image objects in the API's list shapes (``/images/json``, history, ``/system/df``)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from dockyard.errors import InvalidArgument

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
    """Docker's ``since``/``until`` values: unix seconds (with fraction), RFC 3339, or a
    duration before now (``10m``)."""
    from dockyard.engine.status import parse_time

    try:
        return float(text)
    except ValueError:
        pass
    units = {"s": 1, "m": 60, "h": 3600}
    if text[-1:] in units and text[:-1].replace(".", "", 1).isdigit():
        return time.time() - float(text[:-1]) * units[text[-1]]
    try:
        value = parse_time(text)
    except ValueError:
        value = None
    if value is None:
        raise InvalidArgument(f"invalid value for {field!r}: {text}")
    return value


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
