"""cgroup v2: a manager (``V2Manager``) and a module per controller, each imported
only when a resource needs it."""

from __future__ import annotations

__all__ = ["V2Manager"]


def __getattr__(name: str) -> object:
    if name != "V2Manager":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from dockyard.runtime.cgroups.v2.manager import V2Manager

    return V2Manager
