"""The lifecycle's view of cgroups: the manager of a container, its mount layout, and
whether it is frozen. Resource control itself lives in ``runtime/cgroups``."""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing itself costs milliseconds per start

if TYPE_CHECKING:
    from typing import Any

__all__ = ["container_cgroup_paths", "default_cgroups_path", "manager", "prime_attach"]


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


def prime_attach() -> bool:
    """Start a no-op cgroup move in the background; whether it was started.

    The first write to any cgroup.procs after a quiet spell waits for an RCU grace
    period (the kernel's global cgroup_threadgroup_rwsem), ~13 ms here, holding
    cgroup_mutex (which mkdir needs too); writes that follow within the next grace
    period are cheap. A thread moving this process into the cgroup it is already in
    pays it while the main thread reads the config and forks the init: it waits in
    the kernel without the GIL, and costs far less than the ``sh`` helper process this
    used to spawn (~2 ms of a ``run`` measured). Only the command line uses it; the
    library leaves its host alone."""
    try:
        with open("/proc/self/cgroup") as f:
            line = f.readline().strip()
    except OSError:
        return False
    _, names, path = line.split(":", 2)
    sub = names.split(",")[0].removeprefix("name=") if names else "unified"
    target = f"/sys/fs/cgroup/{sub}{path}/cgroup.procs"
    if not os.path.exists(target) and not names:
        target = f"/sys/fs/cgroup{path}/cgroup.procs"
    import _thread

    _thread.start_new_thread(_move_self, (target,))
    return True


def _move_self(procs: str) -> None:
    try:
        fd = os.open(procs, os.O_WRONLY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.write(fd, b"0")  # "0": the writer's own thread group
    except OSError:
        pass
    finally:
        os.close(fd)
