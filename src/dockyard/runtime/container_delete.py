"""``delete``: remove a stopped container (``force`` kills it first)."""

from __future__ import annotations

import os
import sys

from dockyard.errors import DockyardError
from dockyard.runtime import container_state as st

TYPE_CHECKING = False  # typing itself costs milliseconds per start

if TYPE_CHECKING:
    from dockyard.runtime.container_state import StrPath

__all__ = ["delete", "remove_state_dir"]


def delete(state_root: StrPath, container_id: str, force: bool = False) -> None:
    """Remove the container's cgroup and state, then run its poststop hooks."""
    cs = st.load(state_root, container_id)
    status = cs.status()
    if status != st.Status.STOPPED:
        # A created container has not run anything yet: removing it is always allowed.
        st.require(cs, force or status == st.Status.CREATED, "delete")
        from dockyard.runtime.cgroup_glue import manager

        mgr = manager(cs.cgroups_path, cs.id)
        if status == st.Status.PAUSED:
            mgr.thaw()
        for pid in list(mgr.pids()) or [cs.pid]:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        from dockyard.runtime.container_create import wait_gone

        wait_gone(cs.pid)
    from dockyard.runtime.cgroup_glue import manager

    manager(cs.cgroups_path, cs.id).remove()
    remove_state_dir(cs.dir)
    if cs.hooks.get("poststop"):
        from dockyard.runtime.hooks import run_hooks

        try:
            run_hooks(cs.hooks, "poststop", dict(cs.to_oci(), status="stopped"))
        except DockyardError as exc:
            sys.stderr.write(f"dockyard-runtime: {exc}\n")


def remove_state_dir(directory: str) -> None:
    """Remove a container's state directory (flat: state.json, exec.fifo, temp files)."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return
    for name in names:
        try:
            os.unlink(os.path.join(directory, name))
        except FileNotFoundError:
            pass
    os.rmdir(directory)
