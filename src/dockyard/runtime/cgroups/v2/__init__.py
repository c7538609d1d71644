"""cgroup v2: a manager over one unified directory and a module per controller."""

from dockyard.runtime.cgroups.v2.manager import V2Manager

__all__ = ["V2Manager"]
