"""v1 cpuset controller: cpus and mems, and the copy-down a new v1 cpuset needs."""

from __future__ import annotations

import os

from dockyard.errors import InvalidConfig
from dockyard.runtime.cgroups.fs import read_text, section, write

TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

NAME = "cpuset"
F = "linux.resources.cpu"


def inherit(path: str) -> None:
    """Give a new v1 cpuset dir its parent's cpus and mems (empty ones refuse tasks)."""
    parent = os.path.dirname(path)
    for name in ("cpuset.cpus", "cpuset.mems"):
        if not read_text(path, name):
            write(path, name, read_text(parent, name) or "\n", f"cgroup {path}")


def _set(value: object, key: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidConfig(f"{F}.{key}: must be a string like \"0-2,4\"")
    return value


def apply(path: str, resources: Mapping[str, Any]) -> None:
    """Write ``cpu.cpus`` and ``cpu.mems`` into the v1 cpuset cgroup at ``path``."""
    cpu = section(resources, "cpu")
    if cpu is None:
        return
    for key in ("cpus", "mems"):
        value = _set(cpu.get(key), key)
        if value is not None:
            write(path, f"cpuset.{key}", value, f"{F}.{key}")


def stats(path: str, out: dict[str, Any]) -> None:
    """Fill ``out["cpuset"]`` with the effective cpus and mems."""
    out["cpuset"] = {"cpus": read_text(path, "cpuset.effective_cpus"),
                     "mems": read_text(path, "cpuset.effective_mems")}
