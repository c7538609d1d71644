"""run → stop → rm gives docker 20.10's container event sequence and attributes
(must-show 4), compared with a private dockerd's ``events --format '{{json .}}'``."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from dockyard.engine.events import read_events
from tests.integration.ops.conftest import eventually
from tests.support.dockerd import Dockerd

IMAGE = "busybox"


def _shape(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What must agree: keys, Type, Action, attributes (names and ids aside)."""
    out = []
    for ev in events:
        attrs = dict(ev["Actor"]["Attributes"])
        attrs.pop("name", None)
        out.append((tuple(ev), ev["Type"], ev["Action"], ev["status"], ev["from"],
                    tuple(sorted(ev["Actor"])), tuple(sorted(attrs.items())), ev["scope"],
                    type(ev["time"]), type(ev["timeNano"])))
    return out


@pytest.mark.peer
@pytest.mark.slow
def test_run_stop_rm_events_match_docker(dockerd: Dockerd, busybox_rootfs_template: Path,
                                         engine: Any) -> None:
    dockerd.import_rootfs(busybox_rootfs_template, IMAGE)
    since = time.time()
    dockerd.docker("run", "-d", "--name", "evt", "--network", "none", IMAGE, "sleep", "100")
    dockerd.docker("stop", "-t", "1", "evt")
    dockerd.docker("rm", "evt")
    until = time.time() + 0.5
    time.sleep(0.6)
    out = dockerd.docker("events", "--since", f"{since:.6f}", "--until", f"{until:.6f}",
                         "--filter", "type=container", "--filter", "container=evt",
                         "--format", "{{json .}}").stdout
    theirs = [json.loads(line) for line in out.splitlines() if line.strip()]

    cid = engine.create("evt", {"Image": IMAGE, "Cmd": ["sleep", "100"]},
                        {"NetworkMode": "none"})["Id"]
    engine.start(cid)
    engine.stop(cid, timeout=1)
    engine.remove(cid)
    ours = [e for e in read_events(engine.roots.root) if e.get("id") == cid]

    assert [e["Action"] for e in theirs] == ["create", "start", "kill", "kill", "die", "stop",
                                             "destroy"]
    assert _shape(ours) == _shape(theirs)
    assert all(e["Actor"]["Attributes"]["name"] == "evt" for e in ours)
    assert all(e["time"] == e["timeNano"] // 1_000_000_000 for e in ours)


def test_cli_prints_docker_lines_and_json(engine: Any) -> None:
    """``dockyard events`` with --since/--until, --filter and --format, as a command."""
    cid = engine.create("evcli", {"Image": "busybox", "Cmd": ["true"], "Labels": {"a": "1"}},
                        {"NetworkMode": "none"})["Id"]
    engine.start(cid)
    engine.wait(cid)
    engine.remove(cid)
    roots = engine.roots
    base = [sys.executable, "-m", "dockyard.cli.main", "--root", str(roots.root),
            "--run-root", str(roots.run_root), "events", "--since", "1m", "--until", "0s"]
    lines = subprocess.run([*base, "--filter", "event=die"], capture_output=True, text=True,
                           check=True, timeout=30).stdout.splitlines()
    assert len(lines) == 1
    assert lines[0].endswith(f"container die {cid} (a=1, exitCode=0, image=busybox, "
                             "name=evcli)")
    js = subprocess.run([*base, "--format", "{{json .}}", "--filter", "container=evcli"],
                        capture_output=True, text=True, check=True, timeout=30).stdout
    assert [json.loads(x)["Action"] for x in js.splitlines()] == ["create", "start", "die",
                                                                  "destroy"]
    bad = subprocess.run([*base, "--filter", "colour=red"], capture_output=True, text=True,
                         timeout=30)
    assert bad.returncode == 1 and "invalid filter 'colour'" in bad.stderr


def test_events_follow_live(engine: Any) -> None:
    roots = engine.roots
    proc = subprocess.Popen([sys.executable, "-m", "dockyard.cli.main", "--root",
                             str(roots.root), "--run-root", str(roots.run_root), "events",
                             "--format", "{{.Action}}"], stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)  # let it start following
        cid = engine.create(None, {"Image": "busybox", "Cmd": ["true"]},
                            {"NetworkMode": "none"})["Id"]
        engine.start(cid)
        assert proc.stdout is not None
        got = [proc.stdout.readline().strip() for _ in range(3)]
        assert got == ["create", "start", "die"]
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.peer
@pytest.mark.slow
def test_tag_and_rmi_events_match_docker(dockerd: Dockerd, busybox_rootfs_template: Path,
                                         tmp_path: Path) -> None:
    dockerd.import_rootfs(busybox_rootfs_template, IMAGE)
    since = time.time()
    dockerd.docker("tag", IMAGE, "dyev:1")
    dockerd.docker("rmi", "dyev:1")
    until = time.time() + 0.5
    time.sleep(0.6)
    out = dockerd.docker("events", "--since", f"{since:.6f}", "--until", f"{until:.6f}",
                         "--filter", "type=image", "--format", "{{json .}}").stdout
    theirs = [json.loads(line) for line in out.splitlines() if line.strip()]

    root, run_root = tmp_path / "root", tmp_path / "run"
    base = [sys.executable, "-m", "dockyard.cli.main", "--root", str(root), "--run-root",
            str(run_root)]
    for args in (["tag", IMAGE, "dyev:1"], ["rmi", "dyev:1"]):
        subprocess.run([*base, *args], check=True, capture_output=True, timeout=60)
    ours = list(read_events(root))

    def shape(evs: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [(tuple(e), e["Type"], e["Action"], e["id"].startswith("sha256:"),
                 sorted(e["Actor"]["Attributes"]),
                 e["Actor"]["Attributes"]["name"] == e["id"]) for e in evs]

    assert [e["Action"] for e in theirs] == ["tag", "untag"]
    assert shape(ours) == shape(theirs)
    assert ours[0]["Actor"]["Attributes"]["name"] == theirs[0]["Actor"]["Attributes"]["name"]


@pytest.mark.peer
@pytest.mark.slow
def test_rename_and_update_events_match_docker(dockerd: Dockerd, busybox_rootfs_template: Path,
                                               engine: Any) -> None:
    dockerd.import_rootfs(busybox_rootfs_template, IMAGE)
    since = time.time()
    dockerd.docker("create", "--name", "evr1", "--network", "none", IMAGE, "true")
    dockerd.docker("rename", "evr1", "evr2")
    dockerd.docker("update", "--restart", "always", "evr2")
    dockerd.docker("rm", "evr2")
    until = time.time() + 0.5
    time.sleep(0.6)
    out = dockerd.docker("events", "--since", f"{since:.6f}", "--until", f"{until:.6f}",
                         "--filter", "type=container", "--format", "{{json .}}").stdout
    theirs = [json.loads(line) for line in out.splitlines() if line.strip()]

    cid = engine.create("evr1", {"Image": IMAGE, "Cmd": ["true"]}, {"NetworkMode": "none"})["Id"]
    engine.rename(cid, "evr2")
    engine.update(cid, {"RestartPolicy": {"Name": "always", "MaximumRetryCount": 0}})
    engine.remove(cid)
    ours = [e for e in read_events(engine.roots.root) if e.get("id") == cid]
    assert [e["Action"] for e in theirs] == ["create", "rename", "update", "destroy"]
    assert [(e["Action"], e["Actor"]["Attributes"]) for e in ours] == \
        [(e["Action"], e["Actor"]["Attributes"]) for e in theirs]


@pytest.mark.peer
@pytest.mark.slow
def test_exec_events_match_docker(dockerd: Dockerd, busybox_rootfs_template: Path,
                                  engine: Any) -> None:
    dockerd.import_rootfs(busybox_rootfs_template, IMAGE)
    dockerd.docker("run", "-d", "--name", "evx", "--network", "none", IMAGE, "sleep", "60")
    try:
        since = time.time()
        dockerd.docker("exec", "evx", "sh", "-c", "exit 3", check=False)
        dockerd.docker("exec", "evx", "true")
        until = time.time() + 0.5
        time.sleep(0.6)
        out = dockerd.docker("events", "--since", f"{since:.6f}", "--until", f"{until:.6f}",
                             "--filter", "container=evx", "--format", "{{json .}}").stdout
    finally:
        dockerd.docker("rm", "-f", "evx", check=False)
    theirs = [json.loads(line) for line in out.splitlines() if line.strip()]
    cid = engine.create("evx", {"Image": IMAGE, "Cmd": ["sleep", "60"]},
                        {"NetworkMode": "none"})["Id"]
    engine.start(cid)
    start = time.time_ns()
    for cmd in (["sh", "-c", "exit 3"], ["true"]):
        engine.exec_start(engine.exec_create(cid, {"Cmd": cmd, "AttachStdout": True}))
    ours = [e for e in read_events(engine.roots.root, since_ns=start) if e.get("id") == cid]

    def shape(evs: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [(e["Action"], sorted(e["Actor"]["Attributes"]),
                 e["Actor"]["Attributes"].get("exitCode")) for e in evs]

    assert shape(ours) == shape(theirs)
    assert theirs[1]["Action"] == "exec_start: sh -c exit 3"


@pytest.mark.peer
@pytest.mark.slow
def test_health_check_events_match_docker(dockerd: Dockerd, busybox_rootfs_template: Path,
                                          engine: Any) -> None:
    """Each probe is an exec to dockerd (exec_create, exec_start, exec_die), then the
    status change."""
    dockerd.import_rootfs(busybox_rootfs_template, IMAGE)
    since = time.time()
    dockerd.docker("run", "-d", "--name", "evh", "--network", "none", "--health-cmd",
                   "exit 0", "--health-interval", "300ms", IMAGE, "sleep", "60")
    try:
        time.sleep(1.5)
        until = time.time()
        out = dockerd.docker("events", "--since", f"{since:.6f}", "--until", f"{until:.6f}",
                             "--filter", "container=evh", "--format", "{{json .}}").stdout
    finally:
        dockerd.docker("rm", "-f", "evh", check=False)
    theirs = [json.loads(line) for line in out.splitlines() if line.strip()][:6]
    cid = engine.create("evh", {"Image": IMAGE, "Cmd": ["sleep", "60"], "Healthcheck": {
        "Test": ["CMD-SHELL", "exit 0"], "Interval": 300_000_000}},
        {"NetworkMode": "none"})["Id"]
    engine.start(cid)
    ours = eventually(lambda: len(x := [e for e in read_events(engine.roots.root)
                                        if e.get("id") == cid]) >= 6 and x)[:6]

    def shape(evs: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [(e["Action"], sorted(e["Actor"]["Attributes"]),
                 e["Actor"]["Attributes"].get("exitCode")) for e in evs]

    assert shape(ours) == shape(theirs)
    assert theirs[2]["Action"] == "exec_create: /bin/sh -c exit 0"
    assert ours[2]["Actor"]["Attributes"]["execID"] == ours[4]["Actor"]["Attributes"]["execID"]
