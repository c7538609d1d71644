"""A manager that does nothing, for hosts without cgroups (or callers that opt out)."""

from __future__ import annotations

from dockyard.errors import InvalidConfig, SystemFailure

TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

__all__ = ["NullManager"]


class NullManager:
    """Accepts empty resources; anything that needs a cgroup fails clearly."""

    def create(self) -> None:
        """Nothing to create."""

    def add_pid(self, pid: int) -> None:
        """Nothing to join."""

    def apply(self, resources: Mapping[str, Any] | None) -> None:
        """Refuse real limits: silently ignoring them would run the container unconfined."""
        if resources and any(v for v in resources.values()):
            raise InvalidConfig("linux.resources: no cgroup hierarchy is mounted on this host")

    def freeze(self) -> None:
        """Pausing needs a freezer."""
        raise SystemFailure("cgroup: cannot freeze without a cgroup hierarchy")

    def thaw(self) -> None:
        """Nothing is frozen."""

    def frozen(self) -> bool:
        """Never frozen."""
        return False

    def stats(self) -> dict[str, Any]:
        """No figures."""
        return {}

    def pids(self) -> list[int]:
        """No tracked processes."""
        return []

    def oom_kill_count(self) -> int:
        """No OOM accounting."""
        return 0

    def remove(self, timeout: float = 5.0) -> None:
        """Nothing to remove."""
