"""``events``: a running container's statistics and OOM kills, as runc prints them.

With ``stats`` one ``{"type": "stats", ...}`` event is produced; otherwise stats every
``interval`` seconds and an ``{"type": "oom"}`` event each time the cgroup's OOM-kill
counter grows, until the container stops.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from dockyard.runtime import container_state as st
from dockyard.runtime.cgroup_glue import manager

TYPE_CHECKING = False  # typing itself costs milliseconds per start

if TYPE_CHECKING:
    from dockyard.runtime.container_state import StrPath

__all__ = ["events"]


def events(state_root: StrPath, container_id: str, *, stats: bool = False,
           interval: float = 5.0) -> Iterator[dict[str, Any]]:
    cs = st.load(state_root, container_id)
    st.require(cs, cs.status() != st.Status.STOPPED, "get events from")
    mgr = manager(cs.cgroups_path, cs.id)
    if stats:
        yield {"type": "stats", "id": cs.id, "data": mgr.stats()}
        return
    ooms = mgr.oom_kill_count()
    next_stats = time.monotonic()
    while cs.alive():
        count = mgr.oom_kill_count()
        if count > ooms:
            ooms = count
            yield {"type": "oom", "id": cs.id}
        if time.monotonic() >= next_stats:
            next_stats += interval
            yield {"type": "stats", "id": cs.id, "data": mgr.stats()}
        time.sleep(min(interval, 0.2))
    count = mgr.oom_kill_count()
    if count > ooms:
        yield {"type": "oom", "id": cs.id}
