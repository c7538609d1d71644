"""Walking and deleting cgroup directory trees (shared by every manager)."""

from __future__ import annotations

import os
import time

from dockyard.errors import SystemFailure

TYPE_CHECKING = False  # typing costs milliseconds on every container start

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["procs_under", "remove_tree"]

_SIGKILL = 9  # the signal module would pull in enum
_EBUSY, _ENOTEMPTY = 16, 39


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
            os.kill(pid, _SIGKILL)
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
        for d in [d for d, _, _ in os.walk(top, topdown=False)]:
            delay = 0.001
            while True:
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError as e:
                    if e.errno not in (_EBUSY, _ENOTEMPTY):
                        raise SystemFailure(f"cgroup {d}: cannot remove: "
                                            f"{os.strerror(e.errno or 0).lower()}")
                if time.monotonic() > deadline:
                    raise SystemFailure(f"cgroup {d}: still busy after {timeout:g}s "
                                        f"(pids {procs_under(d)})")
                _kill_all(d)
                for sub in os.listdir(d):  # a child cgroup made while we worked
                    if os.path.isdir(os.path.join(d, sub)):
                        remove_tree([os.path.join(d, sub)], max(deadline - time.monotonic(), 0))
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
