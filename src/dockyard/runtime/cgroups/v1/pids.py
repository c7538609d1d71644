"""v1 pids controller: pids.max."""

from __future__ import annotations

from dockyard.runtime.cgroups.fs import opt_int, read_int, section, write

TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

NAME = "pids"
F = "linux.resources.pids"


def value_of(resources: Mapping[str, Any]) -> str | None:
    """pids.max text for the ``pids`` section, or None when nothing is to be written.

    As in runc, 0 means "leave alone", a negative limit means unlimited.
    """
    pids = section(resources, "pids")
    if pids is None:
        return None
    limit = opt_int(pids, "limit", F)
    if not limit:
        return None
    return "max" if limit < 0 else str(limit)


def apply(path: str, resources: Mapping[str, Any]) -> None:
    """Write pids.max (v1 and v2 share the file name)."""
    value = value_of(resources)
    if value is not None:
        write(path, "pids.max", value, f"{F}.limit")


def stats(path: str, out: dict[str, Any]) -> None:
    """Fill ``out["pids"]`` (limit 0 means unlimited, as runc reports it)."""
    limit = read_int(path, "pids.max")
    out["pids"] = {"current": read_int(path, "pids.current"), "limit": max(limit, 0)}
