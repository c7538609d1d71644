"""The warm engine: commands run in a worker forked from it, exactly as they would cold.

Each test first makes sure the engine of its run root is up, so every command after
that goes through it; a worker is recognised as a child of the engine's process.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pexpect
import pytest

from dockyard.cli.warm import wire
from dockyard.cli.warm.server import stop
from tests.integration.cli.conftest import Dockyard
from tests.support.pty import wait_for_prompt

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")


def _engine_pid(d: Dockyard) -> int:
    """Start the run root's warm engine (a first command does) and wait until it serves."""
    d.ok("version")
    pid_file = Path(wire.warm_dir(str(d.run_root))) / wire.PID_NAME
    deadline = time.monotonic() + 30
    while not pid_file.exists():
        assert time.monotonic() < deadline, "the warm engine did not start"
        time.sleep(0.05)
    return int(pid_file.read_text())


def _children(engine: int, name: str) -> list[int]:
    with open(f"/proc/{engine}/task/{engine}/children") as f:
        pids = [int(p) for p in f.read().split()]
    found = []
    for pid in pids:
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == name:
                found.append(pid)
        except OSError:
            pass
    return found


def _workers(engine: int) -> list[int]:
    """The engine's children running a command (not its spare, waiting for one)."""
    return _children(engine, "dockyard-worker")


