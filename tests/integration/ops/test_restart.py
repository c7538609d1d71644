"""Restart policies run by the monitor, and ``system boot`` (must-show 2, crash loops)."""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import time
from typing import Any

import pytest

from dockyard.engine.events import read_events
from dockyard.engine.monitor.client import monitor_pid
from tests.integration.engine.conftest import cleanup_engine
from tests.integration.ops.conftest import eventually

NONE = {"NetworkMode": "none"}


def run(engine: Any, cmd: list[str], policy: str, retries: int = 0) -> str:
    cid = engine.create(None, {"Image": "busybox", "Cmd": cmd},
                        {**NONE, "RestartPolicy": {"Name": policy,
                                                   "MaximumRetryCount": retries}})["Id"]
    engine.start(cid)
    return str(cid)


def actions(engine: Any, cid: str) -> list[str]:
    return [str(e["Action"]) for e in read_events(engine.roots.root) if e.get("id") == cid]


def test_on_failure_3_stops_after_three_restarts(engine: Any) -> None:
    cid = run(engine, ["sh", "-c", "echo ran; exit 3"], "on-failure", 3)
    assert engine.wait(cid)["StatusCode"] == 3  # docker's wait ends at the first exit
    doc = eventually(lambda: (d := engine.inspect(cid))["State"]["Status"] == "exited" and d)
    assert doc["RestartCount"] == 3 and doc["State"]["Status"] == "exited"
    assert doc["State"]["ExitCode"] == 3 and not doc["State"]["Restarting"]
    assert actions(engine, cid) == ["create"] + ["start", "die"] * 4
    dies = [e for e in read_events(engine.roots.root) if e.get("id") == cid and
            e["Action"] == "die"]
    assert {e["Actor"]["Attributes"]["exitCode"] for e in dies} == {"3"}  # type: ignore[index]


def test_on_failure_leaves_a_clean_exit_alone(engine: Any) -> None:
    cid = run(engine, ["true"], "on-failure")
    assert engine.wait(cid)["StatusCode"] == 0
    time.sleep(0.3)
    assert engine.inspect(cid)["RestartCount"] == 0


def test_always_restarts_a_killed_process_but_not_a_stopped_one(engine: Any) -> None:
    cid = run(engine, ["sleep", "60"], "always")
    pid = engine.inspect(cid)["State"]["Pid"]
    os.kill(pid, signal.SIGKILL)  # from outside: not a user's stop
    state = eventually(lambda: (d := engine.inspect(cid))["RestartCount"] == 1 and
                       d["State"]["Running"] and d["State"]["Pid"] and d["State"])
    assert state["Pid"] != pid and state["Status"] == "running"
    engine.stop(cid, timeout=0)
    time.sleep(1.0)
    doc = engine.inspect(cid)
    assert doc["State"]["Status"] == "exited" and doc["RestartCount"] == 1
    # SIGTERM to a sleep as PID 1 does nothing; after the 0 s timeout comes SIGKILL
    assert actions(engine, cid)[-4:] == ["kill", "kill", "die", "stop"]


def test_a_users_kill_is_not_undone(engine: Any) -> None:
    cid = run(engine, ["sleep", "60"], "always")
    engine.kill(cid)
    time.sleep(0.8)
    assert engine.inspect(cid)["State"]["Status"] == "exited"


def test_stop_during_the_backoff_cancels_the_restart(engine: Any) -> None:
    cid = run(engine, ["false"], "always")
    eventually(lambda: engine.inspect(cid)["RestartCount"] >= 4, timeout=15)
    started = time.monotonic()
    engine.stop(cid, timeout=1)
    assert time.monotonic() - started < 3
    count = engine.inspect(cid)["RestartCount"]
    time.sleep(1.0)
    doc = engine.inspect(cid)
    assert doc["State"]["Status"] == "exited" and doc["RestartCount"] == count


def _reboot(engine: Any) -> None:
    """What a machine restart leaves: no monitors, no init, an empty run root (the
    monitors die first, hard, so none records an exit)."""
    for run_dir in engine.roots.run_containers.iterdir():
        pid = monitor_pid(run_dir)
        if pid:
            os.kill(pid, signal.SIGKILL)
            eventually(lambda p=pid: not os.path.exists(f"/proc/{p}"))
    cleanup_engine(engine.roots)
    shutil.rmtree(engine.roots.run_root)


def test_boot_brings_back_always_and_unless_stopped_but_not_a_stopped_one(
        engine: Any) -> None:
    always = run(engine, ["sleep", "60"], "always")
    unless = run(engine, ["sleep", "60"], "unless-stopped")
    stopped = run(engine, ["sleep", "60"], "unless-stopped")
    never = run(engine, ["sleep", "60"], "no")
    engine.stop(stopped, timeout=0)
    _reboot(engine)
    assert not any(monitor_pid(engine.roots.run_containers / c) for c in (always, unless))
    started = {cid for cid, err in engine.boot() if not err}
    assert started == {always, unless}
    for cid in (always, unless):
        assert engine.inspect(cid)["State"]["Running"]
    for cid in (stopped, never):
        state = engine.inspect(cid)["State"]
        assert state["Status"] == "exited"
    assert engine.inspect(never)["State"]["Error"] == "container monitor died"


