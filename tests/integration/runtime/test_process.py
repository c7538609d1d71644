"""Process settings, /dev, joined namespaces and the in-process library API."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from dockyard import runtime
from tests.integration.runtime.conftest import Bundle, run_cmd


def test_process_settings_and_dev(runtime_cmd: list[str], state_root: Path,
                                  bundle: Bundle) -> None:
    bundle.config["domainname"] = "yard.example"
    bundle.config["process"].update(
        umask=0o027, oomScoreAdj=500,
        rlimits=[{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 700}],
        env=["PATH=/bin:/usr/bin", "ANSWER=42"])
    script = ("umask; ulimit -n; ulimit -Hn; cat /proc/self/oom_score_adj; "
              "cat /proc/sys/kernel/domainname; echo $ANSWER; "
              "ls /dev | tr '\\n' ' '; echo; "
              "echo $(readlink /dev/fd) $(readlink /dev/stdin) $(readlink /dev/ptmx)")
    bundle.write(args=["sh", "-c", script])
    r = run_cmd([*runtime_cmd, "--root", str(state_root), "run", "-b", str(bundle.path),
                 "proc1"])
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:6] == ["0027", "512", "700", "500", "yard.example", "42"]
    devs = set(lines[6].split())
    assert {"null", "zero", "full", "random", "urandom", "tty", "fd", "stdin", "stdout",
            "stderr", "ptmx", "pts", "shm", "mqueue"} <= devs
    assert lines[7].split() == ["/proc/self/fd", "/proc/self/fd/0", "pts/ptmx"]


def test_join_namespaces_by_path(runtime_cmd: list[str], state_root: Path,
                                 bundle: Bundle, tmp_path: Path) -> None:
    rt = [*runtime_cmd, "--root", str(state_root)]
    bundle.config["hostname"] = "alpha"
    bundle.write(args=["sleep", "60"])
    with open(tmp_path / "err", "w+") as err:
        assert subprocess.run([*rt, "create", "-b", str(bundle.path), "alpha"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=err, timeout=30).returncode == 0
    pid = json.loads(run_cmd([*rt, "state", "alpha"]).stdout)["pid"]
    second = tmp_path / "second"
    second.mkdir()
    config = json.loads(json.dumps(bundle.config))
    del config["hostname"]
    config["linux"]["cgroupsPath"] += "-second"
    config["linux"]["namespaces"] = [
        {"type": "mount"}, {"type": "pid"},
        {"type": "uts", "path": f"/proc/{pid}/ns/uts"},
        {"type": "network", "path": f"/proc/{pid}/ns/net"}]
    config["process"]["args"] = ["sh", "-c", "hostname; readlink /proc/self/ns/net"]
    (second / "config.json").write_text(json.dumps(config))
    r = run_cmd([*rt, "run", "-b", str(second), "beta"])
    assert r.returncode == 0, r.stderr
    host, net = r.stdout.split()
    assert host == "alpha"
    assert net == os.readlink(f"/proc/{pid}/ns/net")


def test_library_lifecycle_in_process(state_root: Path, bundle: Bundle) -> None:
    """The engine's way: no extra interpreter, this process is the init's parent."""
    bundle.write(args=["sleep", "60"])
    st = runtime.create(state_root, "lib1", bundle.path)
    try:
        assert runtime.state(state_root, "lib1")["status"] == "created"
        runtime.start(state_root, "lib1")
        assert runtime.state(state_root, "lib1")["status"] == "running"
        assert runtime.ps(state_root, "lib1") == [st.pid]
        runtime.pause(state_root, "lib1")
        assert runtime.state(state_root, "lib1")["status"] == "paused"
        runtime.resume(state_root, "lib1")
        runtime.kill(state_root, "lib1", "KILL")
        _, status = os.waitpid(st.pid, 0)  # ours: we forked it
        assert os.WTERMSIG(status) == 9
        deadline = time.monotonic() + 5
        while runtime.state(state_root, "lib1")["status"] != "stopped":
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        runtime.delete(state_root, "lib1", force=True)
    assert not (state_root / "lib1").exists()
    # This process's own pid namespace for children is untouched.
    child = os.fork()
    if child == 0:
        os._exit(0 if os.readlink("/proc/self/ns/pid") ==
                 os.readlink(f"/proc/{os.getppid()}/ns/pid") else 1)
    assert os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]) == 0


def test_sysctls_are_written_on_procfs_only(runtime_cmd: list[str], state_root: Path,
                                           bundle: Bundle, tmp_path: Path) -> None:
    bundle.config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
    bundle.write(args=["cat", "/proc/sys/net/ipv4/ip_forward"])
    r = run_cmd([*runtime_cmd, "--root", str(state_root), "run", "-b", str(bundle.path),
                 "sys1"])
    assert r.returncode == 0 and r.stdout == "1\n", r
    # A mount over a /proc/sys file must not turn the sysctl into a write elsewhere.
    decoy = tmp_path / "decoy"
    decoy.write_text("untouched\n")
    bundle.config["linux"]["sysctl"] = {"kernel.domainname": "evil"}
    bundle.config["mounts"].append({"destination": "/proc/sys/kernel/domainname",
                                    "type": "bind", "source": str(decoy),
                                    "options": ["bind"]})
    bundle.write()
    r = run_cmd([*runtime_cmd, "--root", str(state_root), "run", "-b", str(bundle.path),
                 "sys2"])
    assert r.returncode == 1 and "not on procfs" in r.stderr, r
    assert decoy.read_text() == "untouched\n"
