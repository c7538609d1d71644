"""cgroup v2 manager: one directory in the unified hierarchy.

Controllers must be enabled in every ancestor's cgroup.subtree_control before their
files appear. A pure v2 host gets all available ones at ``create`` (as runc does, so
that stats work); on a hybrid host the unified side only enables a controller when a
resource needs it, so the host's root is not changed for nothing, and gives it back:
each ancestor where it had to enable one is marked (an xattr on the cgroup dir, seen
by every runtime process whatever its state root), and ``remove`` disables it again
there once no cgroup below uses it (hugetlb: no limit set; others: no cgroup left).
"""

from __future__ import annotations

import os
import time

from dockyard.errors import InvalidConfig, SystemFailure
from dockyard.runtime.cgroups.fs import join, read_kv, read_text, section, write
from dockyard.runtime.cgroups.tree import procs_under, remove_tree
from dockyard.runtime.cgroups.v1 import pids as pids_ctl

TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import ModuleType
    from typing import Any

__all__ = ["V2Manager", "controllers_needed"]

_MARK = "trusted.dockyard.enabled"  # controllers Dockyard enabled in this subtree_control

# Controller -> module (pids.max has one name in both versions).
_MODULES = {"memory": "v2.memory", "cpu": "v2.cpu", "cpuset": "v2.cpu", "pids": "v1.pids",
            "io": "v2.io", "hugetlb": "v2.hugetlb"}


def _module(name: str) -> ModuleType:
    """The module writing controller ``name``, imported on first use."""
    return __import__(f"dockyard.runtime.cgroups.{_MODULES[name]}", fromlist=["apply"])
_CPU_KEYS = ("shares", "quota", "period", "burst", "idle", "realtimeRuntime", "realtimePeriod")


def controllers_needed(resources: Mapping[str, Any]) -> set[str]:
    """The v2 controllers an OCI ``linux.resources`` object writes to."""
    need: set[str] = set()
    if section(resources, "memory"):
        need.add("memory")
    cpu_section = section(resources, "cpu") or {}
    if any(cpu_section.get(k) is not None for k in _CPU_KEYS):
        need.add("cpu")
    if cpu_section.get("cpus") or cpu_section.get("mems"):
        need.add("cpuset")
    if pids_ctl.value_of(resources) is not None:
        need.add("pids")
    if section(resources, "blockIO"):
        need.add("io")
    if resources.get("hugepageLimits"):
        need.add("hugetlb")
    unified = section(resources, "unified") or {}
    for key in unified:
        prefix = str(key).partition(".")[0]
        if prefix not in ("cgroup", ""):
            need.add(prefix)
    return need


