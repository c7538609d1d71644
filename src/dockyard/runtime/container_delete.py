"""``delete``: remove a stopped container (``force`` kills it first)."""

from __future__ import annotations

import os
import shutil
import signal
import sys
from pathlib import Path

from dockyard.errors import DockyardError
from dockyard.runtime import container_state as st

__all__ = ["delete"]


def delete(state_root: str | Path, container_id: str, force: bool = False) -> None:
    """Remove the container's cgroup and state, then run its poststop hooks."""
    cs = st.load(Path(state_root), container_id)
    status = cs.status()
    if status is not st.Status.STOPPED:
        # A created container has not run anything yet: removing it is always allowed.
        st.require(cs, force or status is st.Status.CREATED, "delete")
        from dockyard.runtime.cgroup_glue import manager

        mgr = manager(cs.cgroups_path, cs.id)
        if status is st.Status.PAUSED:
            mgr.thaw()
        for pid in list(mgr.pids()) or [cs.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        from dockyard.runtime.container_create import wait_gone

        wait_gone(cs.pid)
    from dockyard.runtime.cgroup_glue import manager

    manager(cs.cgroups_path, cs.id).remove()
    shutil.rmtree(cs.dir, ignore_errors=True)
    if cs.hooks.get("poststop"):
        from dockyard.runtime.hooks import run_hooks

        try:
            run_hooks(cs.hooks, "poststop", dict(cs.to_oci(), status="stopped"))
        except DockyardError as exc:
            sys.stderr.write(f"dockyard-runtime: {exc}\n")
