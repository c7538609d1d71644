"""cgroup v1: a manager (``V1Manager``) and a module per controller, each imported
only when a resource needs it."""

from __future__ import annotations

__all__ = ["V1Manager"]


def __getattr__(name: str) -> object:
    if name != "V1Manager":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from dockyard.runtime.cgroups.v1.manager import V1Manager

    return V1Manager
