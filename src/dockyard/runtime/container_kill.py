"""``kill``: signal a container's init (or, with ``all``, every process in its cgroup)."""

from __future__ import annotations

import os
import signal as _signal
from pathlib import Path

from dockyard.errors import InvalidArgument
from dockyard.runtime import container_state as st

__all__ = ["kill", "parse_signal"]


def parse_signal(value: str | int) -> int:
    """``9``, ``KILL`` or ``SIGKILL`` (any case) -> 9."""
    if isinstance(value, int):
        num = value
    elif value.isdigit():
        num = int(value)
    else:
        name = value.upper()
        name = name if name.startswith("SIG") else "SIG" + name
        sig = getattr(_signal.Signals, name, None) if name.isidentifier() else None
        if sig is None:
            raise InvalidArgument(f"invalid signal: {value}")
        return int(sig)
    if not 0 < num < _signal.SIGRTMAX + 1:
        raise InvalidArgument(f"invalid signal: {value}")
    return num


def kill(state_root: str | Path, container_id: str, signal: str | int = "SIGTERM",
         all: bool = False) -> None:
    """Send ``signal`` to the container."""
    num = parse_signal(signal)
    cs = st.load(Path(state_root), container_id)
    st.require(cs, cs.status().can_kill(), "kill")
    pids = [cs.pid]
    if all:
        from dockyard.runtime.cgroup_glue import manager

        pids = list(manager(cs.cgroups_path, cs.id).pids()) or pids
    for pid in pids:
        try:
            os.kill(pid, num)
        except ProcessLookupError:
            pass
