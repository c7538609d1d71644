"""Must-show 5: restarting ``dockyard serve`` leaves running containers alone."""

from __future__ import annotations

import time

from tests.integration.api.conftest import Served, start_serve, stop_serve


def test_restart_serve_while_containers_run(private_served: Served) -> None:
    s = private_served
    cid = s.ok("run", "-d", "--name", "keeper", "--network", "none", "busybox", "sh", "-c",
               "i=0; while true; do i=$((i+1)); echo n$i; sleep 0.1; done").strip()
    time.sleep(0.5)
    stop_serve(s.proc)
    assert s.docker("ps").returncode != 0  # nobody serves the socket now
    pid_before = s.dockyard.ok("inspect", "-f", "{{.State.Pid}}", cid).strip()
    time.sleep(0.5)
    s.proc = start_serve(s.dockyard, s.sock, s.log)
    ps = s.ok("ps", "--no-trunc", "-q")
    assert cid in ps
    assert s.ok("inspect", "-f", "{{.State.Pid}}", cid).strip() == pid_before
    lines = s.ok("logs", cid).split()
    first = len(lines)
    time.sleep(0.5)
    later = s.ok("logs", cid).split()
    assert len(later) > first  # it kept logging through and after the restart
    assert later == [f"n{i}" for i in range(1, len(later) + 1)]  # nothing lost
    s.ok("stop", "-t", "1", cid)
    assert s.ok("inspect", "-f", "{{.State.Status}}", cid).strip() == "exited"
    s.ok("rm", cid)
