"""A client that goes away mid-stream leaves nothing hanging on the server."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from tests.integration.api.conftest import Served


def _popen(served: Served, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["docker", *args], env=served.env(), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _until(check: object, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def _open_sockets(pid: int) -> int:
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:"):
                n += 1
        except OSError:
            pass
    return n


def test_exec_killed_with_its_client(served: Served, name: str) -> None:
    served.ok("run", "-d", "--name", name, "--network", "none", "busybox", "sleep", "300")
    try:
        client = _popen(served, "exec", name, "sh", "-c", "echo ready; exec sleep 271")
        assert client.stdout is not None
        assert client.stdout.readline() == b"ready\n"
        assert "sleep 271" in served.ok("top", name)
        client.send_signal(signal.SIGKILL)
        client.wait()
        assert _until(lambda: "sleep 271" not in served.ok("top", name)), \
            "the exec outlived its client"
    finally:
        served.ok("rm", "-f", name)


def test_follow_and_attach_clients_leaving_free_their_connections(served: Served,
                                                                   name: str) -> None:
    served.ok("run", "-d", "--name", name, "--network", "none", "busybox", "sh", "-c",
              "while true; do echo x; sleep 0.2; done")
    try:
        before = _open_sockets(served.proc.pid)
        clients = [_popen(served, "logs", "-f", name), _popen(served, "attach", name),
                   _popen(served, "wait", name), _popen(served, "events")]
        for c in clients[:2]:
            assert c.stdout is not None
            assert c.stdout.readline() == b"x\n"
        assert _open_sockets(served.proc.pid) > before
        for c in clients:
            c.send_signal(signal.SIGKILL)
            c.wait()
        assert _until(lambda: _open_sockets(served.proc.pid) <= before), \
            f"{_open_sockets(served.proc.pid)} sockets open, {before} before"
    finally:
        served.ok("rm", "-f", name)


def test_build_client_leaving(served: Served, tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN echo slow-step && sleep 2\n")
    client = _popen(served, "build", "--no-cache", str(ctx))
    assert client.stdout is not None
    while b"slow-step" not in client.stdout.readline():
        pass
    client.send_signal(signal.SIGKILL)
    client.wait()
    scratch = served.dockyard.root / "tmp"
    assert _until(lambda: not any(p.name.startswith("api-build-") for p in scratch.iterdir()),
                  30), "the build's context was left behind"
