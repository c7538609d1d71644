"""``start``: release a created container's init from ``exec.fifo``."""

from __future__ import annotations

import os
import select
import sys

from dockyard.errors import DockyardError, SystemFailure
from dockyard.runtime import container_state as st

TYPE_CHECKING = False  # typing itself costs milliseconds per start

if TYPE_CHECKING:
    from dockyard.runtime.container_state import StrPath

__all__ = ["start"]


def start(state_root: StrPath, container_id: str) -> None:
    """Let the init exec the user's process, then run the poststart hooks."""
    cs = st.load(state_root, container_id)
    st.require(cs, st.Status.can_start(cs.status()), "start")
    fifo = os.path.join(cs.dir, st.FIFO)
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        data = b""
        while not data:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                data = os.read(fd, 1)
            if not data and not cs.alive():
                raise SystemFailure(f"container {container_id}: init exited before start")
    finally:
        os.close(fd)
    os.unlink(fifo)
    if cs.hooks.get("poststart"):
        from dockyard.runtime.hooks import run_hooks

        try:
            run_hooks(cs.hooks, "poststart", cs.to_oci())
        except DockyardError as exc:  # as runc: reported, the container keeps running
            sys.stderr.write(f"dockyard-runtime: {exc}\n")
