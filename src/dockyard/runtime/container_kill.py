"""``kill``: signal a container's init (or, with ``all``, every process in its cgroup)."""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # signal's C half: no enum
import os

from dockyard.errors import InvalidArgument
from dockyard.runtime import container_state as st

TYPE_CHECKING = False  # typing itself costs milliseconds per start

if TYPE_CHECKING:
    from dockyard.runtime.container_state import StrPath

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
        sig = getattr(_signal, name, None) if name[3:].isalnum() else None
        if not isinstance(sig, int) or name.startswith("SIG_"):
            raise InvalidArgument(f"invalid signal: {value}")
        return sig
    if not 0 < num < _signal.SIGRTMAX + 1:
        raise InvalidArgument(f"invalid signal: {value}")
    return num


def kill(state_root: StrPath, container_id: str, signal: str | int = "SIGTERM",
         all: bool = False) -> None:
    """Send ``signal`` to the container."""
    num = parse_signal(signal)
    cs = st.load(state_root, container_id)
    st.require(cs, st.Status.can_kill(cs.status()), "kill")
    pids = [cs.pid]
    if all:
        from dockyard.runtime.cgroup_glue import manager

        pids = list(manager(cs.cgroups_path, cs.id).pids()) or pids
    for pid in pids:
        try:
            os.kill(pid, num)
        except ProcessLookupError:
            pass