@pytest.mark.slow
def test_backoff_follows_dockers_schedule(engine: Any) -> None:
    """Gaps between a crash loop's die and next start grow as 100 ms doubling. Each gap is
    the delay plus the cost of a restart (delete, create, start), which on this shared
    machine varies by a tenth of a second or more; so, after removing the median cost,
    delays from 0.8 s up are checked within 20% of docker's, and every gap is at least
    its delay and at most the delay plus twice the median cost."""
    cid = run(engine, ["sh", "-c", "exit 1"], "always")
    eventually(lambda: len([a for a in actions(engine, cid) if a == "start"]) >= 7, timeout=30)
    engine.stop(cid, timeout=0)
    evs = [e for e in read_events(engine.roots.root) if e.get("id") == cid]
    dies = [int(e["timeNano"]) for e in evs if e["Action"] == "die"]
    starts = [int(e["timeNano"]) for e in evs if e["Action"] == "start"]
    gaps = [(s - d) / 1e9 for d, s in zip(dies, starts[1:], strict=False)][:6]
    expected = [0.1 * 2 ** i for i in range(len(gaps))]
    cost = statistics.median(g - e for g, e in zip(gaps, expected, strict=True))
    for gap, want in zip(gaps, expected, strict=True):
        if want >= 0.8:
            assert abs(gap - cost - want) <= 0.2 * want, (gaps, expected, cost)
        assert want <= gap <= want + 2 * cost + 0.05, (gaps, expected, cost)


@pytest.mark.slow
def test_a_crash_loop_does_not_spin_the_cpu(engine: Any) -> None:
    cid = run(engine, ["false"], "always")
    mon = eventually(lambda: monitor_pid(engine.run_dir(cid)))
    ticks = os.sysconf("SC_CLK_TCK")

    def cpu() -> float:
        with open(f"/proc/{mon}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks  # the monitor's own utime+stime

    before, t0 = cpu(), time.monotonic()
    time.sleep(4)
    used, elapsed = cpu() - before, time.monotonic() - t0
    restarts = engine.inspect(cid)["RestartCount"]
    assert used / elapsed < 0.15, (used, elapsed)
    assert restarts <= 12  # 100 ms doubling: about log2(elapsed/0.1)+1 restarts


def test_update_restart_applies_to_a_running_container(engine: Any) -> None:
    cid = run(engine, ["sleep", "60"], "no")
    engine.update(cid, {"RestartPolicy": {"Name": "always", "MaximumRetryCount": 0}})
    pid = engine.inspect(cid)["State"]["Pid"]
    os.kill(pid, signal.SIGKILL)
    eventually(lambda: engine.inspect(cid)["RestartCount"] == 1 and
               engine.inspect(cid)["State"]["Running"])
    assert engine.inspect(cid)["HostConfig"]["RestartPolicy"]["Name"] == "always"


def test_oom_kill_gives_an_oom_event_before_die(engine: Any) -> None:
    cid = engine.create(None, {"Image": "busybox", "Cmd": [
        "sh", "-c", "dd if=/dev/zero of=/dev/shm/x bs=1M count=64"]},
        {**NONE, "Memory": 16 << 20, "MemorySwap": 16 << 20, "ShmSize": 128 << 20})["Id"]
    engine.start(cid)
    engine.wait(cid)
    state = engine.inspect(cid)["State"]
    assert state["OOMKilled"], state
    evs = eventually(lambda: (a := actions(engine, cid))[-1] == "die" and a)
    assert evs[-2:] == ["oom", "die"]


def test_wait_and_a_foreground_run_end_at_the_first_exit(
        engine: Any, roots: Any, capfd: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """As in docker: a restart ends waiters and attach streams with that exit's code;
    the container goes on restarting."""
    cid = run(engine, ["sh", "-c", "sleep 0.3; exit 3"], "always")
    started = time.monotonic()
    assert engine.wait(cid, "next-exit")["StatusCode"] == 3
    assert time.monotonic() - started < 5
    eventually(lambda: engine.inspect(cid)["RestartCount"] >= 2)
    engine.stop(cid, timeout=0)

    from dockyard.cli.main import main

    monkeypatch.setenv("DOCKYARD_CGROUP_PARENT", engine.lc.cgroup_parent)
    code = main(["--root", str(roots.root), "--run-root", str(roots.run_root), "run",
                 "--name", "fg", "--network", "none", "--restart", "always", "busybox", "sh",
                 "-c", "echo out; exit 4"])
    assert code == 4
    assert "out" in capfd.readouterr().out
    eventually(lambda: engine.inspect("fg")["RestartCount"] >= 1)
