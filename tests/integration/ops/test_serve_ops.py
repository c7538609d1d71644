"""``dockyard serve`` starting: restart-policy containers come back (as ``system boot``),
and ``--metrics-addr`` serves Prometheus text beside the API."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from tests.integration.api.conftest import _answers as answers
from tests.integration.ops.conftest import eventually
from tests.integration.ops.test_restart import _reboot, run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_brings_back_always_and_serves_metrics(store_engine: Any, session_token: str,
                                                     tmp_path: Path) -> None:
    engine = store_engine  # the server reads the real image store
    always = run(engine, ["sleep", "60"], "always")
    stopped = run(engine, ["sleep", "60"], "unless-stopped")
    engine.stop(stopped, timeout=0)
    _reboot(engine)
    roots = engine.roots
    sock = f"/tmp/dy-{session_token}-ops-{os.getpid()}.sock"
    port = _free_port()
    env = {**os.environ, "DOCKYARD_CGROUP_PARENT": engine.lc.cgroup_parent}
    with open(tmp_path / "serve.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dockyard.cli.main", "--root", str(roots.root),
             "--run-root", str(roots.run_root), "serve", "--host", f"unix://{sock}",
             "--metrics-addr", f"127.0.0.1:{port}"], env=env, stdout=log, stderr=log,
            stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        eventually(lambda: answers(sock) or proc.poll() is not None, timeout=30)
        assert proc.poll() is None, (tmp_path / "serve.log").read_text()
        assert engine.inspect(always)["State"]["Running"], (tmp_path / "serve.log").read_text()
        assert engine.inspect(stopped)["State"]["Status"] == "exited"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            text = r.read().decode()
        assert f'id="/{engine.lc.cgroup_parent}/{always}"' in text
        assert "container_cpu_usage_seconds_total{" in text
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if os.path.exists(sock):
            os.unlink(sock)