class V2Manager:
    """A container's cgroup at ``path`` under the unified mount ``root``."""

    def __init__(self, path: str, root: str, *, enable_all: bool = True) -> None:
        self.path = path
        self.root = root
        self.enable_all = enable_all

    def _ancestors(self) -> list[str]:
        """Dirs from the mount root down to the cgroup's parent."""
        rel = os.path.relpath(os.path.dirname(self.path), self.root)
        out = [self.root]
        if rel != ".":
            for part in rel.split("/"):
                out.append(os.path.join(out[-1], part))
        return out

    def available(self) -> set[str]:
        """Controllers the mount root offers."""
        return set(read_text(self.root, "cgroup.controllers").split())

    def enable(self, controllers: set[str]) -> None:
        """Enable ``controllers`` in each ancestor's subtree_control, top down."""
        if not controllers:
            return
        for d in self._ancestors():
            have = set(read_text(d, "cgroup.subtree_control").split())
            missing = sorted(controllers - have)
            if missing:
                write(d, "cgroup.subtree_control", " ".join("+" + c for c in missing),
                      f"cgroup {d}: enabling {', '.join(missing)}")
                if not self.enable_all:
                    _set_marked(d, _marked(d) | set(missing))

    def create(self) -> None:
        """mkdir the cgroup (and parents), then enable controllers down to it if asked."""
        try:
            os.makedirs(self.path, exist_ok=True)
        except OSError as e:
            raise SystemFailure(f"cgroup {self.path}: cannot create: "
                                f"{os.strerror(e.errno or 0).lower()}")
        if self.enable_all:
            self.enable(self.available())

    def add_pid(self, pid: int) -> None:
        """Write ``pid`` to cgroup.procs."""
        join(self.path, pid)

    def apply(self, resources: Mapping[str, Any] | None) -> None:
        """Write ``linux.resources``; controllers it needs are enabled on the way."""
        if not resources:
            return
        if not isinstance(resources, dict):
            raise InvalidConfig("linux.resources: must be an object")
        network = section(resources, "network") or {}
        if network.get("classID") is not None or network.get("priorities"):
            raise InvalidConfig("linux.resources.network: net_cls/net_prio are cgroup v1 "
                                "controllers; cgroup v2 has no equivalent")
        need = controllers_needed(resources)
        missing = need - self.available()
        if missing:
            raise InvalidConfig(f"linux.resources: cgroup v2 controller not available on "
                                f"this host: {', '.join(sorted(missing))}")
        self.enable(need)
        for name in dict.fromkeys(_MODULES[c] for c in sorted(need) if c in _MODULES):
            __import__(f"dockyard.runtime.cgroups.{name}", fromlist=["apply"]).apply(
                self.path, resources)
        for key, value in (section(resources, "unified") or {}).items():
            name = str(key)
            if "/" in name or name.startswith(".") or name in ("cgroup.procs",
                                                                "cgroup.threads"):
                raise InvalidConfig(f"linux.resources.unified: not a cgroup file: {name}")
            write(self.path, name, value, f"linux.resources.unified.{name}")
        if resources.get("devices") is not None:
            # No controller file: an eBPF program attached to the cgroup decides.
            __import__("dockyard.runtime.cgroups.v2.devices", fromlist=["apply"]).apply(
                self.path, resources)

    def _set_frozen(self, on: bool, timeout: float = 10.0) -> None:
        write(self.path, "cgroup.freeze", int(on), f"cgroup {self.path}: freeze")
        deadline = time.monotonic() + timeout
        delay = 0.0005
        while self.frozen() != on:
            if time.monotonic() > deadline:
                raise SystemFailure(f"cgroup {self.path}: freeze={int(on)} not reached "
                                    f"in {timeout:g}s")
            time.sleep(delay)
            delay = min(delay * 2, 0.02)

    def freeze(self) -> None:
        """Freeze through cgroup.freeze, waiting for cgroup.events to say frozen."""
        self._set_frozen(True)

    def thaw(self) -> None:
        """Thaw through cgroup.freeze."""
        self._set_frozen(False)

    def frozen(self) -> bool:
        """``frozen`` in cgroup.events."""
        return read_kv(self.path, "cgroup.events").get("frozen", 0) == 1

    def stats(self) -> dict[str, Any]:
        """Figures from whichever controllers are enabled here."""
        out: dict[str, Any] = {}
        try:
            enabled = set(read_text(self.path, "cgroup.controllers").split())
        except FileNotFoundError:
            return out
        for name in ("memory", "cpu", "pids", "io", "hugetlb"):
            if name in enabled:
                _module(name).stats(self.path, out)
        if "cpu" not in out:  # cpu.stat's usage lines exist without the controller
            _module("cpu").stats(self.path, out)
        return out

    def pids(self) -> list[int]:
        """Processes in the cgroup and below."""
        return procs_under(self.path)

    def oom_kill_count(self) -> int:
        """oom_kill from memory.events (0 without the memory controller)."""
        return int(read_kv(self.path, "memory.events").get("oom_kill", 0))

    def remove(self, timeout: float = 5.0) -> None:
        """cgroup.kill (or SIGKILL each), wait until empty, rmdir."""
        if not os.path.isdir(self.path):
            return
        kill = os.path.join(self.path, "cgroup.kill")
        if os.path.exists(kill) and procs_under(self.path):
            write(self.path, "cgroup.kill", 1, f"cgroup {self.path}")
        remove_tree([self.path], timeout)
        if not self.enable_all:
            self.give_back()

    def give_back(self) -> None:
        """Disable, deepest ancestor first, the controllers this runtime enabled there
        (``_MARK``) that no cgroup below uses any more."""
        for d in reversed(self._ancestors()):
            marked = _marked(d)
            for c in sorted(marked):
                if _in_use(d, c):
                    continue
                try:
                    write(d, "cgroup.subtree_control", "-" + c, f"cgroup {d}")
                except SystemFailure:
                    continue  # EBUSY: a cgroup below enables it for its own children
                marked.discard(c)
                _set_marked(d, marked)


def _marked(d: str) -> set[str]:
    try:
        return set(os.getxattr(d, _MARK).decode().split())
    except OSError:
        return set()


def _set_marked(d: str, controllers: set[str]) -> None:
    try:
        if controllers:
            os.setxattr(d, _MARK, " ".join(sorted(controllers)).encode())
        else:
            os.removexattr(d, _MARK)
    except OSError:
        pass  # no xattrs here: the controller stays enabled, as before


def _limited(value: str) -> bool:
    """A hugetlb ``*.max`` value that limits: the kernel shows no limit as ``max`` or as
    LONG_MAX rounded down to a page (9223372036854771712)."""
    value = value.strip()
    return value != "max" and int(value) < 1 << 62


def _in_use(top: str, controller: str) -> bool:
    """Whether a cgroup below ``top`` relies on ``controller``: enables it for its own
    children, or (hugetlb) has a limit set; for other controllers, any cgroup at all."""
    for d, _subdirs, files in os.walk(top):
        if d == top:
            continue
        if controller != "hugetlb":
            return True
        try:
            if controller in read_text(d, "cgroup.subtree_control").split():
                return True
            for name in files:
                if name.startswith("hugetlb.") and name.endswith("max") and \
                        _limited(read_text(d, name)):
                    return True
        except OSError:
            continue  # removed meanwhile
    return False
