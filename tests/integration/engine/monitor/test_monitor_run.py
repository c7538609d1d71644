"""A container run through the monitor outlives its starter; outcome recorded; no leftovers."""

from __future__ import annotations

from collections.abc import Callable

from monitor_harness import Launched

from dockyard.engine.logs import read_logs
from dockyard.engine.monitor import (
    read_state,
    wait_exit,
)


def test_exit_code_and_times_recorded(launch: Callable[..., Launched]) -> None:
    c = launch(["sh", "-c", "echo out; echo err >&2; exit 7"])
    assert wait_exit(c.run_dir, c.container_dir, timeout=20) == 7
    st = read_state(c.container_dir)
    assert st is not None
    assert st["Status"] == "exited" and st["ExitCode"] == 7 and st["Running"] is False
    assert st["OOMKilled"] is False
    assert str(st["FinishedAt"]).endswith("Z") and st["FinishedAt"] >= st["StartedAt"]
    assert st["StartedAt"] != "0001-01-01T00:00:00Z"
    entries = list(read_logs(c.container_dir, c.id, "json-file"))
    assert [(e.stream, e.data) for e in entries] == [("stdout", b"out\n"), ("stderr", b"err\n")]
