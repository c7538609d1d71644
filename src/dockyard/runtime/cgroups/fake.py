"""A recording stand-in for any manager, for tests of code that drives cgroups.

It keeps the calls it got, the pids added, the resources applied and a frozen flag,
and follows the real managers' rules where callers can observe them: ``remove`` is
idempotent and empties the cgroup, ``freeze`` on a removed cgroup fails.
"""

from __future__ import annotations

from dockyard.errors import SystemFailure

TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

__all__ = ["FakeManager"]


class FakeManager:
    """Implements ``CgroupManager`` in memory."""

    def __init__(self, path: str = "/fake") -> None:
        self.path = path
        self.calls: list[str] = []
        self.members: list[int] = []
        self.applied: list[Mapping[str, Any]] = []
        self.is_frozen = False
        self.exists = False
        self.ooms = 0

    def create(self) -> None:
        """Mark the cgroup as existing."""
        self.calls.append("create")
        self.exists = True

    def add_pid(self, pid: int) -> None:
        """Record ``pid`` as a member."""
        self.calls.append(f"add_pid {pid}")
        if not self.exists:
            raise SystemFailure(f"cgroup {self.path}: does not exist")
        self.members.append(pid)

    def apply(self, resources: Mapping[str, Any] | None) -> None:
        """Record the resources."""
        self.calls.append("apply")
        if resources:
            self.applied.append(resources)

    def freeze(self) -> None:
        """Set the frozen flag."""
        self.calls.append("freeze")
        if not self.exists:
            raise SystemFailure(f"cgroup {self.path}: does not exist")
        self.is_frozen = True

    def thaw(self) -> None:
        """Clear the frozen flag."""
        self.calls.append("thaw")
        self.is_frozen = False

    def frozen(self) -> bool:
        """The frozen flag."""
        return self.is_frozen

    def stats(self) -> dict[str, Any]:
        """Figures made from what was recorded."""
        return {"pids": {"current": len(self.members), "limit": 0},
                "memory": {"oom_kill": self.ooms}}

    def pids(self) -> list[int]:
        """The recorded members."""
        return sorted(self.members)

    def oom_kill_count(self) -> int:
        """``ooms``, which a test may set."""
        return self.ooms

    def remove(self, timeout: float = 5.0) -> None:
        """Forget members and the cgroup."""
        self.calls.append("remove")
        self.members.clear()
        self.is_frozen = False
        self.exists = False
