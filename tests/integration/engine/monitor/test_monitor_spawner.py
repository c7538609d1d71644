"""Monitors forked by the spawner, and launched directly without it."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from monitor_harness import Launched

from dockyard.engine.logs import read_logs
from dockyard.engine.monitor import monitor_pid, read_state, state, wait_exit


def _ppid(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[1])


def _gone(pid: int, wait: float = 5.0) -> bool:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            st = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return True
        if st.rsplit(") ", 1)[1][0] == "Z":
            return True
        time.sleep(0.02)
    return False


def test_direct_launch_without_spawner(launch: Callable[..., Launched], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKYARD_MONITOR_SPAWNER", "0")
    c = launch(["sh", "-c", "echo direct; exit 4"])
    assert wait_exit(c.run_dir, c.container_dir, timeout=20) == 4
    assert [e.data for e in read_logs(c.container_dir, c.id, "json-file")] == [b"direct\n"]
    assert not (tmp_path / "run" / "monitor" / "spawner.pid").exists()


def test_spawner_forks_monitors_and_leaves_with_the_last(
        launch: Callable[..., Launched], tmp_path: Path) -> None:
    spawner_dir = tmp_path / "run" / "monitor"
    cs: list[Launched] = []
    threads = [threading.Thread(target=lambda: cs.append(launch(["sleep", "60"])))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(cs) == 3
    spawner = int((spawner_dir / "spawner.pid").read_text())
    monitors = [monitor_pid(c.run_dir) for c in cs]
    assert None not in monitors and len(set(monitors)) == 3
    assert all(_ppid(m) == spawner for m in monitors if m)
    # Monitors do not depend on the spawner: kill it, they carry on.
    os.kill(spawner, signal.SIGKILL)
    assert _gone(spawner)
    assert all(state(c.run_dir)["Status"] == "running" for c in cs)
    # The next launch finds a dead socket and starts a new spawner.
    c4 = launch(["sh", "-c", "echo fourth"])
    assert wait_exit(c4.run_dir, c4.container_dir, timeout=20) == 0
    for c in cs:
        subprocess.run([*c.cfg["runtime"], "kill", c.id, "KILL"], check=True)
        assert wait_exit(c.run_dir, c.container_dir, timeout=20) == 137
        st = read_state(c.container_dir)
        assert st is not None and st["ExitCode"] == 137
    # With no monitor left the spawner exits and removes its socket.
    deadline = time.monotonic() + 5
    while (spawner_dir / "spawner.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not (spawner_dir / "spawner.pid").exists()
    assert not (spawner_dir / "spawner.sock").exists()


def test_bad_requests_to_the_spawner(launch: Callable[..., Launched], tmp_path: Path) -> None:
    import socket

    c = launch(["sleep", "60"])
    sock_path = tmp_path / "run" / "monitor" / "spawner.sock"
    for junk in (b'{"config": "/nonexistent"}\n', b"garbage\n", b"[]\n"):
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(sock_path))
            s.sendall(junk)  # no sync fd attached: refused
            assert b'"ok":false' in s.recv(1000)
    assert state(c.run_dir)["Status"] == "running"
    subprocess.run([*c.cfg["runtime"], "kill", c.id, "KILL"], check=True)
    assert wait_exit(c.run_dir, c.container_dir, timeout=20) == 137


def test_stale_spawner_steps_aside(launch: Callable[..., Launched], tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from dockyard.engine.monitor import client

    spawner_dir = tmp_path / "run" / "monitor"
    c1 = launch(["sleep", "60"])
    old = int((spawner_dir / "spawner.pid").read_text())
    # The client now runs "newer" code than any spawner: each steps aside, and the
    # client falls back to launching the monitor directly.
    monkeypatch.setattr(client, "code_version", lambda: "newer")
    c2 = launch(["sleep", "60"])
    m2 = monitor_pid(c2.run_dir)
    assert m2 is not None and _ppid(m2) != old
    assert not (spawner_dir / "spawner.sock").exists()
    assert not _gone(old, wait=0.2)  # still reaping c1's monitor
    assert state(c1.run_dir)["Status"] == "running"
    for c in (c1, c2):
        subprocess.run([*c.cfg["runtime"], "kill", c.id, "KILL"], check=True)
        assert wait_exit(c.run_dir, c.container_dir, timeout=20) == 137
    assert _gone(old)
