"""Containers through the engine on the real kernel, with runc and the monitor."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from dockyard.errors import AlreadyExists, CommandNotFound, Conflict, ExecFailed, NotFound
from dockyard.settings import Roots


def _mounted(marker: str) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if marker in line.split()[4]]


def test_run_detached_logs_wait_and_remove(engine: Any, roots: Roots) -> None:
    cid = engine.create("hello", {"Image": "busybox",
                                  "Cmd": ["sh", "-c", "echo hi; echo err >&2; exit 3"]},
                        {"NetworkMode": "none"})["Id"]
    assert engine.inspect("hello")["State"]["Status"] == "created"
    pid = engine.start("hello")
    assert pid > 0
    assert engine.wait(cid) == {"StatusCode": 3, "Error": None}
    info = engine.inspect(cid)
    assert info["State"]["Status"] == "exited" and info["State"]["ExitCode"] == 3
    assert info["State"]["FinishedAt"] > info["State"]["StartedAt"] > info["Created"]
    log = Path(info["LogPath"]).read_text()
    assert '"log":"hi\\n","stream":"stdout"' in log and '"stream":"stderr"' in log
    assert not _mounted(str(roots.run_root))  # exited: the rootfs is unmounted
    engine.remove("hello")
    with pytest.raises(NotFound, match="No such container: hello"):
        engine.inspect("hello")
    assert not (roots.containers / cid).exists() and not (roots.run_containers / cid).exists()


def test_stop_sends_stop_signal_then_kill(engine: Any) -> None:
    # The shell ignores the stop signal: stop must fall back to SIGKILL after the timeout.
    engine.create("stubborn", {"Image": "busybox", "StopSignal": "SIGUSR1",
                               "Cmd": ["sh", "-c",
                                       "trap '' USR1 TERM; while :; do sleep 1; done"]},
                  {"NetworkMode": "none"})
    engine.start("stubborn")
    t = time.monotonic()
    engine.stop("stubborn", timeout=1)
    took = time.monotonic() - t
    state = engine.inspect("stubborn")["State"]
    assert state["ExitCode"] == 137 and not state["Running"]
    assert 0.9 < took < 10
    # A polite one exits on SIGTERM at once with its own code.
    loop = "trap 'exit 42' TERM; while :; do sleep 0.1; done"
    engine.create("polite", {"Image": "busybox", "Cmd": ["sh", "-c", loop]},
                  {"NetworkMode": "none"})
    engine.start("polite")
    time.sleep(0.3)
    engine.stop("polite", timeout=5)
    assert engine.inspect("polite")["State"]["ExitCode"] == 42


def test_name_conflict_and_rename(engine: Any) -> None:
    cid = engine.create("one", {"Image": "busybox", "Cmd": ["true"]},
                        {"NetworkMode": "none"})["Id"]
    with pytest.raises(AlreadyExists, match=f'"/one" is already in use by container "{cid}"'):
        engine.create("one", {"Image": "busybox", "Cmd": ["true"]}, {"NetworkMode": "none"})
    engine.rename("one", "two")
    assert engine.inspect("two")["Name"] == "/two"
    engine.create("one", {"Image": "busybox", "Cmd": ["true"]}, {"NetworkMode": "none"})
    with pytest.raises(AlreadyExists):
        engine.rename("one", "two")


def test_missing_and_non_executable_commands(engine: Any) -> None:
    engine.create("nf", {"Image": "busybox", "Cmd": ["nosuchcmd"]}, {"NetworkMode": "none"})
    with pytest.raises(CommandNotFound, match='exec: "nosuchcmd": executable file not found'):
        engine.start("nf")
    state = engine.inspect("nf")["State"]
    assert state["ExitCode"] == 127 and "executable file not found" in state["Error"]
    engine.create("ne", {"Image": "busybox", "Cmd": ["/etc/passwd"]}, {"NetworkMode": "none"})
    with pytest.raises(ExecFailed, match="permission denied"):
        engine.start("ne")
    assert engine.inspect("ne")["State"]["ExitCode"] == 126


def test_pause_unpause_kill_and_list(engine: Any) -> None:
    engine.create("sleeper", {"Image": "busybox", "Cmd": ["sleep", "60"],
                              "Labels": {"team": "a"}}, {"NetworkMode": "none"})
    engine.create("idle", {"Image": "busybox", "Cmd": ["true"]}, {"NetworkMode": "none"})
    engine.start("sleeper")
    rows = engine.list()
    assert [r["Names"] for r in rows] == [["/sleeper"]]
    assert rows[0]["Status"].startswith("Up ") and rows[0]["State"] == "running"
    assert [r["Names"][0] for r in engine.list(all=True)] == ["/idle", "/sleeper"]
    assert [r["Names"][0] for r in engine.list(filters={"label": ["team=a"]})] == ["/sleeper"]
    assert [r["Names"][0] for r in engine.list(filters={"status": ["created"]})] == ["/idle"]
    engine.pause("sleeper")
    state = engine.inspect("sleeper")["State"]
    assert state["Status"] == "paused" and state["Paused"] and state["Running"]
    with pytest.raises(Conflict):
        engine.pause("sleeper")
    engine.unpause("sleeper")
    assert engine.inspect("sleeper")["State"]["Status"] == "running"
    top = engine.top("sleeper")
    assert any("sleep 60" in " ".join(p) for p in top["Processes"])
    with pytest.raises(Conflict, match="cannot remove a running container"):
        engine.remove("sleeper")
    engine.kill("sleeper", "TERM")  # PID 1 without a handler ignores it (as in docker)
    time.sleep(0.3)
    assert engine.inspect("sleeper")["State"]["Running"]
    engine.kill("sleeper", "SIGKILL")
    assert engine.wait("sleeper")["StatusCode"] == 137
    with pytest.raises(Conflict, match="is not running"):
        engine.kill("sleeper")


def test_remove_force_and_auto_remove(engine: Any, roots: Roots) -> None:
    cid = engine.create("forced", {"Image": "busybox", "Cmd": ["sleep", "60"]},
                        {"NetworkMode": "none"})["Id"]
    pid = engine.start("forced")
    engine.remove("forced", force=True)
    assert not os.path.exists(f"/proc/{pid}")
    assert not (roots.containers / cid).exists()
    cid = engine.create("auto", {"Image": "busybox", "Cmd": ["true"]},
                        {"NetworkMode": "none", "AutoRemove": True})["Id"]
    engine.start("auto")
    engine.wait("auto")
    assert not (roots.containers / cid).exists()
    assert not _mounted(str(roots.run_root))


def test_image_defaults_and_flags_reach_the_process(engine: Any, images: Any) -> None:
    images.add("app", {"Entrypoint": ["/bin/sh", "-c"], "Cmd": ["echo default"],
                       "Env": ["FROM_IMAGE=1", "PATH=/usr/bin:/bin"], "WorkingDir": "/srv",
                       "User": "tester"})
    script = ("echo $FROM_IMAGE $MINE $PWD $(id -u):$(id -g) $(hostname); "
              "cat /proc/self/status | grep -E '^(CapEff|NoNewPrivs|Seccomp):'; "
              "ulimit -n; cat /etc/hostname; touch /probe 2>&1 || echo ro")
    engine.create("app1", {"Image": "app", "Cmd": [script], "Env": ["MINE=2"],
                           "Hostname": "box"},
                  {"NetworkMode": "none", "ReadonlyRootfs": True,
                   "SecurityOpt": ["no-new-privileges"],
                   "Ulimits": [{"Name": "nofile", "Soft": 1000, "Hard": 1000}]})
    engine.start("app1")
    assert engine.wait("app1")["StatusCode"] == 0
    out = _log_text(engine, "app1")
    lines = out.splitlines()
    assert lines[0] == "1 2 /srv 1000:1000 box"
    assert "CapEff:\t0000000000000000" in out  # non-root: no effective caps
    assert "NoNewPrivs:\t1" in out and "Seccomp:\t2" in out
    assert "1000" in lines and "box" in lines and lines[-1] == "ro"


def test_default_capabilities_and_privileged(engine: Any) -> None:
    with open("/proc/self/status") as f:
        ours = next(ln.split()[1] for ln in f if ln.startswith("CapBnd:"))
    for name, hc, want in (("plain", {}, "00000000a80425fb"),
                           ("priv", {"Privileged": True}, ours),
                           ("nocaps", {"CapDrop": ["ALL"]}, "0000000000000000")):
        engine.create(name, {"Image": "busybox",
                             "Cmd": ["sh", "-c", "grep CapEff /proc/self/status"]},
                      {"NetworkMode": "none", **hc})
        engine.start(name)
        assert engine.wait(name)["StatusCode"] == 0
        assert _log_text(engine, name).split()[-1] == want, name


def test_init_reaps_and_forwards(engine: Any) -> None:
    engine.create("withinit", {"Image": "busybox",
                               "Cmd": ["sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; exit 7"]},
                  {"NetworkMode": "none", "Init": True})
    engine.start("withinit")
    assert engine.wait("withinit")["StatusCode"] == 7
    assert _log_text(engine, "withinit").startswith("/dev/init -- sh -c")


def test_changes(engine: Any) -> None:
    engine.create("differ", {"Image": "busybox",
                             "Cmd": ["sh", "-c", "echo x > /tmp/new; rm /etc/group; "
                                     "echo y >> /etc/passwd"]},
                  {"NetworkMode": "none"})
    engine.start("differ")
    engine.wait("differ")
    changes = {c["Path"]: c["Kind"] for c in engine.changes("differ")}
    assert changes["/tmp/new"] == 1 and changes["/tmp"] == 0
    assert changes["/etc/group"] == 2 and changes["/etc/passwd"] == 0


def _log_text(engine: Any, ref: str) -> str:
    import json

    path = engine.inspect(ref)["LogPath"]
    return "".join(json.loads(line)["log"] for line in Path(path).read_text().splitlines())


def _until(check: Any, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_detached_containers_clean_up_after_themselves(engine: Any, roots: Roots) -> None:
    """Nobody calls the engine after start: the exit hook unmounts, and removes --rm."""
    kept = engine.create("kept", {"Image": "busybox", "Cmd": ["sh", "-c", "sleep 0.2"]},
                         {"NetworkMode": "none"})["Id"]
    gone = engine.create("gone", {"Image": "busybox", "Cmd": ["sh", "-c", "sleep 0.2"]},
                         {"NetworkMode": "none", "AutoRemove": True})["Id"]
    engine.start(kept)
    engine.start(gone)
    assert _until(lambda: not (roots.containers / gone).exists())
    assert _until(lambda: not _mounted(str(roots.run_root)))
    assert (roots.containers / kept).exists()
    assert not (roots.run_containers / gone).exists()
    state = json.loads((roots.containers / kept / "state.json").read_text())
    assert state["Status"] == "exited"


def test_network_modes_seccomp_and_devices(engine: Any) -> None:
    script = ("ls /sys/class/net | tr '\\n' ' '; echo; hostname; "
              "grep Seccomp: /proc/self/status; ls -l /dev/mynull 2>&1 | cut -c1")
    with open("/proc/sys/kernel/hostname") as f:
        host_name = f.read().strip()
    # Bridges and veths of test engines (named with a session token, "dyt…") come and
    # go while this runs (other tests' containers ending in the background).
    def stable(names: list[str]) -> list[str]:
        return sorted(n for n in names if not n.startswith("dyt"))

    host_links = stable(os.listdir("/sys/class/net"))
    engine.create("onhost", {"Image": "busybox", "Cmd": ["sh", "-c", script]},
                  {"NetworkMode": "host", "SecurityOpt": ["seccomp=unconfined"],
                   "Devices": [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/mynull",
                                "CgroupPermissions": "rwm"}]})
    engine.start("onhost")
    assert engine.wait("onhost")["StatusCode"] == 0
    links, name, seccomp, kind = _log_text(engine, "onhost").splitlines()
    assert stable(links.split()) == host_links and name == host_name
    assert seccomp.split() == ["Seccomp:", "0"] and kind == "c"
    engine.create("isolated", {"Image": "busybox", "Cmd": ["sh", "-c", script]},
                  {"NetworkMode": "none"})
    engine.start("isolated")
    assert engine.wait("isolated")["StatusCode"] == 0
    links, name, seccomp, kind = _log_text(engine, "isolated").splitlines()
    assert links.split() == ["lo"] and name == engine.inspect("isolated")["Id"][:12]
    assert seccomp.split() == ["Seccomp:", "2"] and kind == "l"  # no such device: ls error


def test_sharing_namespaces_with_the_host_and_other_containers(engine: Any) -> None:
    engine.create("first", {"Image": "busybox", "Cmd": ["sleep", "30"]},
                  {"NetworkMode": "none"})
    with pytest.raises(NotFound, match="No such container: ghost"):
        engine.create("joiner", {"Image": "busybox", "Cmd": ["true"]},
                      {"NetworkMode": "container:ghost"})
    engine.create("joiner", {"Image": "busybox", "Cmd": [
        "sh", "-c", "readlink /proc/self/ns/net; readlink /proc/self/ns/pid; ps -o comm"]},
        {"NetworkMode": "container:first", "PidMode": "container:first"})
    with pytest.raises(Conflict, match="cannot join network of a non running container"):
        engine.start("joiner")
    pid = engine.start("first")
    engine.start("joiner")
    assert engine.wait("joiner")["StatusCode"] == 0
    lines = _log_text(engine, "joiner").split()
    assert lines[:2] == [os.readlink(f"/proc/{pid}/ns/net"), os.readlink(f"/proc/{pid}/ns/pid")]
    assert "sleep" in lines  # the first container's process, seen from the second
    engine.create("hostpid", {"Image": "busybox", "Cmd": [
        "sh", "-c", "readlink /proc/self/ns/pid; hostname"]},
        {"NetworkMode": "none", "PidMode": "host", "UTSMode": "host"})
    engine.start("hostpid")
    assert engine.wait("hostpid")["StatusCode"] == 0
    ns, name = _log_text(engine, "hostpid").split()
    assert ns == os.readlink("/proc/self/ns/pid")
    assert name == Path("/proc/sys/kernel/hostname").read_text().strip()
