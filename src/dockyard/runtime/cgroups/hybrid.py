"""Hybrid hosts: v1 controllers for most resources, the unified hierarchy for the rest.

Here /sys/fs/cgroup/unified lists only ``hugetlb``, which has no v1 mount: a v1-only
reading of hybrid (runc's) cannot limit huge pages at all. This manager joins both
and routes each part of ``linux.resources`` to the hierarchy that has its controller.
"""

from __future__ import annotations

TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from dockyard.runtime.cgroups.v1.manager import V1Manager
    from dockyard.runtime.cgroups.v2.manager import V2Manager

__all__ = ["HybridManager"]


class HybridManager:
    """A v1 manager plus a v2 one on the unified mount, at the same relative path."""

    def __init__(self, v1: V1Manager, v2: V2Manager) -> None:
        self.v1 = v1
        self.v2 = v2

    def create(self) -> None:
        """Create both sides (the unified side without enabling anything yet)."""
        self.v1.create()
        self.v2.create()

    def add_pid(self, pid: int) -> None:
        """Join both sides."""
        self.v1.add_pid(pid)
        self.v2.add_pid(pid)

    def self_join_files(self, resources: Mapping[str, Any] | None = None) -> list[str]:
        """The v1 side's ``tasks`` files (see ``V1Manager.self_join_files``); the
        unified side, which has no such file, is joined by ``add_pid_v2`` only when
        ``resources`` need it (``needs_v2``), as runc does not join it at all."""
        return self.v1.self_join_files()

    def needs_v2(self, resources: Mapping[str, Any] | None) -> bool:
        """Whether ``resources`` set anything only the unified side carries."""
        keys = self._route_v2() | {"unified"}
        return any((resources or {}).get(k) for k in keys)

    @property
    def unified_mount(self) -> str:
        """Where the unified hierarchy is mounted."""
        return self.v2.root

    def add_pid_v2(self, pid: int) -> None:
        """Join the unified side only."""
        self.v2.add_pid(pid)

    def _route_v2(self) -> set[str]:
        """linux.resources keys the v1 side cannot take (its controller is absent)."""
        keys = set()
        if "hugetlb" not in self.v1.paths:
            keys.add("hugepageLimits")
        if "devices" not in self.v1.paths:
            keys.add("devices")
        return keys

    def apply(self, resources: Mapping[str, Any] | None) -> None:
        """Split ``linux.resources``: unified and v1-less controllers to the v2 side."""
        if not resources:
            return
        to_v2_keys = self._route_v2() | {"unified"}
        v1_part = {k: v for k, v in resources.items() if k not in to_v2_keys}
        v2_part = {k: v for k, v in resources.items() if k in to_v2_keys}
        self.v1.apply(v1_part)
        self.v2.apply(v2_part)

    def freeze(self) -> None:
        """Freeze with the v1 freezer if mounted, else cgroup.freeze."""
        if "freezer" in self.v1.paths:
            self.v1.freeze()
        else:
            self.v2.freeze()

    def thaw(self) -> None:
        """Thaw the side that froze."""
        if "freezer" in self.v1.paths:
            self.v1.thaw()
        else:
            self.v2.thaw()

    def frozen(self) -> bool:
        """Whether the freezing side reports frozen."""
        return self.v1.frozen() if "freezer" in self.v1.paths else self.v2.frozen()

    def stats(self) -> dict[str, Any]:
        """v1 figures, with the unified side's hugetlb when v1 has none."""
        out = self.v1.stats()
        if "hugetlb" not in out:
            side = self.v2.stats()
            if "hugetlb" in side:
                out["hugetlb"] = side["hugetlb"]
        return out

    def pids(self) -> list[int]:
        """Processes, from the v1 side."""
        return self.v1.pids()

    def oom_kill_count(self) -> int:
        """OOM kills, from the v1 memory controller."""
        return self.v1.oom_kill_count()

    def remove(self, timeout: float = 5.0) -> None:
        """Remove both sides."""
        self.v1.remove(timeout)
        self.v2.remove(timeout)
