"""``manager_for``: from an OCI ``linux.cgroupsPath`` to the right manager.

How ``cgroupsPath`` maps to directories (runc's cgroupfs rules):

- **absolute** (``/dockyard/abc``): below each hierarchy's mount point, i.e.
  ``/sys/fs/cgroup/memory/dockyard/abc`` on v1, ``/sys/fs/cgroup/dockyard/abc`` on v2;
- **relative** (``dockyard/abc``): below the cgroup this process is in, per
  hierarchy, from /proc/self/cgroup (so a runtime started inside a cgroup nests there;
  where a mount shows a sub-cgroup at its mount point, as inside a container, that
  prefix is taken off first);
- **empty**: the container id, relative as above.

``..`` components are resolved lexically first and cannot climb out of the hierarchy.
The systemd driver's ``slice:prefix:name`` form is refused with a clear error.
"""

from __future__ import annotations

import os
import posixpath

from dockyard.errors import InvalidConfig
from dockyard.runtime.cgroups.detect import CgroupMode, Hierarchies, hierarchies, own_cgroups

TYPE_CHECKING = False

if TYPE_CHECKING:
    from dockyard.runtime.cgroups.base import CgroupManager
    from dockyard.runtime.cgroups.v2.manager import V2Manager

__all__ = ["manager_for", "resolve_path"]



def _systemd_form(path: str) -> bool:
    """``slice:prefix:name`` as runc's systemd driver takes it (re costs ms to import)."""
    parts = path.split(":")
    return (len(parts) == 3 and parts[0].endswith(".slice") and "/" not in path
            and bool(parts[2]))


def _clean(path: str) -> str:
    """Lexically resolved path, "/" rooted, never above "/"."""
    return posixpath.normpath("/" + path).lstrip("/")


def resolve_path(cgroups_path: str | None, container_id: str,
                 own: str = "/") -> str:
    """The cgroup (as a path inside one hierarchy, "/"-rooted) for a container.

    ``own`` is this process's cgroup in that hierarchy, used for relative paths.
    """
    if cgroups_path is not None and not isinstance(cgroups_path, str):
        raise InvalidConfig("linux.cgroupsPath: must be a string")
    path = cgroups_path or ""
    if "\0" in path or "\n" in path:
        raise InvalidConfig("linux.cgroupsPath: contains a nul or newline")
    if _systemd_form(path):
        raise InvalidConfig(f"linux.cgroupsPath: {path} is systemd's slice:prefix:name "
                            "form; only the cgroupfs driver is supported")
    if not path:
        if not container_id or "/" in container_id or container_id in (".", ".."):
            raise InvalidConfig(f"container id: not usable as a cgroup name: {container_id}")
        path = container_id
    base = "" if path.startswith("/") else _clean(own)
    inner = posixpath.join(base, _clean(path)) if base else _clean(path)
    if not inner:
        raise InvalidConfig(f"linux.cgroupsPath: {cgroups_path} names the hierarchy root")
    return "/" + inner


def manager_for(cgroups_path: str | None, container_id: str, *,
                hier: Hierarchies | None = None,
                own: dict[str, str] | None = None) -> CgroupManager:
    """The manager for a container's cgroup on this host (V1, V2, hybrid, or null)."""
    h = hier if hier is not None else hierarchies()
    if own is not None:
        mine = own
    elif isinstance(cgroups_path, str) and cgroups_path.startswith("/"):
        # An absolute path ignores our own cgroup; reading /proc/self/cgroup takes the
        # kernel's cgroup_mutex, held for milliseconds by any concurrent cgroup move.
        mine = {}
    else:
        mine = own_cgroups()
    if not h.v1 and h.unified is None:
        from dockyard.runtime.cgroups.null import NullManager

        return NullManager()
    v2: V2Manager | None = None
    if h.unified is not None:
        from dockyard.runtime.cgroups.v2.manager import V2Manager

        rel = resolve_path(cgroups_path, container_id, h.relative_own("", mine.get("", "/")))
        v2 = V2Manager(os.path.join(h.unified, rel.lstrip("/")), h.unified,
                       enable_all=h.mode == CgroupMode.V2)
        if h.mode == CgroupMode.V2:
            return v2
    paths = {}
    for ctrl, mount in h.v1.items():
        rel = resolve_path(cgroups_path, container_id,
                           h.relative_own(ctrl, mine.get(ctrl, "/")))
        paths[ctrl] = os.path.join(mount, rel.lstrip("/"))
    from dockyard.runtime.cgroups.v1.manager import V1Manager

    v1 = V1Manager(paths)
    if v2 is not None:
        from dockyard.runtime.cgroups.hybrid import HybridManager

        return HybridManager(v1, v2)
    return v1
