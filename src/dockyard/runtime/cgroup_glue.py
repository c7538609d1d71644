"""The lifecycle's view of cgroups: the manager of a container, its mount layout, and
whether it is frozen. Resource control itself lives in ``runtime/cgroups``."""

from __future__ import annotations

TYPE_CHECKING = False  # typing itself costs milliseconds per start

if TYPE_CHECKING:
    from typing import Any

__all__ = ["container_cgroup_paths", "default_cgroups_path", "manager"]


def default_cgroups_path(config: dict[str, Any], container_id: str) -> str:
    """``linux.cgroupsPath``, or ``/dockyard/<id>`` when the config names none."""
    path = str((config.get("linux") or {}).get("cgroupsPath") or "")
    return path or f"/dockyard/{container_id}"


def manager(cgroups_path: str, container_id: str) -> Any:
    """The container's ``CgroupManager``."""
    try:
        from dockyard.runtime.cgroups import manager_for
    except ImportError:  # runtime/cgroups not landed yet: run without resource control
        return _NoCgroup()
    return manager_for(cgroups_path, container_id)


class _NoCgroup:
    """Stand-in used only while ``runtime/cgroups`` is missing from the tree."""

    def create(self) -> None: ...
    def apply(self, resources: Any) -> None: ...
    def add_pid(self, pid: int) -> None: ...
    def remove(self) -> None: ...
    def pids(self) -> list[int]:
        return []

    def frozen(self) -> bool:
        return False

    def freeze(self) -> None: ...
    def thaw(self) -> None: ...


def container_cgroup_paths() -> dict[str, str]:
    """Host mount point of each hierarchy under /sys/fs/cgroup -> this process's path in it.

    Read before entering a cgroup namespace; used to bind the container's own cgroup
    directories at its /sys/fs/cgroup."""
    mine: dict[frozenset[str], str] = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, names, path = line.rstrip("\n").split(":", 2)
            mine[frozenset(names.split(",")) if names else frozenset()] = path
    out: dict[str, str] = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            point = left.split()[4]
            fstype, _, opts = [*right.split(), "", ""][:3]
            if not point.startswith("/sys/fs/cgroup") or point in out:
                continue
            if fstype == "cgroup2" and frozenset() in mine:
                out[point] = mine[frozenset()]
            elif fstype == "cgroup":
                words = set(opts.split(","))
                for ctrls, path in mine.items():
                    if ctrls and ctrls <= words:
                        out[point] = path
                        break
    return out
