"""v2 hugetlb controller: hugetlb.<size>.max."""

from __future__ import annotations

from dockyard.runtime.cgroups.fs import read_int, read_kv, write
from dockyard.runtime.cgroups.hugepages import limits, page_sizes

TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

NAME = "hugetlb"


def apply(path: str, resources: Mapping[str, Any]) -> None:
    """Write each ``hugepageLimits`` entry."""
    for size, limit, field in limits(resources):
        write(path, f"hugetlb.{size}.max", limit, field)


def stats(path: str, out: dict[str, Any]) -> None:
    """Fill ``out["hugetlb"]`` per page size."""
    out["hugetlb"] = {
        size: {"usage": read_int(path, f"hugetlb.{size}.current"),
               "max": read_int(path, f"hugetlb.{size}.max"),
               "failcnt": read_kv(path, f"hugetlb.{size}.events").get("max", 0)}
        for size in page_sizes()
    }
