"""Restart policies, decided by the container's monitor (docker's ``restartmanager``).

``no`` never restarts; ``always`` restarts after every exit; ``unless-stopped`` unless
the container was stopped by hand; ``on-failure[:N]`` after a non-zero exit, at most N
times (0: no limit). A stop or kill by a user is never undone. The delay before each
restart starts at 100 ms and doubles up to one minute; a run that lasted 10 s or more
starts the schedule again. So a crash loop costs a few process starts per minute.
Imported by the monitor process: standard library only.
"""

from __future__ import annotations

__all__ = ["BACKOFF_START", "MAX_BACKOFF", "RESET_AFTER", "RestartManager"]

BACKOFF_START = 0.1
MAX_BACKOFF = 60.0
RESET_AFTER = 10.0


class RestartManager:
    """One container's policy and back-off state (restarts counted since its start)."""

    def __init__(self, policy: dict[str, object] | None) -> None:
        policy = policy or {}
        self.name = str(policy.get("Name") or "no")
        self.max_retries = int(str(policy.get("MaximumRetryCount") or 0))
        self.count = 0
        self.timeout = 0.0

    def next_delay(self, exit_code: int, manually_stopped: bool,
                   ran_for: float) -> float | None:
        """Seconds to wait before restarting, or None to let the container stay down."""
        if self.name in ("", "no"):
            return None
        if ran_for >= RESET_AFTER:
            self.timeout = 0.0
        if self.timeout == 0.0:
            self.timeout = BACKOFF_START
        elif self.timeout < MAX_BACKOFF:
            self.timeout *= 2
        self.timeout = min(self.timeout, MAX_BACKOFF)
        if manually_stopped:
            return None  # docker: a stop or kill by a user is never undone
        if self.name == "always" or self.name == "unless-stopped":
            restart = True
        elif self.name == "on-failure":
            restart = exit_code != 0 and (self.max_retries == 0 or self.count < self.max_retries)
        else:
            restart = False
        if not restart:
            return None
        self.count += 1
        return self.timeout
