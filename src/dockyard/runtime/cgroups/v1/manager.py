"""cgroup v1 manager: one directory per mounted controller hierarchy."""

from __future__ import annotations

import os

from dockyard.errors import InvalidConfig, SystemFailure
from dockyard.runtime.cgroups.fs import join
from dockyard.runtime.cgroups.tree import procs_under, remove_tree

TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import ModuleType
    from typing import Any

__all__ = ["V1Manager"]

# linux.resources key -> the controllers (and their modules here) that consume it.
_ROUTES = {"memory": ("memory",), "cpu": ("cpu", "cpuset"), "pids": ("pids",),
           "blockIO": ("blkio",), "devices": ("devices",), "hugepageLimits": ("hugetlb",)}
# Which linux.resources keys need which controller (to report a missing controller).
_KEYS = {"memory": "memory", "pids": "pids", "blockIO": "blkio", "devices": "devices",
         "hugepageLimits": "hugetlb"}


def _module(name: str) -> ModuleType:
    """The controller module ``name``, imported on first use."""
    return __import__(f"dockyard.runtime.cgroups.v1.{name}", fromlist=["apply"])


class V1Manager:
    """A container's cgroup across v1 hierarchies: ``paths`` maps controller -> dir."""

    def __init__(self, paths: Mapping[str, str]) -> None:
        self.paths = dict(paths)

    def _dirs(self) -> list[str]:
        return list(dict.fromkeys(self.paths.values()))  # co-mounted share a dir

    def create(self) -> None:
        """mkdir every controller's dir; a new cpuset dir inherits cpus/mems downwards."""
        for d in self._dirs():
            try:
                os.makedirs(d, exist_ok=True)
            except OSError as e:
                raise SystemFailure(f"cgroup {d}: cannot create: "
                                    f"{os.strerror(e.errno or 0).lower()}")
        cs = self.paths.get("cpuset")
        if cs is not None:
            mount = cs
            while os.path.exists(os.path.join(os.path.dirname(mount), "cpuset.cpus")):
                mount = os.path.dirname(mount)
            chain = []
            d = cs
            while d != mount:
                chain.append(d)
                d = os.path.dirname(d)
            inherit = _module("cpuset").inherit
            for d in reversed(chain):
                inherit(d)

    def add_pid(self, pid: int) -> None:
        """Write ``pid`` to cgroup.procs of every hierarchy."""
        for d in self._dirs():
            join(d, pid)

    def self_join_files(self, resources: Mapping[str, Any] | None = None) -> list[str]:
        """The files a single-threaded process writes "0" to, to move itself in: each
        hierarchy's ``tasks``. Moving the calling thread skips the kernel's global
        threadgroup lock that a cgroup.procs write takes, and with it an RCU grace
        period (~12 ms here, on most container starts)."""
        return [os.path.join(d, "tasks") for d in self._dirs()]

    def apply(self, resources: Mapping[str, Any] | None) -> None:
        """Write ``linux.resources`` to the controllers that carry each part."""
        if not resources:
            return
        if not isinstance(resources, dict):
            raise InvalidConfig("linux.resources: must be an object")
        for key, ctrl in _KEYS.items():
            if resources.get(key) and ctrl not in self.paths:
                raise InvalidConfig(f"linux.resources.{key}: the {ctrl} cgroup controller "
                                    "is not available on this host")
        cpu_section = resources.get("cpu") or {}
        if ((cpu_section.get("cpus") or cpu_section.get("mems"))
                and "cpuset" not in self.paths):
            raise InvalidConfig("linux.resources.cpu.cpus: the cpuset cgroup controller is "
                                "not available on this host")
        if resources.get("unified"):
            raise InvalidConfig("linux.resources.unified: needs cgroup v2")
        network = resources.get("network")
        if network is not None:
            self._apply_network(resources)
        for key, controllers in _ROUTES.items():
            value = resources.get(key)
            if value is None:
                continue
            for name in controllers:
                path = self.paths.get(name)
                if path is not None:
                    _module(name).apply(path, resources)

    def _apply_network(self, resources: Mapping[str, Any]) -> None:
        wants = resources.get("network")
        if not isinstance(wants, dict):
            raise InvalidConfig("linux.resources.network: must be an object")
        net = _module("net")
        for ctrl, key, fn in (("net_cls", "classID", net.apply_cls),
                              ("net_prio", "priorities", net.apply_prio)):
            if wants.get(key) is not None:
                path = self.paths.get(ctrl)
                if path is None:
                    raise InvalidConfig(f"linux.resources.network.{key}: the {ctrl} cgroup "
                                        "controller is not available on this host")
                fn(path, resources)

    def _freezer(self) -> str:
        path = self.paths.get("freezer")
        if path is None:
            raise SystemFailure("cgroup: the freezer controller is not available")
        return path

    def freeze(self) -> None:
        """Freeze through freezer.state."""
        _module("freezer").set_state(self._freezer(), "FROZEN")

    def thaw(self) -> None:
        """Thaw through freezer.state."""
        _module("freezer").set_state(self._freezer(), "THAWED")

    def frozen(self) -> bool:
        """Whether freezer.state is FROZEN."""
        path = self.paths.get("freezer")
        if path is None:
            return False
        try:
            with open(os.path.join(path, "freezer.state")) as f:
                return f.read().strip() == "FROZEN"
        except FileNotFoundError:
            return False

    def stats(self) -> dict[str, Any]:
        """cpu, memory, pids, blkio, hugetlb figures in runc's shape."""
        out: dict[str, Any] = {}
        for name, module, fn in (("cpu", "cpu", "stats"), ("cpuacct", "cpu", "acct_stats"),
                                 ("memory", "memory", "stats"), ("pids", "pids", "stats"),
                                 ("blkio", "blkio", "stats"), ("hugetlb", "hugetlb", "stats")):
            path = self.paths.get(name)
            if path is not None and os.path.isdir(path):
                getattr(_module(module), fn)(path, out)
        return out

    def pids(self) -> list[int]:
        """Processes in the cgroup, read from one hierarchy (pids, memory or any)."""
        for name in ("pids", "memory", "freezer", *self.paths):
            path = self.paths.get(name)
            if path is not None:
                return procs_under(path)
        return []

    def oom_kill_count(self) -> int:
        """oom_kill from memory.oom_control (0 without the memory controller)."""
        path = self.paths.get("memory")
        return _module("memory").oom_kill_count(path) if path is not None else 0

    def remove(self, timeout: float = 5.0) -> None:
        """Thaw, kill what is left, and rmdir every hierarchy's dir."""
        if self.frozen():
            self.thaw()
        remove_tree(self._dirs(), timeout)
