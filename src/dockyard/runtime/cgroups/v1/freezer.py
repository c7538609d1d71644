"""v1 freezer controller: freezer.state FROZEN/THAWED, waiting for the transition."""

from __future__ import annotations

import time

from dockyard.errors import SystemFailure
from dockyard.runtime.cgroups.fs import read_text, write

NAME = "freezer"


def set_state(path: str, state: str, timeout: float = 10.0) -> None:
    """Write ``state`` (FROZEN or THAWED) and wait until the cgroup reports it.

    A freeze can stay FREEZING while a task sleeps uninterruptibly; writing FROZEN
    again retries it, as runc does.
    """
    deadline = time.monotonic() + timeout
    delay = 0.0005
    while True:
        write(path, "freezer.state", state, f"cgroup {path}: freezer")
        if read_text(path, "freezer.state") == state:
            return
        if time.monotonic() > deadline:
            if state == "FROZEN":
                write(path, "freezer.state", "THAWED", f"cgroup {path}: freezer")
            raise SystemFailure(f"cgroup {path}: did not reach {state} in {timeout:g}s")
        time.sleep(delay)
        delay = min(delay * 2, 0.02)


def frozen(path: str) -> bool:
    """Whether freezer.state reads FROZEN."""
    try:
        return read_text(path, "freezer.state") == "FROZEN"
    except FileNotFoundError:
        return False
