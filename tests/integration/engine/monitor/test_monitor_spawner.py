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
from dockyard.engine.monitor import monitor_pid, read_state, state, stop_spawner, wait_exit


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
        launch: Callable[..., Launched], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKYARD_SPAWNER_LINGER", "0")  # the old way: no lingering
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


def test_idle_spawner_lingers_and_serves_the_next_launch(
        launch: Callable[..., Launched], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKYARD_SPAWNER_LINGER", "30")
    spawner_dir = tmp_path / "run" / "monitor"
    c1 = launch(["true"])
    spawner = int((spawner_dir / "spawner.pid").read_text())
    assert wait_exit(c1.run_dir, c1.container_dir, timeout=20) == 0
    assert monitor_pid(c1.run_dir) is None
    time.sleep(0.3)  # without lingering it would have left by now
    assert Path(f"/proc/{spawner}").exists() and not _gone(spawner, wait=0.05)
    assert (spawner_dir / "spawner.sock").exists()
    c2 = launch(["sleep", "60"])
    m2 = monitor_pid(c2.run_dir)
    assert m2 is not None and _ppid(m2) == spawner  # the same spawner served it
    # Asked to stop while a monitor lives: it stays for that monitor, then leaves.
    assert not stop_spawner(tmp_path / "run", timeout=0.3)
    assert not _gone(spawner, wait=0.05)
    subprocess.run([*c2.cfg["runtime"], "kill", c2.id, "KILL"], check=True)
    assert wait_exit(c2.run_dir, c2.container_dir, timeout=20) == 137
    assert _gone(spawner)
    assert not (spawner_dir / "spawner.sock").exists()
    assert not (spawner_dir / "spawner.pid").exists()


def test_idle_spawner_leaves_after_the_linger_period(
        launch: Callable[..., Launched], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKYARD_SPAWNER_LINGER", "0.5")
    spawner_dir = tmp_path / "run" / "monitor"
    c = launch(["true"])
    spawner = int((spawner_dir / "spawner.pid").read_text())
    assert wait_exit(c.run_dir, c.container_dir, timeout=20) == 0
    assert _gone(spawner, wait=5)
    assert not (spawner_dir / "spawner.pid").exists()
    assert stop_spawner(tmp_path / "run")  # nothing to stop: fine


def test_stop_spawner_ends_an_idle_one_at_once(
        launch: Callable[..., Launched], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKYARD_SPAWNER_LINGER", "300")
    spawner_dir = tmp_path / "run" / "monitor"
    c = launch(["true"])
    spawner = int((spawner_dir / "spawner.pid").read_text())
    assert wait_exit(c.run_dir, c.container_dir, timeout=20) == 0
    start = time.monotonic()
    assert stop_spawner(tmp_path / "run")
    assert time.monotonic() - start < 2
    assert _gone(spawner, wait=1)
    assert not (spawner_dir / "spawner.sock").exists()


@pytest.mark.parametrize(("value", "seconds"), [
    (None, 30.0), ("0", 0.0), ("2.5", 2.5), ("-4", 0.0), ("soon", 30.0), ("", 30.0),
    ("nan", 0.0), ("inf", 86400.0), ("1e9", 86400.0)])
def test_linger_setting(monkeypatch: pytest.MonkeyPatch, value: str | None,
                        seconds: float) -> None:
    from dockyard.engine.monitor.spawner import linger_seconds

    if value is None:
        monkeypatch.delenv("DOCKYARD_SPAWNER_LINGER", raising=False)
    else:
        monkeypatch.setenv("DOCKYARD_SPAWNER_LINGER", value)
    assert linger_seconds() == seconds


def _children(pid: int) -> set[int]:
    return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def _kill_all(cs: list[Launched]) -> None:
    for c in cs:
        subprocess.run([*c.cfg["runtime"], "kill", c.id, "KILL"], check=True)
        assert wait_exit(c.run_dir, c.container_dir, timeout=20) == 137


def _spare_of(spawner: int, others: set[int]) -> int:
    """The spawner's spare monitor (forked a moment after a request), once its prepared
    runtime child is there too."""
    deadline = time.monotonic() + 10
    while True:
        spares = _children(spawner) - others
        if len(spares) == 1:
            spare = next(iter(spares))
            if len(_children(spare)) == 1:
                return spare
        assert time.monotonic() < deadline, f"no spare monitor: {spares}"
        time.sleep(0.01)


def test_a_spare_monitor_with_a_prepared_runtime_serves_the_next_launch(
        launch: Callable[..., Launched], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKYARD_SPAWNER_LINGER", "30")
    spawner_dir = tmp_path / "run" / "monitor"
    c1 = launch(["sleep", "60"], runtime="dockyard")
    spawner = int((spawner_dir / "spawner.pid").read_text())
    m1 = monitor_pid(c1.run_dir)
    assert m1 is not None and _ppid(c1.pid) == m1
    # Forked a moment after the request, ready for the next one, with its runtime
    # child imported and waiting.
    spare = _spare_of(spawner, {m1})
    c2 = launch(["sh", "-c", "echo from the spare; sleep 60"], runtime="dockyard")
    assert monitor_pid(c2.run_dir) == spare
    assert _ppid(c2.pid) == spare  # the init is the monitor's child, as when forked
    deadline = time.monotonic() + 10
    while not list(read_logs(c2.container_dir, c2.id, "json-file")) and \
            time.monotonic() < deadline:
        time.sleep(0.02)
    assert [e.data for e in read_logs(c2.container_dir, c2.id, "json-file")] == \
        [b"from the spare\n"]
    _kill_all([c1, c2])
    deadline = time.monotonic() + 10
    while _children(spawner) & {m1, spare} and time.monotonic() < deadline:
        time.sleep(0.02)  # the monitors answered the waiters; now they exit
    spares = {_spare_of(spawner, set())}  # the next spare
    # Stopping the spawner sends its spare (and the spare's runtime child) away too.
    assert stop_spawner(tmp_path / "run")
    assert all(_gone(p) for p in spares)


def test_a_dead_spare_and_runc_fall_back_to_forking(
        launch: Callable[..., Launched], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKYARD_SPAWNER_LINGER", "30")
    spawner_dir = tmp_path / "run" / "monitor"
    c1 = launch(["sleep", "60"], runtime="dockyard")
    spawner = int((spawner_dir / "spawner.pid").read_text())
    spare = _spare_of(spawner, {monitor_pid(c1.run_dir) or 0})
    os.kill(spare, signal.SIGKILL)
    assert _gone(spare)
    c2 = launch(["sh", "-c", "exit 3"], runtime="dockyard")
    assert wait_exit(c2.run_dir, c2.container_dir, timeout=20) == 3
    # runc: the spare's prepared child is of no use and is let go.
    c3 = launch(["sh", "-c", "exit 5"], runtime="runc")
    assert wait_exit(c3.run_dir, c3.container_dir, timeout=20) == 5
    _kill_all([c1])
    assert stop_spawner(tmp_path / "run")


def test_no_spare_without_prefork(launch: Callable[..., Launched], tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKYARD_SPAWNER_LINGER", "30")
    monkeypatch.setenv("DOCKYARD_MONITOR_PREFORK", "0")
    c = launch(["sleep", "60"], runtime="dockyard")
    spawner = int((tmp_path / "run" / "monitor" / "spawner.pid").read_text())
    time.sleep(0.3)  # well past the moment a spare would be forked
    assert _children(spawner) == {monitor_pid(c.run_dir)}
    _kill_all([c])
