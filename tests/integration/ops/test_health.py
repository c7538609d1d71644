"""Health checks run by the monitor in the container (must-show 1 and the hanging check)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from dockyard.engine.events import read_events
from dockyard.errors import InvalidArgument
from tests.integration.ops.conftest import eventually

MS = 1_000_000
NONE = {"NetworkMode": "none"}


def health(engine: Any, cid: str) -> dict[str, Any]:
    return engine.inspect(cid)["State"].get("Health") or {}


def exec_in(engine: Any, cid: str, *cmd: str) -> int:
    return int(engine.exec_start(engine.exec_create(cid, {"Cmd": list(cmd)})))


def run(engine: Any, image: str = "busybox", cmd: list[str] | None = None,
        health_cfg: dict[str, Any] | None = None, **host: Any) -> str:
    config: dict[str, Any] = {"Image": image, "Cmd": cmd or ["sleep", "60"]}
    if health_cfg is not None:
        config["Healthcheck"] = health_cfg
    cid = engine.create(None, config, {**NONE, **host})["Id"]
    engine.start(cid)
    return str(cid)


def test_image_healthcheck_goes_unhealthy_then_healthy(engine: Any, images: Any) -> None:
    interval = 300 * MS
    images.add("hc", {"Cmd": ["sleep", "60"], "Healthcheck": {
        "Test": ["CMD-SHELL", "echo probing; test -e /tmp/ok"], "Interval": interval,
        "Retries": 2}})
    cid = run(engine, "hc")
    assert health(engine, cid)["Status"] == "starting"
    assert "(health: starting)" in engine.list()[0]["Status"]
    h = eventually(lambda: (x := health(engine, cid))["Status"] == "unhealthy" and x)
    assert h["FailingStreak"] == 2
    assert [e["ExitCode"] for e in h["Log"]] == [1, 1]
    assert all(e["Output"] == "probing\n" for e in h["Log"])
    assert all(e["Start"] <= e["End"] and e["End"].endswith("Z") for e in h["Log"])
    assert "(unhealthy)" in engine.list()[0]["Status"]

    assert exec_in(engine, cid, "touch", "/tmp/ok") == 0
    fixed = time.monotonic()
    eventually(lambda: health(engine, cid)["Status"] == "healthy", timeout=5)
    # within one interval (plus the probe's own run time)
    assert time.monotonic() - fixed < interval / 1e9 + 0.7
    h = health(engine, cid)
    assert h["FailingStreak"] == 0 and h["Log"][-1]["ExitCode"] == 0
    assert "(healthy)" in engine.list()[0]["Status"]
    actions = eventually(lambda: (a := [e["Action"] for e in read_events(engine.roots.root)
                                        if e["id"] == cid and
                                        not e["Action"].startswith("exec_")])[3:] and a)
    assert actions[:4] == ["create", "start", "health_status: unhealthy",
                           "health_status: healthy"]


def test_log_keeps_five_and_trims_output(engine: Any) -> None:
    cid = run(engine, health_cfg={"Test": ["CMD-SHELL", "head -c 5000 /dev/zero | tr '\\0' x"],
                                  "Interval": 100 * MS})
    h = eventually(lambda: len((x := health(engine, cid)).get("Log", [])) == 5 and x,
                   timeout=15)
    assert h["Status"] == "healthy"
    assert all(e["Output"] == "x" * 4096 + "..." for e in h["Log"])
    time.sleep(0.5)
    assert len(health(engine, cid)["Log"]) == 5


def test_start_period_is_honoured(engine: Any) -> None:
    period = 1500 * MS
    cid = run(engine, health_cfg={"Test": ["CMD", "false"], "Interval": 100 * MS,
                                  "StartInterval": 100 * MS, "Retries": 1,
                                  "StartPeriod": period})
    started = time.monotonic()
    eventually(lambda: len(health(engine, cid).get("Log", [])) >= 3, timeout=5)
    if time.monotonic() - started < 1.2:
        h = health(engine, cid)
        assert h["Status"] == "starting" and h["FailingStreak"] == 0
    eventually(lambda: health(engine, cid)["Status"] == "unhealthy", timeout=5)
    assert time.monotonic() - started >= period / 1e9 - 0.1


def test_hanging_check_is_killed_at_its_timeout(engine: Any) -> None:
    cid = run(engine, health_cfg={"Test": ["CMD", "sleep", "30"], "Interval": 100 * MS,
                                  "Timeout": 300 * MS, "Retries": 2})
    h = eventually(lambda: (x := health(engine, cid))["Status"] == "unhealthy" and x,
                   timeout=10)
    assert {e["ExitCode"] for e in h["Log"]} == {-1}
    assert h["Log"][0]["Output"] == "Health check exceeded timeout (300ms)"
    # the hung probes are gone: only init and at most the probe now running
    pid = engine.inspect(cid)["State"]["Pid"]
    assert _ps_in(pid).count("sleep 30") <= 1, _ps_in(pid)


def _ps_in(pid: int) -> str:
    """Command lines of the processes in the pid namespace of ``pid``."""
    ns = os.readlink(f"/proc/{pid}/ns/pid")
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if os.readlink(f"/proc/{p}/ns/pid") == ns:
                    cmdline = Path(f"/proc/{p}/cmdline").read_bytes()
                    out.append(cmdline.replace(b"\0", b" ").decode())
            except OSError:
                pass
    return "\n".join(out)


def test_on_failure_restart_restarts_and_counts(engine: Any) -> None:
    cid = run(engine, health_cfg={"Test": ["CMD", "false"], "Interval": 200 * MS,
                                  "Retries": 1}, HealthOnFailure="restart")
    first = engine.inspect(cid)["State"]["Pid"]
    doc = eventually(lambda: (x := engine.inspect(cid))["RestartCount"] >= 1 and x,
                     timeout=10)
    assert doc["State"]["Running"]
    eventually(lambda: engine.inspect(cid)["State"]["Pid"] not in (0, first))
    eventually(lambda: engine.inspect(cid)["RestartCount"] >= 2, timeout=10)


@pytest.mark.parametrize(("action", "policy", "code"), [("kill", "no", 137),
                                                       ("stop", "unless-stopped", 143)])
def test_on_failure_kill_and_stop_end_it(engine: Any, action: str, policy: str,
                                         code: int) -> None:
    """kill ends it like an outside SIGKILL (the restart policy still applies: "no"
    here); stop is a user's stop, which even unless-stopped never undoes."""
    cmd = ["sh", "-c", "trap 'exit 143' TERM; sleep 60 & wait"]
    cid = run(engine, cmd=cmd, health_cfg={"Test": ["CMD", "false"], "Interval": 200 * MS,
                                           "Retries": 1},
              HealthOnFailure=action, RestartPolicy={"Name": policy})
    state = eventually(lambda: (s := engine.inspect(cid)["State"])["Status"] == "exited" and s,
                       timeout=10)
    assert state["ExitCode"] == code
    if action == "stop":  # a stop is never undone by the restart policy
        time.sleep(0.5)
        assert engine.inspect(cid)["State"]["Status"] == "exited"


def test_no_healthcheck_disables_the_images(engine: Any, images: Any) -> None:
    images.add("hc2", {"Cmd": ["sleep", "60"], "Healthcheck": {"Test": ["CMD", "false"],
                                                               "Interval": 100 * MS}})
    cid = run(engine, "hc2", health_cfg={"Test": ["NONE"]})
    time.sleep(0.4)
    assert "Health" not in engine.inspect(cid)["State"]


def test_ps_health_filter(engine: Any) -> None:
    sick = run(engine, health_cfg={"Test": ["CMD", "false"], "Interval": 100 * MS,
                                   "Retries": 1})
    plain = run(engine)
    eventually(lambda: health(engine, sick)["Status"] == "unhealthy")
    assert [c["Id"] for c in engine.list(filters={"health": ["unhealthy"]})] == [sick]
    assert [c["Id"] for c in engine.list(filters={"health": ["none"]})] == [plain]
    assert engine.list(filters={"health": ["healthy"]}) == []
    with pytest.raises(InvalidArgument, match="Unrecognised filter value for health: ill"):
        engine.list(filters={"health": ["ill"]})
