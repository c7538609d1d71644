"""v1 hugetlb controller: hugetlb.<size>.limit_in_bytes."""

from __future__ import annotations

from dockyard.runtime.cgroups.fs import read_int, write
from dockyard.runtime.cgroups.hugepages import limits, page_sizes

TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

NAME = "hugetlb"


def apply(path: str, resources: Mapping[str, Any]) -> None:
    """Write each ``hugepageLimits`` entry."""
    for size, limit, field in limits(resources):
        write(path, f"hugetlb.{size}.limit_in_bytes", limit, field)


def stats(path: str, out: dict[str, Any]) -> None:
    """Fill ``out["hugetlb"]`` per page size."""
    out["hugetlb"] = {
        size: {"usage": read_int(path, f"hugetlb.{size}.usage_in_bytes"),
               "max": read_int(path, f"hugetlb.{size}.max_usage_in_bytes"),
               "failcnt": read_int(path, f"hugetlb.{size}.failcnt")}
        for size in page_sizes()
    }
