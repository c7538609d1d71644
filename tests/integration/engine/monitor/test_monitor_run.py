"""A container run through the monitor outlives its starter; outcome recorded; no leftovers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from monitor_harness import Launched

from dockyard.engine.logs import parse_log_config, read_logs
from dockyard.engine.monitor import (
    AttachPoint,
    attach,
    monitor_pid,
    read_state,
    relay,
    start_container,
    state,
    wait_exit,
)
from dockyard.errors import CommandNotFound


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


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


def _nothing_left(c: Launched, runc_root: Path, cgroup_parent: str) -> None:
    assert monitor_pid(c.run_dir) is None
    assert not (c.run_dir / "monitor.sock").exists()
    assert not _alive(c.pid)
    runtime = c.cfg["runtime"] if c.cfg else ["runc", "--root", str(runc_root)]
    listed = subprocess.run([*runtime, "list", "-q"],
                            capture_output=True, text=True, check=True).stdout.split()
    assert c.id not in listed
    assert not (runc_root / c.id).exists()
    for top in Path("/sys/fs/cgroup").iterdir():
        assert not (top / cgroup_parent / c.id).exists(), top
    assert _processes_of(c) == [], "processes left"


def _processes_of(c: Launched, wait: float = 5.0) -> list[str]:
    """Processes naming the container, once they had ``wait`` seconds to finish exiting."""
    deadline = time.monotonic() + wait
    while True:
        found = []
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    continue
                if c.id.encode() in cmd or str(c.run_dir).encode() in cmd:
                    found.append(f"{pid}: {cmd!r}")
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def test_container_outlives_the_command_that_started_it(
        launch: Callable[..., Launched], tmp_path: Path, cgroup_parent: str) -> None:
    # Start the monitor from a short-lived process, as `dockyard run -d` does.
    c = launch(["sleep", "0"])  # only to learn the paths and the runtime root
    wait_exit(c.run_dir, c.container_dir, timeout=20)
    cfg = dict(c.cfg)
    cfg["id"] = c.id + "b"
    bundle = Path(cfg["bundle"])
    cfg["container_dir"] = str(c.container_dir) + "b"
    cfg["run_dir"] = str(c.run_dir) + "b"
    cfg["cgroups_path"] = str(cfg["cgroups_path"]) + "b"
    spec = json.loads((bundle / "config.json").read_text())
    spec["process"]["args"] = ["sh", "-c", "echo started; sleep 30"]
    spec["linux"]["cgroupsPath"] = cfg["cgroups_path"]
    (bundle / "config.json").write_text(json.dumps(spec))
    starter = (
        "import json, sys; from dockyard.engine.monitor import start_monitor; "
        "print(start_monitor(json.loads(sys.argv[1])))"
    )
    out = subprocess.run([sys.executable, "-c", starter, json.dumps(cfg)],
                         capture_output=True, text=True, timeout=30, check=False)
    assert out.returncode == 0, out.stderr
    init_pid = int(out.stdout.strip())
    run_dir, container_dir = Path(cfg["run_dir"]), Path(cfg["container_dir"])
    try:
        # The starter has exited; the container and its monitor live on.
        assert _alive(init_pid)
        mon = monitor_pid(run_dir)
        assert mon is not None
        st = state(run_dir)
        assert st["Status"] == "running" and st["Pid"] == init_pid
        ppid = int(Path(f"/proc/{init_pid}/stat").read_text().split(") ", 1)[1].split()[1])
        assert ppid == mon  # the monitor is the subreaper parent of the container's init
        assert [e.data for e in read_logs(container_dir, cfg["id"], "json-file")] == [
            b"started\n"]
        subprocess.run(["runc", "--root", str(tmp_path / "runc"), "kill", cfg["id"], "KILL"],
                       check=True)
        assert wait_exit(run_dir, container_dir, timeout=20) == 137
        st2 = read_state(container_dir)
        assert st2 is not None and st2["ExitCode"] == 137
        c2 = Launched(cfg["id"], run_dir, container_dir, c.cfg, init_pid)
        _nothing_left(c2, tmp_path / "runc", cgroup_parent)
    finally:
        pid = monitor_pid(run_dir)
        if pid:
            os.kill(pid, 9)
        subprocess.run(["runc", "--root", str(tmp_path / "runc"), "delete", "--force",
                        cfg["id"]], capture_output=True, check=False)


def test_logs_follow_streams_until_exit(launch: Callable[..., Launched]) -> None:
    c = launch(["sh", "-c", "for i in 1 2 3 4 5 6 7 8; do echo line$i; sleep 0.1; done"])
    got: list[tuple[float, bytes]] = []
    t0 = time.monotonic()
    for e in read_logs(c.container_dir, c.id, "json-file", follow=True,
                       is_running=lambda: monitor_pid(c.run_dir) is not None):
        got.append((time.monotonic() - t0, e.data))
    assert [d for _, d in got] == [f"line{i}\n".encode() for i in range(1, 9)]
    # Streamed as written, not all at the end.
    assert got[-1][0] - got[0][0] > 0.4


def test_stdin_streams_and_closes(launch: Callable[..., Launched]) -> None:
    c = launch(["sh", "-c", "tr a-z A-Z; echo done >&2"], stdin=True, stdin_once=True,
               autostart=False)
    assert read_state(c.container_dir)["Status"] == "created"  # type: ignore[index]
    r_in, w_in = os.pipe()
    r_out, w_out = os.pipe()
    r_err, w_err = os.pipe()
    os.write(w_in, b"hello monitor\n")
    os.close(w_in)
    code = attach(c.run_dir, stdin=r_in, stdout=w_out, stderr=w_err,
                  on_attached=lambda: start_container(c.run_dir, c.id))
    for fd in (w_out, w_err, r_in):
        os.close(fd)
    assert code == 0
    assert os.read(r_out, 1000) == b"HELLO MONITOR\n"
    assert os.read(r_err, 1000) == b"done\n"


def test_missing_command_is_reported_and_nothing_left(
        launch: Callable[..., Launched], tmp_path: Path, cgroup_parent: str) -> None:
    with pytest.raises(CommandNotFound, match="nope-not-here"):
        launch(["nope-not-here"])
    # The fixture recorded it before launching: find its dirs.
    run_dirs = list((tmp_path / "run" / "containers").iterdir())
    assert len(run_dirs) == 1
    cid = run_dirs[0].name
    st = read_state(tmp_path / "root" / "containers" / cid)
    assert st is not None and st["ExitCode"] == 127 and "nope-not-here" in str(st["Error"])
    c = Launched(cid, run_dirs[0], tmp_path / "root" / "containers" / cid, None, 0)  # type: ignore[arg-type]
    _nothing_left(c, tmp_path / "runc", cgroup_parent)


@pytest.mark.parametrize("runtime", ["runc", "dockyard"])
def test_nothing_left_after_exit(launch: Callable[..., Launched], tmp_path: Path,
                                 cgroup_parent: str, runtime: str) -> None:
    c = launch(["sh", "-c", "sleep 0.2"], runtime=runtime)
    assert Path(f"/sys/fs/cgroup/memory/{cgroup_parent}/{c.id}").exists()
    assert wait_exit(c.run_dir, c.container_dir, timeout=20) == 0
    deadline = time.monotonic() + 5
    while monitor_pid(c.run_dir) is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    _nothing_left(c, tmp_path / "runc", cgroup_parent)


@pytest.mark.parametrize("runtime", ["runc", "dockyard"])
def test_oom_kill_recorded(launch: Callable[..., Launched], runtime: str) -> None:
    c = launch(["sh", "-c", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived"],
               memory=32 << 20, runtime=runtime)
    code = wait_exit(c.run_dir, c.container_dir, timeout=60)
    st = read_state(c.container_dir)
    assert st is not None
    assert st["OOMKilled"] is True, st
    assert code == 137


def test_hostile_clients_do_not_hurt_the_monitor(launch: Callable[..., Launched]) -> None:
    import socket

    from dockyard.engine.monitor import connect, request, resize
    from dockyard.errors import Conflict

    c = launch(["sleep", "30"])
    assert request(c.run_dir, {"op": "dance"}) == {"ok": False, "error": "unknown op: 'dance'"}
    assert request(c.run_dir, {"op": "resize", "height": "x", "width": 3})["ok"] is False
    with pytest.raises(Conflict, match="has no tty"):
        resize(c.run_dir, 10, 10)
    with pytest.raises(Conflict, match="already running"):
        start_container(c.run_dir, c.id)
    for junk in (b"not json\n", b"[1, 2]\n", b"\xff\xfe\n"):
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(c.run_dir / "monitor.sock"))
            s.sendall(junk)
            assert b'"ok":false' in s.recv(1000)
    # A request line that never ends is cut off.
    with connect(c.run_dir) as s, pytest.raises((BrokenPipeError, ConnectionResetError)):
        for _ in range(100):
            s.sendall(b"x" * 65536)
    with connect(c.run_dir) as s:  # an absurd frame drops that client only
        s.sendall(b'{"op": "attach"}\n')
        assert s.recv(1000).startswith(b'{"ok":true')
        s.sendall(bytes([0, 0, 0, 0]) + (1 << 31).to_bytes(4, "big"))
        assert s.recv(1000) == b""
    assert state(c.run_dir)["Status"] == "running"
    subprocess.run([*c.cfg["runtime"], "kill", c.id, "KILL"], check=True)
    assert wait_exit(c.run_dir, c.container_dir, timeout=20) == 137


@pytest.mark.parametrize("spawner", ["1", "0"])
def test_container_gets_only_its_stdio(launch: Callable[..., Launched], spawner: str,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKYARD_MONITOR_SPAWNER", spawner)
    c = launch(["sh", "-c", "ls -l /proc/1/fd"])
    assert wait_exit(c.run_dir, c.container_dir, timeout=20) == 0
    out = b"".join(e.data for e in read_logs(c.container_dir, c.id, "json-file"))
    fds = [line.split(" -> ")[0].split()[-1] for line in out.decode().splitlines()
           if " -> " in line]
    assert fds == ["0", "1", "2"], out


@pytest.mark.parametrize("runtime", ["runc", "dockyard"])
def test_container_does_not_inherit_ignored_signals(launch: Callable[..., Launched],
                                                    runtime: str) -> None:
    # The monitor ignores HUP, INT and TERM, and Python PIPE and XFSZ; a container that
    # ignored them too could not be stopped politely (ignored dispositions survive execve).
    c = launch(["grep", "SigIgn", "/proc/self/status"], runtime=runtime)
    assert wait_exit(c.run_dir, c.container_dir, timeout=20) == 0
    out = b"".join(e.data for e in read_logs(c.container_dir, c.id, "json-file"))
    mask = int(out.split()[-1], 16)
    for sig in (1, 2, 13, 15, 25):
        assert not mask & (1 << (sig - 1)), (runtime, hex(mask), sig)


def test_wait_on_a_killed_monitor_fails_fast(launch: Callable[..., Launched]) -> None:
    from dockyard.errors import SystemFailure

    c = launch(["sleep", "60"])
    mon = monitor_pid(c.run_dir)
    assert mon is not None
    os.kill(mon, 9)
    t0 = time.monotonic()
    with pytest.raises(SystemFailure, match="is gone and recorded no exit"):
        wait_exit(c.run_dir, c.container_dir, timeout=20)
    assert time.monotonic() - t0 < 5
    st = read_state(c.container_dir)
    assert st is not None and st["Status"] == "running"  # as last recorded: the engine decides


def test_the_attach_point_gets_the_first_byte_with_no_log(
        launch: Callable[..., Launched]) -> None:
    """The monitor connects to the command's AttachPoint before the container exists:
    output written at once reaches it though no log is kept."""
    with AttachPoint(stdout=True, stderr=True) as point:
        c = launch(["sh", "-c", "echo one; echo two >&2; exit 7"],
                   log=parse_log_config("none"), attach=point.spec)
        sock = point.accept()
    assert sock is not None
    r_out, w_out = os.pipe()
    r_err, w_err = os.pipe()
    code = relay(sock, stdin=None, stdout=w_out, stderr=w_err)
    os.close(w_out)
    os.close(w_err)
    assert (code, os.read(r_out, 100), os.read(r_err, 100)) == (7, b"one\n", b"two\n")
    assert not any(c.container_dir.glob("*log*"))  # nothing kept: the attach had it all


def test_a_gone_attach_point_leaves_the_container_to_run(
        launch: Callable[..., Launched]) -> None:
    point = AttachPoint()
    point.close()  # the command died before the monitor came
    c = launch(["sh", "-c", "echo alone; exit 2"], attach=point.spec)
    assert wait_exit(c.run_dir, c.container_dir, 10) == 2
    assert [e.data for e in read_logs(c.container_dir, c.id, "json-file")] == [b"alone\n"]
