"""Which cgroup hierarchies this host mounts, and where this process sits in them.

Read once from /proc/self/mountinfo and cached: a v1 hierarchy per controller (one
mount may carry several, e.g. ``cpu,cpuacct``), and the unified (cgroup2) mount with
the controllers its root lists. On hybrid hosts like this one the unified mount is
/sys/fs/cgroup/unified and lists only ``hugetlb``.
"""

from __future__ import annotations

import os

__all__ = ["CgroupMode", "Hierarchies", "detect_mode", "hierarchies", "own_cgroups",
           "parse_mountinfo"]

# v1 controllers a container's cgroup is made in (named hierarchies are left alone).
V1_CONTROLLERS = ("cpu", "cpuacct", "cpuset", "memory", "pids", "blkio", "freezer",
                  "devices", "hugetlb", "net_cls", "net_prio", "perf_event", "rdma", "misc")


class CgroupMode:
    """How this host mounts cgroups (plain strings: enum costs milliseconds to import)."""

    V1 = "v1"
    V2 = "v2"
    HYBRID = "hybrid"


class Hierarchies:
    """Mount points: ``v1`` maps controller -> mountpoint; ``unified`` is the cgroup2 one."""

    __slots__ = ("roots", "unified", "unified_controllers", "v1")

    def __init__(self, v1: dict[str, str] | None = None, unified: str | None = None,
                 unified_controllers: frozenset[str] = frozenset(),
                 roots: dict[str, str] | None = None) -> None:
        self.v1 = dict(v1 or {})
        self.unified = unified
        self.unified_controllers = unified_controllers
        # Which cgroup each mount shows at its mount point (controller, "" for
        # unified): "/" on a host, a sub-cgroup inside a container or a bind mount.
        self.roots = dict(roots or {})

    def relative_own(self, controller: str, own: str) -> str:
        """``own`` (from /proc/self/cgroup) as a path below the mount point."""
        root = self.roots.get(controller, "/")
        if root != "/" and (own == root or own.startswith(root + "/")):
            return own[len(root):] or "/"
        return own

    def __repr__(self) -> str:
        return (f"Hierarchies(v1={self.v1!r}, unified={self.unified!r}, "
                f"unified_controllers={sorted(self.unified_controllers)!r})")

    @property
    def mode(self) -> str:
        """V2 when only cgroup2 is mounted, HYBRID when both are, else V1."""
        if self.unified is not None and not self.v1:
            return CgroupMode.V2
        if self.unified is not None:
            return CgroupMode.HYBRID
        return CgroupMode.V1


def _unescape(path: str) -> str:
    return path.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n") \
        .replace("\\134", "\\")


def parse_mountinfo(text: str) -> Hierarchies:
    """Hierarchies from mountinfo text; the first mount of each hierarchy wins."""
    v1: dict[str, str] = {}
    roots: dict[str, str] = {}
    unified: str | None = None
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields, rfields = left.split(), right.split()
        if len(fields) < 5 or len(rfields) < 3:
            continue
        fstype, root, mountpoint = rfields[0], _unescape(fields[3]), _unescape(fields[4])
        if fstype == "cgroup2" and unified is None:
            unified = mountpoint
            roots[""] = root
        elif fstype == "cgroup":
            for opt in rfields[2].split(","):
                if opt in V1_CONTROLLERS and opt not in v1:
                    v1[opt] = mountpoint
                    roots[opt] = root
    controllers: frozenset[str] = frozenset()
    if unified is not None:
        try:
            with open(os.path.join(unified, "cgroup.controllers")) as f:
                controllers = frozenset(f.read().split())
        except OSError:
            pass
    return Hierarchies(v1, unified, controllers, roots)


_cached: list[Hierarchies] = []


def hierarchies() -> Hierarchies:
    """This host's cgroup mounts (read once per process)."""
    if not _cached:
        with open("/proc/self/mountinfo") as f:
            _cached.append(parse_mountinfo(f.read()))
    return _cached[0]


def detect_mode() -> str:
    """``CgroupMode.V1``, ``V2`` or ``HYBRID`` for this host (cached)."""
    return hierarchies().mode


def own_cgroups(text: str | None = None) -> dict[str, str]:
    """This process's cgroup per v1 controller, and under ``""`` its unified cgroup."""
    if text is None:
        with open("/proc/self/cgroup") as f:
            text = f.read()
    out: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, ctrls, path = parts
        if not ctrls:
            out[""] = path
        for c in ctrls.split(","):
            if c:
                out[c] = path
    return out
