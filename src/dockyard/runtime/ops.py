"""``pause``, ``resume`` and ``ps``: the verbs that only talk to the cgroup manager."""

from __future__ import annotations

from typing import Any

from dockyard.runtime import container_state as st
from dockyard.runtime.cgroup_glue import manager

TYPE_CHECKING = False  # typing itself costs milliseconds per start

if TYPE_CHECKING:
    from dockyard.runtime.container_state import StrPath

__all__ = ["pause", "ps", "resume"]


def _load(state_root: StrPath, container_id: str) -> tuple[st.ContainerState, Any]:
    cs = st.load(state_root, container_id)
    return cs, manager(cs.cgroups_path, cs.id)


def pause(state_root: StrPath, container_id: str) -> None:
    cs, mgr = _load(state_root, container_id)
    st.require(cs, st.Status.can_pause(cs.status()), "pause")
    mgr.freeze()


def resume(state_root: StrPath, container_id: str) -> None:
    cs, mgr = _load(state_root, container_id)
    st.require(cs, st.Status.can_resume(cs.status()), "resume")
    mgr.thaw()


def ps(state_root: StrPath, container_id: str) -> list[int]:
    cs, mgr = _load(state_root, container_id)
    if cs.status() == st.Status.STOPPED:
        return []
    return sorted(mgr.pids()) or [cs.pid]
