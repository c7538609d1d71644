"""Huge page sizes of this host and validation of ``hugepageLimits``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from typing import Any

from dockyard.errors import InvalidConfig
from dockyard.runtime.cgroups.fs import opt_int

__all__ = ["limits", "page_sizes"]

F = "linux.resources.hugepageLimits"


def _label(kib: int) -> str:
    for unit, size in (("GB", 1 << 20), ("MB", 1 << 10)):
        if kib % size == 0:
            return f"{kib // size}{unit}"
    return f"{kib}KB"


@cache
def page_sizes() -> tuple[str, ...]:
    """Page sizes as cgroup file names spell them ("2MB", "1GB"), smallest first."""
    try:
        names = os.listdir("/sys/kernel/mm/hugepages")
    except OSError:
        return ()
    kibs = sorted(int(n.removeprefix("hugepages-").removesuffix("kB")) for n in names
                  if n.startswith("hugepages-"))
    return tuple(_label(k) for k in kibs)


def limits(resources: Mapping[str, Any]) -> list[tuple[str, int, str]]:
    """(page size, limit, field) for each ``hugepageLimits`` entry, checked."""
    items = resources.get("hugepageLimits") or []
    if not isinstance(items, list):
        raise InvalidConfig(f"{F}: must be a list")
    out = []
    for i, item in enumerate(items):
        where = f"{F}[{i}]"
        if not isinstance(item, Mapping):
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
