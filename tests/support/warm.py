"""Stop the warm engines (``dockyard.cli.warm.server``) that tests' commands started.

Every ``dockyard`` command starts one per run root when none runs; it would idle on
for minutes after the test. Tests stop theirs when they end (an autouse fixture in
tests/conftest.py), and the session stops any left before its leak check.
"""

from __future__ import annotations

import os
import signal
import time

from tests.support.leaks import processes_with

MARK = b"dockyard.cli.warm.server"


def engines_under(prefix: str) -> dict[int, str]:
    """The warm engines (pid → run root) whose run root lies under ``prefix``."""
    want = os.fsencode(prefix)
    return {pid: os.fsdecode(run_root) for pid, run_root in processes_with(MARK)
            if run_root.startswith(want)}


def stop_engines_under(prefix: str, timeout: float = 10.0) -> None:
    """Stop every warm engine whose run root lies under ``prefix``: SIGTERM (which also
    ends one still warming up, before it has a pid file), then SIGKILL."""
    pids = engines_under(prefix)
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pids and time.monotonic() < deadline:
        pids = {pid: root for pid, root in pids.items() if _alive(pid)}
        time.sleep(0.01)
    for pid in pids:
        _signal(pid, signal.SIGKILL)


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass  # it ended on its own meanwhile (idle, or stepped down for newer code)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False
