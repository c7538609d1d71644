"""cgroup v1: a manager over per-controller hierarchies and a module per controller."""

from dockyard.runtime.cgroups.v1.manager import V1Manager

__all__ = ["V1Manager"]
