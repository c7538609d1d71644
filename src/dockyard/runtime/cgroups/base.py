"""The one interface every cgroup manager implements.

A manager owns one container's cgroup (one directory per v1 hierarchy, or one in the
unified hierarchy, or both on hybrid hosts). ``create`` makes the directories,
``add_pid`` moves a process in, ``apply`` writes an OCI ``linux.resources`` object,
``remove`` empties (SIGKILL) and deletes the directories it owns and leaves the
parents, which may be shared.

The Protocol is for type checkers and tests; the runtime's hot path does not import
this module (``typing`` alone costs milliseconds per start).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from dockyard.runtime.cgroups.detect import CgroupMode
from dockyard.runtime.cgroups.tree import procs_under, remove_tree

TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["CgroupManager", "CgroupMode", "procs_under", "remove_tree"]


@runtime_checkable
class CgroupManager(Protocol):
    """One container's cgroup."""

    def create(self) -> None:
        """Make the cgroup directories (and missing parents)."""

    def add_pid(self, pid: int) -> None:
        """Move process ``pid`` (all its threads) into the cgroup."""

    def apply(self, resources: Mapping[str, Any] | None) -> None:
        """Write an OCI ``linux.resources`` object; InvalidConfig names a bad field."""

    def freeze(self) -> None:
        """Stop every process in the cgroup; returns once they are frozen."""

    def thaw(self) -> None:
        """Let frozen processes run again."""

    def frozen(self) -> bool:
        """Whether the cgroup is frozen."""

    def stats(self) -> dict[str, Any]:
        """Usage figures shaped like ``runc events --stats`` data (cpu, memory, pids...)."""

    def pids(self) -> list[int]:
        """Processes in the cgroup and its descendants."""

    def oom_kill_count(self) -> int:
        """How many processes the OOM killer has killed in the cgroup."""

    def remove(self, timeout: float = 5.0) -> None:
        """Kill what is left, wait until empty, delete the directories; idempotent."""
