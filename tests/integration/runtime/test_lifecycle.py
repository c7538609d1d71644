"""create/start/exec/pause/hooks/console/user namespaces through ``dockyard-runtime``."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.runtime.container_state import process_start_time
from tests.integration.runtime.conftest import Bundle, run_cmd


@pytest.fixture
def rt(runtime_cmd: list[str], state_root: Path) -> list[str]:
    return [*runtime_cmd, "--root", str(state_root)]


def _create(rt: list[str], bundle: Bundle, cid: str, *extra: str) -> None:
    with open(bundle.path / f"{cid}.err", "w+") as err:  # a pipe would stay open in PID 1
        r = subprocess.run([*rt, "create", *extra, "-b", str(bundle.path), cid],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                           timeout=30)
        err.seek(0)
        assert r.returncode == 0, err.read()


def _status(rt: list[str], cid: str) -> str:
    return str(json.loads(run_cmd([*rt, "state", cid]).stdout)["status"])


def _wait_status(rt: list[str], cid: str, want: str) -> None:
    deadline = time.monotonic() + 10
    while _status(rt, cid) != want:
        assert time.monotonic() < deadline, f"{cid} never {want}"
        time.sleep(0.02)


@pytest.fixture
def running(rt: list[str], bundle: Bundle) -> Iterator[str]:
    bundle.config["hostname"] = "exec-target"
    bundle.write(args=["sleep", "60"])
    _create(rt, bundle, "busy")
    assert run_cmd([*rt, "start", "busy"]).returncode == 0
    yield "busy"


def test_exec_joins_the_container(rt: list[str], running: str) -> None:
    r = run_cmd([*rt, "exec", "-e", "GREETING=hi", "--cwd", "/tmp", running, "sh", "-c",
                 "echo $$ $(hostname) $GREETING $(pwd); ls /sys/class/net; exit 3"])
    assert r.returncode == 3, r.stderr
    first, second = r.stdout.splitlines()
    pid, host, greeting, cwd = first.split()
    assert int(pid) > 1 and host == "exec-target" and greeting == "hi" and cwd == "/tmp"
    assert second == "lo"
    r = run_cmd([*rt, "exec", "--user", "1000:1000", "-g", "100", running, "id"])
    assert r.stdout.strip() == "uid=1000(tester) gid=1000(tester) groups=100(users)", r
    r = run_cmd([*rt, "exec", running, "/no/such/thing"])
    assert r.returncode != 0 and "/no/such/thing" in r.stderr
    pids = json.loads(run_cmd([*rt, "ps", "--format", "json", running]).stdout)
    assert len(pids) == 1 and pids[0] > 1


def test_exec_process_file(rt: list[str], running: str, tmp_path: Path) -> None:
    proc = {"args": ["sh", "-c", "echo $A; id -u"], "env": ["A=from-file", "PATH=/bin"],
            "cwd": "/", "user": {"uid": 1, "gid": 1}}
    (tmp_path / "p.json").write_text(json.dumps(proc))
    r = run_cmd([*rt, "exec", "--process", str(tmp_path / "p.json"), running])
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["from-file", "1"]


def test_pause_and_resume(rt: list[str], running: str) -> None:
    assert run_cmd([*rt, "pause", running]).returncode == 0
    assert _status(rt, running) == "paused"
    r = run_cmd([*rt, "pause", running])
    assert r.returncode == 1 and "paused" in r.stderr
    assert run_cmd([*rt, "resume", running]).returncode == 0
    assert _status(rt, running) == "running"
    listed = json.loads(run_cmd([*rt, "list", "--format", "json"]).stdout)
    assert [c["id"] for c in listed] == [running]


def test_kill_all_and_delete_force(rt: list[str], running: str) -> None:
    assert run_cmd([*rt, "kill", "--all", running, "9"]).returncode == 0
    _wait_status(rt, running, "stopped")
    assert run_cmd([*rt, "delete", running]).returncode == 0
    assert run_cmd([*rt, "state", running]).returncode == 1


def test_delete_force_kills_a_running_container(rt: list[str], running: str) -> None:
    state = json.loads(run_cmd([*rt, "state", running]).stdout)
    assert run_cmd([*rt, "delete", "--force", running]).returncode == 0
    # Gone, or a zombie waiting for its new parent (the machine's init) to reap it.
    assert process_start_time(state["pid"]) is None


def test_hooks_get_the_state_on_stdin(rt: list[str], bundle: Bundle, tmp_path: Path) -> None:
    out = tmp_path / "hooks"
    out.mkdir()

    def hook(name: str) -> dict[str, object]:
        return {"path": "/bin/sh", "args": ["sh", "-c", f"cat > {out}/{name}.json"]}

    bundle.config["hooks"] = {
        "prestart": [hook("prestart")], "createRuntime": [hook("createRuntime")],
        "createContainer": [hook("createContainer")],
        "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "cat > /started.json"]}],
        "poststart": [hook("poststart")], "poststop": [hook("poststop")]}
    bundle.write(args=["true"])
    r = run_cmd([*rt, "run", "-b", str(bundle.path), "hooked"])
    assert r.returncode == 0, r.stderr
    states = {p.stem: json.loads(p.read_text()) for p in out.iterdir()}
    assert sorted(states) == ["createContainer", "createRuntime", "poststart", "poststop",
                              "prestart"]
    for name, st in states.items():
        assert st["id"] == "hooked" and st["bundle"] == str(bundle.path), name
    assert states["prestart"]["pid"] > 0 and states["prestart"]["status"] == "creating"
    assert states["poststop"]["status"] == "stopped"
    inside = json.loads((bundle.rootfs / "started.json").read_text())
    assert inside["id"] == "hooked"


def test_failing_prestart_hook_fails_create(rt: list[str], bundle: Bundle,
                                            state_root: Path) -> None:
    bundle.config["hooks"] = {"prestart": [{"path": "/bin/false"}]}
    bundle.write(args=["true"])
    r = run_cmd([*rt, "run", "-b", str(bundle.path), "hookfail"])
    assert r.returncode == 1 and "hooks.prestart[0]" in r.stderr
    assert not list(state_root.iterdir())


def test_console_socket_gets_a_working_pty(rt: list[str], bundle: Bundle,
                                           tmp_path: Path) -> None:
    bundle.write(args=["sh"], terminal=True)
    path = str(tmp_path / "console.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(path)
        listener.listen(1)
        listener.settimeout(20)
        creator = subprocess.Popen([*rt, "create", "--console-socket", path, "-b",
                                    str(bundle.path), "tty1"], stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        conn, _ = listener.accept()
        with conn:
            _, fds, _, _ = socket.recv_fds(conn, 1024, 1)
        _, err = creator.communicate(timeout=20)
        assert creator.returncode == 0, err
    master = fds[0]
    try:
        assert run_cmd([*rt, "start", "tty1"]).returncode == 0
        os.write(master, b"echo answer=$((6*7)); tty; exit 5\n")
        data = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the slave side is closed, the shell is gone
                break
            if not chunk:
                break
            data += chunk
    finally:
        os.close(master)
    text = data.decode(errors="replace")
    assert "answer=42" in text
    assert "/dev/pts/0" in text
    _wait_status(rt, "tty1", "stopped")


def test_terminal_without_console_socket_is_refused(rt: list[str], bundle: Bundle) -> None:
    bundle.write(args=["sh"], terminal=True)
    r = run_cmd([*rt, "create", "-b", str(bundle.path), "tty2"])
    assert r.returncode == 1 and "console-socket" in r.stderr


@pytest.fixture
def reachable_bundle(bundle: Bundle, session_token: str) -> Iterator[Bundle]:
    """The bundle's rootfs moved where mapped uids can reach it (like runc, the mapped
    root must be able to search every directory above the rootfs)."""
    top = Path(tempfile.mkdtemp(prefix=f"dockyard-{session_token}-"))
    try:
        top.chmod(0o711)
        subprocess.run(["cp", "-a", str(bundle.rootfs), str(top / "rootfs")], check=True)
        bundle.rootfs = top / "rootfs"
        bundle.config["root"]["path"] = str(bundle.rootfs)
        yield bundle
    finally:
        shutil.rmtree(top)


def test_user_namespace_with_id_maps(rt: list[str], reachable_bundle: Bundle) -> None:
    bundle = reachable_bundle
    bundle.config["linux"]["namespaces"].append({"type": "user"})
    bundle.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 200000,
                                              "size": 65536}]
    bundle.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 200000,
                                              "size": 65536}]
    bundle.write(args=["sh", "-c", "cat /proc/self/uid_map; id -u; ls /proc | wc -l"])
    r = run_cmd([*rt, "run", "-b", str(bundle.path), "userns"])
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\n")
    assert lines[0].split() == ["0", "200000", "65536"]
    assert lines[1] == "0"


def test_waiting_init_is_unreachable_from_inside(rt: list[str], bundle: Bundle) -> None:
    """While the init waits for start it is still the runtime's interpreter: the
    container must not be able to open its executable or memory (CVE-2019-5736)."""
    bundle.write(args=["true"])
    _create(rt, bundle, "waiting")
    r = run_cmd([*rt, "exec", "waiting", "sh", "-c",
                 "readlink /proc/1/exe || echo no-exe; cat /proc/1/maps > /dev/null "
                 "|| echo no-maps; grep -c . /proc/1/environ || echo no-environ"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["no-exe", "no-maps", "no-environ"], r.stdout


def test_run_with_a_terminal_proxies_our_tty(rt: list[str], bundle: Bundle) -> None:
    import pexpect

    # `read` rather than an interactive shell: busybox's line editor queries the terminal.
    bundle.write(args=["sh", "-c", "read x; echo got=$x $(tty); exit 4"], terminal=True)
    child = pexpect.spawn(rt[0], [*rt[1:], "run", "-b", str(bundle.path), "tty3"],
                          timeout=20, encoding="utf-8")
    try:
        child.sendline("hello")
        child.expect(r"got=hello /dev/pts/0")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 4


def test_exec_into_a_user_namespace(rt: list[str], reachable_bundle: Bundle) -> None:
    bundle = reachable_bundle
    bundle.config["linux"]["namespaces"].append({"type": "user"})
    for key in ("uidMappings", "gidMappings"):
        bundle.config["linux"][key] = [{"containerID": 0, "hostID": 300000, "size": 65536}]
    bundle.write(args=["sleep", "60"])
    _create(rt, bundle, "usr2")
    assert run_cmd([*rt, "start", "usr2"]).returncode == 0
    r = run_cmd([*rt, "exec", "usr2", "sh", "-c", "id -u; cat /proc/self/uid_map; echo $$"])
    assert r.returncode == 0, r.stderr
    uid, *mapping, pid = r.stdout.split()
    assert uid == "0" and mapping == ["0", "300000", "65536"] and int(pid) > 1


def test_exec_with_a_terminal_proxies_our_tty(rt: list[str], running: str) -> None:
    import pexpect

    child = pexpect.spawn(rt[0], [*rt[1:], "exec", "-t", running, "sh", "-c",
                                  "read x; echo got=$x $(tty); exit 6"],
                          timeout=20, encoding="utf-8")
    try:
        child.sendline("there")
        child.expect(r"got=there /dev/pts/\d+")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 6
