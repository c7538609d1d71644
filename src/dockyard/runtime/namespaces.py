"""Which namespaces a config asks for: new ones to unshare, existing ones to join."""

from __future__ import annotations

import os

from dockyard.errors import InvalidConfig, NotFound
from dockyard.runtime import syscalls as sc

TYPE_CHECKING = False  # typing itself costs milliseconds per start

if TYPE_CHECKING:
    from typing import Any

__all__ = ["FLAGS", "Namespaces", "enter_mount", "leave_mount", "plan_namespaces"]

FLAGS = {"pid": sc.CLONE_NEWPID, "network": sc.CLONE_NEWNET, "mount": sc.CLONE_NEWNS,
         "ipc": sc.CLONE_NEWIPC, "uts": sc.CLONE_NEWUTS, "user": sc.CLONE_NEWUSER,
         "cgroup": sc.CLONE_NEWCGROUP}
# The order in which existing namespaces are joined: user first (it owns the others).
ORDER = ("user", "ipc", "uts", "network", "pid", "mount", "cgroup")
_CLONE_FS = 0x00000200
PROC_NAMES = {"pid": "pid", "network": "net", "mount": "mnt", "ipc": "ipc", "uts": "uts",
              "user": "user", "cgroup": "cgroup"}


class Namespaces:
    """New namespaces (``kinds``) and namespaces to join (kind -> open descriptor)."""

    def __init__(self) -> None:
        self.kinds: set[str] = set()
        self.join: dict[str, int] = {}

    def wants(self, kind: str) -> bool:
        return kind in self.kinds or kind in self.join

    def unshare_flags(self, kinds: tuple[str, ...]) -> int:
        return sum(FLAGS[k] for k in kinds if k in self.kinds and k not in self.join)

    def close(self) -> None:
        for fd in self.join.values():
            os.close(fd)
        self.join.clear()


def plan_namespaces(linux: dict[str, Any]) -> Namespaces:
    """Open every namespace path now, in the caller, so a bad path fails before forking."""
    ns = Namespaces()
    try:
        for i, entry in enumerate(linux.get("namespaces") or ()):
            kind = entry["type"]
            path = entry.get("path")
            if not path:
                ns.kinds.add(kind)
                continue
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError as exc:
                raise NotFound(f"config.json: linux.namespaces[{i}].path: {path}: "
                               f"{exc.strerror.lower() if exc.strerror else exc}") from None
            ns.join[kind] = fd
        if "mount" not in ns.kinds and "mount" not in ns.join:
            raise InvalidConfig("config.json: linux.namespaces: a mount namespace is required")
        if ns.wants("user") and not (linux.get("uidMappings") and linux.get("gidMappings")) \
                and "user" not in ns.join:
            raise InvalidConfig("config.json: linux.uidMappings: required with a user namespace")
    except BaseException:
        ns.close()
        raise
    return ns


def enter_mount(fd: int) -> tuple[int, int, int] | None:
    """Join the mount namespace at ``fd`` for the children forked next (``exec``: its
    process must never be seen in the container's pid namespace with the host's root
    or cwd, which ``/proc/<pid>/root`` would hand to a tracer). The saved (namespace,
    cwd, root) for ``leave_mount``; None where the kernel refuses."""
    saved: list[int] = []
    try:
        for path, flags in (("/proc/self/ns/mnt", os.O_RDONLY), (".", os.O_PATH),
                            ("/", os.O_PATH)):
            saved.append(os.open(path, flags | os.O_CLOEXEC))
        sc.unshare(_CLONE_FS)  # threads share root and cwd: setns(NEWNS) wants them alone
        sc.setns(fd, sc.CLONE_NEWNS)
    except OSError:
        for kept in saved:
            os.close(kept)
        return None
    return saved[0], saved[1], saved[2]


def leave_mount(saved: tuple[int, int, int]) -> None:
    """Return to the mount namespace, root and cwd ``enter_mount`` left."""
    own, cwd, root = saved
    try:
        sc.setns(own, sc.CLONE_NEWNS)
        os.fchdir(root)
        os.chroot(".")  # setns put us at the namespace's root: restore a chroot
        os.fchdir(cwd)
    finally:
        for fd in saved:
            os.close(fd)


def write_id_maps(pid: int, linux: dict[str, Any]) -> None:
    """Write uid_map and gid_map of ``pid`` (the child that unshared its user ns)."""
    for key, name in (("uidMappings", "uid_map"), ("gidMappings", "gid_map")):
        lines = "".join(f"{m['containerID']} {m['hostID']} {m['size']}\n"
                        for m in linux.get(key) or ())
        try:
            with open(f"/proc/{pid}/{name}", "w") as f:
                f.write(lines)
        except OSError as exc:
            raise InvalidConfig(f"config.json: linux.{key}: {exc.strerror}") from None
