"""``system boot``: bring back the containers a machine restart took down.

After a reboot no monitor is left and ``$RUN`` is empty. A container recorded as
running is marked exited (its monitor died, exit code 255); then, as dockerd does when
it starts, those whose restart policy asks for it are started again: ``always``, and
``unless-stopped`` unless a user stopped it (the ``manually-stopped`` marker),
``on-failure`` when it was running when the machine went down.
"""

from __future__ import annotations

import contextlib
from typing import Any

from dockyard.engine.model import ZERO_TIME
from dockyard.errors import DockyardError

__all__ = ["boot", "should_start"]


def should_start(policy: dict[str, Any] | None, state: dict[str, Any],
                 manually_stopped: bool) -> bool:
    """Whether boot starts a container with this policy, state and stop marker."""
    name = (policy or {}).get("Name") or "no"
    if state.get("Running") or state.get("StartedAt", ZERO_TIME) == ZERO_TIME:
        return False  # running, or never started (docker: HasBeenStartedBefore)
    if name == "always":
        return True
    if name == "unless-stopped":
        return not manually_stopped
    if name == "on-failure":
        return state.get("Error") == "container monitor died" and not manually_stopped
    return False


def boot(lc: Any) -> list[tuple[str, str]]:
    """Start what should run; ``[(id, error or "")]`` for each container tried."""
    from dockyard.engine.lifecycle import MANUALLY_STOPPED

    tried: list[tuple[str, str]] = []
    for cid in lc.store.ids():
        try:
            record = lc.store.load(cid)
            state = lc.state(cid)  # marks a container whose monitor is gone as exited
        except (FileNotFoundError, ValueError):
            continue
        stopped = (lc.store.dir(cid) / MANUALLY_STOPPED).exists()
        if not should_start(record["HostConfig"].get("RestartPolicy"), state, stopped):
            continue
        try:
            with contextlib.suppress(DockyardError):
                lc.tidy(cid)
            lc.start(cid)
            tried.append((cid, ""))
        except DockyardError as err:
            tried.append((cid, str(err)))
    return tried
