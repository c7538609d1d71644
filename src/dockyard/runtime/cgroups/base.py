"""The one interface every cgroup manager implements, and what they share.

A manager owns one container's cgroup (one directory per v1 hierarchy, or one in the
unified hierarchy, or both on hybrid hosts). ``create`` makes the directories,
``add_pid`` moves a process in, ``apply`` writes an OCI ``linux.resources`` object,
``remove`` empties (SIGKILL) and deletes the directories it owns and leaves the
parents, which may be shared.
"""

from __future__ import annotations

import enum
import os
import signal
import time
from collections.abc import Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

from dockyard.errors import SystemFailure

__all__ = ["CgroupManager", "CgroupMode", "procs_under", "remove_tree"]


class CgroupMode(enum.Enum):
    """How this host mounts cgroups."""

    V1 = "v1"
    V2 = "v2"
    HYBRID = "hybrid"


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


def procs_under(directory: str) -> list[int]:
    """Pids in ``directory``'s cgroup.procs and in every descendant cgroup."""
    found: list[int] = []
    for dirpath, _, files in os.walk(directory):
        if "cgroup.procs" not in files:
            continue
        try:
            with open(os.path.join(dirpath, "cgroup.procs")) as f:
                found.extend(int(line) for line in f if line.strip())
        except OSError:
            continue  # removed while walking
    return sorted(set(found))


def _kill_all(directory: str) -> None:
    for pid in procs_under(directory):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def remove_tree(directories: Iterable[str], timeout: float = 5.0) -> None:
    """Delete cgroup ``directories`` and their descendants, killing what is inside.

    rmdir of a cgroup fails with EBUSY while it has processes (and briefly after the
    last one exits), so each directory is retried, with SIGKILL sent to whatever is
    still inside, until ``timeout``; then ``SystemFailure`` names the directory.
    """
    deadline = time.monotonic() + timeout
    for top in directories:
        if not os.path.isdir(top):
            continue
        subdirs = [d for d, _, _ in os.walk(top, topdown=False)]
        for d in subdirs:
            delay = 0.001
            while True:
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError as e:
                    if e.errno not in (16, 39):  # EBUSY, ENOTEMPTY (a child appeared)
                        raise SystemFailure(f"cgroup {d}: cannot remove: "
                                            f"{os.strerror(e.errno or 0).lower()}")
                if time.monotonic() > deadline:
                    left = procs_under(d)
                    raise SystemFailure(f"cgroup {d}: still busy after {timeout:g}s "
                                        f"(pids {left})")
                _kill_all(d)
                for sub in os.listdir(d):
                    if os.path.isdir(os.path.join(d, sub)):
                        remove_tree([os.path.join(d, sub)], max(deadline - time.monotonic(), 0))
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
