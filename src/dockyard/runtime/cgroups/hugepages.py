"""Huge page sizes of this host and validation of ``hugepageLimits``."""

from __future__ import annotations

import os

from dockyard.errors import InvalidConfig
from dockyard.runtime.cgroups.fs import opt_int

TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

__all__ = ["limits", "page_sizes"]

F = "linux.resources.hugepageLimits"


def _label(kib: int) -> str:
    for unit, size in (("GB", 1 << 20), ("MB", 1 << 10)):
        if kib % size == 0:
            return f"{kib // size}{unit}"
    return f"{kib}KB"


_sizes: list[tuple[str, ...]] = []


def page_sizes() -> tuple[str, ...]:
    """Page sizes as cgroup file names spell them ("2MB", "1GB"), smallest first."""
    if not _sizes:
        try:
            names = os.listdir("/sys/kernel/mm/hugepages")
        except OSError:
            names = []
        kibs = sorted(int(n.removeprefix("hugepages-").removesuffix("kB")) for n in names
                      if n.startswith("hugepages-"))
        _sizes.append(tuple(_label(k) for k in kibs))
    return _sizes[0]


def limits(resources: Mapping[str, Any]) -> list[tuple[str, int, str]]:
    """(page size, limit, field) for each ``hugepageLimits`` entry, checked."""
    items = resources.get("hugepageLimits") or []
    if not isinstance(items, list):
        raise InvalidConfig(f"{F}: must be a list")
    out = []
    for i, item in enumerate(items):
        where = f"{F}[{i}]"
        if not isinstance(item, dict):
            raise InvalidConfig(f"{where}: must be an object")
        size = item.get("pageSize")
        if size not in page_sizes():
            raise InvalidConfig(f"{where}.pageSize: not a huge page size of this host: "
                                f"{size} (have {', '.join(page_sizes()) or 'none'})")
        limit = opt_int(item, "limit", where, minimum=0)
        if limit is None:
            raise InvalidConfig(f"{where}.limit: missing")
        out.append((str(size), limit, f"{where}.limit"))
    return out
