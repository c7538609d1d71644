"""``pause``, ``resume`` and ``ps``: the verbs that only talk to the cgroup manager."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dockyard.runtime import container_state as st
from dockyard.runtime.cgroup_glue import manager

__all__ = ["pause", "ps", "resume"]


def _load(state_root: str | Path, container_id: str) -> tuple[st.ContainerState, Any]:
    cs = st.load(Path(state_root), container_id)
    return cs, manager(cs.cgroups_path, cs.id)


def pause(state_root: str | Path, container_id: str) -> None:
    cs, mgr = _load(state_root, container_id)
    st.require(cs, cs.status().can_pause(), "pause")
    mgr.freeze()


def resume(state_root: str | Path, container_id: str) -> None:
    cs, mgr = _load(state_root, container_id)
    st.require(cs, cs.status().can_resume(), "resume")
    mgr.thaw()


def ps(state_root: str | Path, container_id: str) -> list[int]:
    cs, mgr = _load(state_root, container_id)
    if cs.status() is st.Status.STOPPED:
        return []
    return sorted(mgr.pids()) or [cs.pid]
