"""The lifecycle's view of cgroups: the manager of a container, its mount layout, and
whether it is frozen. Resource control itself lives in ``runtime/cgroups``."""

from __future__ import annotations

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


# The first statements of the launcher (before any module of ours is imported) and the
# body of prime_attach: C modules of the standard library only, failures ignored.
PRIME_SOURCE = """\
def _dockyard_prime(argv):
    import _thread, posix, sys
    if "run" not in argv and "create" not in argv:
        return
    fd = posix.open("/proc/self/cgroup", posix.O_RDONLY | posix.O_CLOEXEC)
    try:
        line = posix.read(fd, 4096).split(b"\\n", 1)[0]
    finally:
        posix.close(fd)
    _, names, path = line.split(b":", 2)
    if names:
        return  # v1 or hybrid: the init joins through tasks files, with no such wait
    sub = b"unified"
    flags = posix.O_WRONLY | posix.O_CLOEXEC
    try:
        fd = posix.open(b"/sys/fs/cgroup/" + sub + path + b"/cgroup.procs", flags)
    except OSError:
        fd = posix.open(b"/sys/fs/cgroup" + path + b"/cgroup.procs", flags)

    def move(fd):
        try:
            posix.write(fd, b"0")
        except OSError:
            pass
        finally:
            posix.close(fd)

    sys.setswitchinterval(1.0)
    _thread.start_new_thread(move, (fd,))
    sys.dockyard_runtime_primed = True


try:
    _dockyard_prime(__import__("sys").argv)
except Exception:
    pass
"""


def prime_attach() -> bool:
    """Start a no-op cgroup move in the background; whether it was started.

    The first write to any cgroup.procs after a quiet spell waits for an RCU grace
    period (the kernel's global cgroup_threadgroup_rwsem), ~12 ms here, holding
    cgroup_mutex, which mkdir in cgroupfs and reading /proc/self/cgroup need too;
    writes that follow within the next grace period are cheap. runc pays it on most
    starts. With v1 hierarchies the init moves itself through ``tasks`` files, which
    skips that lock (``container_create._join``), so this is done only on pure v2
    hosts (where a priming write would only hold up our own mkdir on hybrid ones).
    There, a thread writing "0" (this process, into the cgroup it is already in)
    starts paying it at once: the launcher runs ``PRIME_SOURCE`` before importing
    anything of ours (~5 ms earlier than ``main`` could), the thread waits in the
    kernel without the GIL, and the GIL switch interval goes up to 1 s so that the
    thread takes the GIL only when the main thread blocks, never stalling it (a helper
    ``sh`` did this before, at ~1 ms of CPU). ``main`` calls this for create and run
    when the launcher has not; the library leaves its host alone."""
    import sys

    if getattr(sys, "dockyard_runtime_primed", False):
        return True
    scope = {"__name__": "dockyard_prime"}
    exec(PRIME_SOURCE.replace("__import__(\"sys\").argv", "[\"run\"]"), scope)
    return bool(getattr(sys, "dockyard_runtime_primed", False))
