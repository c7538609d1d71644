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


_primed = False


def prime_attach() -> None:
    """Start, in a thread, a no-op move of this process into its own cgroup.

    The first write to any cgroup.procs after a quiet spell waits for an RCU grace
    period (the kernel's global cgroup_threadgroup_rwsem), ~13 ms here; writes that
    follow within the next grace period are cheap. Paying it in the background while
    the config is read and the init forked takes it off the path of ``add_pid``. It
    must start early: while it waits it holds cgroup_mutex, which mkdir needs too."""
    global _primed
    if _primed:
        return
    _primed = True
    import _thread

    try:
        with open("/proc/self/cgroup") as f:
            lines = f.read().split()
    except OSError:
        return
    candidates = []
    for line in lines:
        _, names, path = line.split(":", 2)
        sub = names.split(",")[0].removeprefix("name=") if names else "unified"
        candidates.append(f"/sys/fs/cgroup/{sub}{path}/cgroup.procs")
        if not names:
            candidates.append(f"/sys/fs/cgroup{path}/cgroup.procs")
    pid = str(os.getpid()).encode()

    def move() -> None:
        for path in candidates:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                os.write(fd, pid)
                return
            except OSError:
                continue
            finally:
                os.close(fd)

    _thread.start_new_thread(move, ())