def _wait_for(predicate: object, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_commands_run_in_workers_of_the_engine(dockyard: Dockyard) -> None:
    engine = _engine_pid(dockyard)
    proc = subprocess.Popen(dockyard.argv("run", "--rm", "--network", "none", "busybox",
                                          "sh", "-c", "echo up; sleep 1; exit 3"),
                            env=dockyard.env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline() == "up\n"
    [worker] = _workers(engine)  # the client's command, in a process forked from the engine
    assert proc.wait(timeout=30) == 3
    _wait_for(lambda: _workers(engine) == [])
    # the next command's worker is forked ahead, and waits
    _wait_for(lambda: len(_children(engine, "dockyard-spare")) == 1)
    assert worker not in _children(engine, "dockyard-spare")
    assert dockyard.containers() == []


def test_worker_takes_the_clients_cwd_env_stdin_and_exit_codes(dockyard: Dockyard,
                                                                 tmp_path: Path) -> None:
    _engine_pid(dockyard)
    (tmp_path / "vars").write_text("FROM_FILE=file\n")
    env = dict(dockyard.env, FROM_CLIENT="client value")
    out = subprocess.run(
        dockyard.argv("run", "--rm", "-i", "--network", "none", "--env-file", "vars",
                      "-e", "FROM_CLIENT", "busybox", "sh", "-c",
                      'echo "$FROM_FILE/$FROM_CLIENT"; cat'),
        env=env, cwd=tmp_path, input="from stdin\n", capture_output=True, text=True,
        timeout=60)
    assert (out.returncode, out.stdout) == (0, "file/client value\nfrom stdin\n"), out.stderr
    bad = dockyard("run", "--no-such-flag", "busybox")
    assert bad.code == 125 and bad.err.startswith("Error: unknown flag: --no-such-flag")
    missing = dockyard("run", "--rm", "--network", "none", "busybox", "no-such-command")
    assert missing.code == 127
    assert dockyard("inspect", "no-such-thing").code == 1


def test_umask_reaches_the_worker(dockyard: Dockyard, tmp_path: Path) -> None:
    _engine_pid(dockyard)
    dockyard.ok("create", "--name", "box", "--network", "none", "busybox", "true")
    target = tmp_path / "out"
    subprocess.run(["sh", "-c", 'umask 077 && exec "$@"', "sh",
                    *dockyard.argv("cp", "box:/bin/busybox", str(target))],
                   env=dockyard.env, check=True, timeout=60)
    assert target.exists()
    dockyard.ok("rm", "box")


def test_signals_reach_the_worker(dockyard: Dockyard) -> None:
    _engine_pid(dockyard)
    proc = subprocess.Popen(
        dockyard.argv("run", "--rm", "--network", "none", "busybox", "sh", "-c",
                      "trap 'echo got-int; exit 9' INT; echo ready; "
                      "while true; do sleep 0.1; done"),
        env=dockyard.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (proc.returncode, out) == (9, "got-int\n"), err


def test_killing_the_client_kills_its_worker(dockyard: Dockyard) -> None:
    engine = _engine_pid(dockyard)
    dockyard.ok("run", "-d", "--name", "ticker", "--network", "none", "busybox", "sh", "-c",
                "while true; do echo tick; sleep 0.2; done")
    proc = subprocess.Popen(dockyard.argv("logs", "-f", "ticker"), env=dockyard.env,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline() == "tick\n"
    [worker] = _workers(engine)
    proc.kill()
    proc.wait()
    _wait_for(lambda: not os.path.exists(f"/proc/{worker}") or
              Path(f"/proc/{worker}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z")
    _wait_for(lambda: _workers(engine) == [])
    assert dockyard.ok("inspect", "-f", "{{.State.Running}}", "ticker") == "true\n"
    dockyard.ok("rm", "-f", "ticker")


def test_run_it_through_the_engine(dockyard: Dockyard) -> None:
    engine = _engine_pid(dockyard)
    argv = dockyard.argv("run", "-it", "--rm", "--network", "none", "busybox", "sh")
    child = pexpect.spawn(argv[0], argv[1:], env=dockyard.env, timeout=20, encoding="utf-8")
    child.setwinsize(30, 100)
    wait_for_prompt(child)
    assert len(_workers(engine)) == 1
    child.sendline("stty size")
    child.expect("30 100")
    child.setwinsize(41, 121)  # SIGWINCH goes to the client, which passes it on
    child.sendline("stty size")
    child.expect("41 121")
    child.sendline("exit 4")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 4


def test_another_network_namespace_runs_cold(dockyard: Dockyard) -> None:
    engine = _engine_pid(dockyard)
    proc = subprocess.Popen(["unshare", "--net", *dockyard.argv(
        "run", "--rm", "--network", "none", "busybox", "sh", "-c", "echo up; sleep 1")],
        env=dockyard.env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline() == "up\n"
    assert _workers(engine) == []  # refused: the command ran in its own process
    assert proc.wait(timeout=30) == 0


def _raw_request(d: Dockyard, code: str) -> bytes:
    path = Path(wire.warm_dir(str(d.run_root))) / wire.SOCKET_NAME
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dir_fd = os.open(path.parent, os.O_PATH)
    cwd = os.open("/", os.O_PATH)
    try:
        sock.connect(f"/proc/self/fd/{dir_fd}/{path.name}")
        body = wire.encode_request(code, "dockyard", ["version"], {}, 0o22)
        rights = b"".join(fd.to_bytes(4, "little") for fd in (0, 1, 2, cwd))
        sock.sendmsg([body], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, rights)])
        sock.settimeout(10)
        return sock.recv(256)
    finally:
        sock.close()
        os.close(dir_fd)
        os.close(cwd)


def test_other_code_is_refused_and_the_engine_steps_down(dockyard: Dockyard) -> None:
    engine = _engine_pid(dockyard)
    assert _raw_request(dockyard, "/other/python:/other/dockyard") == b"R other code\n"
    _wait_for(lambda: not os.path.exists(f"/proc/{engine}") or
              Path(f"/proc/{engine}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z")
    assert dockyard.ok("ps").startswith("CONTAINER ID")  # runs cold, starts a new engine
    assert _engine_pid(dockyard) != engine


def test_stop_ends_the_engine_and_the_next_command_starts_one(dockyard: Dockyard) -> None:
    engine = _engine_pid(dockyard)
    assert stop(str(dockyard.run_root))
    assert not os.path.exists(Path(wire.warm_dir(str(dockyard.run_root))) / wire.SOCKET_NAME)
    assert "Dockyard" in dockyard.ok("--version")
    assert _engine_pid(dockyard) != engine


def test_disabled_with_dockyard_warm_0(dockyard: Dockyard) -> None:
    dockyard.env["DOCKYARD_WARM"] = "0"
    dockyard.ok("version")
    dockyard.ok("ps")
    assert not os.path.exists(wire.warm_dir(str(dockyard.run_root)))


def test_launcher_runs_the_client_without_site(dockyard: Dockyard, tmp_path: Path) -> None:
    from dockyard.cli.warm.launcher import write_launcher

    launcher = write_launcher(tmp_path / "dockyard")
    first = launcher.read_text().splitlines()[0]
    assert first.startswith("#!") and first.endswith(" -S")
    argv = [str(launcher), "--root", str(dockyard.root), "--run-root", str(dockyard.run_root)]
    engine = _engine_pid(dockyard)
    proc = subprocess.Popen([*argv, "run", "--rm", "--network", "none", "busybox", "sh", "-c",
                             "echo up; sleep 1; exit 6"], env=dockyard.env,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline() == "up\n"
    assert len(_workers(engine)) == 1  # the launcher's client reached the same engine
    assert proc.wait(timeout=30) == 6
    # Cold, it re-executes the venv's interpreter, which has click and the rest.
    cold = subprocess.run([*argv, "ps", "--format", "{{.Names}}"], capture_output=True,
                          text=True, env=dict(dockyard.env, DOCKYARD_WARM="0"), timeout=60)
    assert (cold.returncode, cold.stdout) == (0, ""), cold.stderr
    bad = subprocess.run([*argv, "--no-such-flag"], capture_output=True, text=True,
                         env=dict(dockyard.env, DOCKYARD_WARM="0"), timeout=60)
    assert bad.returncode == 125 and "no-such-flag" in bad.stderr


def test_output_ends_when_the_command_does(dockyard: Dockyard) -> None:
    """Regression: the spare worker forked after a command held that command's stdout,
    so a reader of it (``capture_output``) waited for EOF until the spare's end."""
    _engine_pid(dockyard)
    for _ in range(3):
        proc = subprocess.run(dockyard.argv("ps", "-a", "-q"), env=dockyard.env,
                              capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              timeout=20)
        assert (proc.returncode, proc.stdout) == (0, "")


def test_exec_it_resize_reaches_the_runtime_child(dockyard: Dockyard) -> None:
    """Regression: a resize was passed to the worker only; `exec -t` relays the pty in a
    child process (the runtime's), which a terminal's SIGWINCH reaches when cold."""
    engine = _engine_pid(dockyard)
    dockyard.ok("run", "-d", "--name", "sized", "--network", "none", "busybox", "sleep", "60")
    argv = dockyard.argv("exec", "-it", "sized", "sh")
    child = pexpect.spawn(argv[0], argv[1:], env=dockyard.env, timeout=20, encoding="utf-8")
    child.setwinsize(30, 100)
    wait_for_prompt(child)
    assert len(_workers(engine)) == 1
    for rows, cols in ((30, 100), (45, 132), (22, 77)):
        child.setwinsize(rows, cols)
        child.sendline("stty size")
        child.expect(f"{rows} {cols}")
    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    dockyard.ok("rm", "-f", "sized")
