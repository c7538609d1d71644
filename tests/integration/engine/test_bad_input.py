"""Bad input: docker's message, the right error class, and nothing left behind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dockyard.errors import (
    AlreadyExists,
    CommandNotFound,
    DockyardError,
    InvalidArgument,
    NotFound,
)
from dockyard.settings import Roots

MB = 1024 * 1024


def _leftovers(roots: Roots, cgroup_parent: str) -> list[str]:
    found = []
    if roots.containers.exists():
        found += [p.name for p in roots.containers.iterdir() if len(p.name) == 64]
    if roots.snapshots.exists():
        found += [f"snapshot {p.name}" for p in roots.snapshots.iterdir()]
    with open("/proc/self/mountinfo") as f:
        found += [ln.split()[4] for ln in f if str(roots.run_root) in ln]
    for top in Path("/sys/fs/cgroup").iterdir():
        parent = top / cgroup_parent
        if parent.is_dir():
            found += [str(p) for p in parent.iterdir() if p.is_dir()]
    if roots.run_containers.exists():
        found += [f"run dir {p.name}" for p in roots.run_containers.iterdir()]
    return found


@pytest.mark.parametrize("config, host, cls, message", [
    ({"Image": "nope:latest", "Cmd": ["true"]}, {}, NotFound, "No such image: nope:latest"),
    ({"Image": "busybox", "Cmd": ["true"]}, {"Memory": 4 * MB}, InvalidArgument,
     "Minimum memory limit allowed is 6MB"),
    ({"Image": "busybox", "Cmd": ["true"]}, {"CpusetCpus": "99"}, InvalidArgument,
     "Requested CPUs are not available"),
    ({"Image": "busybox", "Cmd": ["true"]}, {"CapAdd": ["NOPE"]}, InvalidArgument,
     'unknown capability: "CAP_NOPE"'),
    ({"Image": "busybox", "Cmd": ["true"]},
     {"Ulimits": [{"Name": "nofile", "Soft": 10**6, "Hard": 10**6}]}, InvalidArgument,
     "hard limit 1000000 is above"),
    ({"Image": "busybox", "Cmd": ["true"]}, {"Devices": [{"PathOnHost": "/dev/nope"}]},
     InvalidArgument, "error gathering device information"),
    ({"Image": "busybox", "Cmd": ["true"]}, {"Runtime": "kata"}, InvalidArgument,
     "unknown or invalid runtime name: kata"),
    ({"Image": "busybox", "Cmd": ["true"]}, {"LogConfig": {"Type": "syslog"}},
     InvalidArgument, "unknown log driver"),
    ({"Image": "busybox", "Entrypoint": [""]}, {}, InvalidArgument, "No command specified"),
    ({"Image": "busybox", "Cmd": ["true"], "Bogus": 1}, {}, InvalidArgument,
     "unknown field 'Bogus'"),
])
def test_bad_create_leaves_nothing(engine: Any, roots: Roots, cgroup_parent: str,
                                   config: dict[str, Any], host: dict[str, Any],
                                   cls: type[DockyardError], message: str) -> None:
    with pytest.raises(cls, match=message):
        engine.create("bad", config, {"NetworkMode": "none", **host})
    assert _leftovers(roots, cgroup_parent) == []
    # and the name was not taken
    engine.create("bad", {"Image": "busybox", "Cmd": ["true"]}, {"NetworkMode": "none"})


def test_bad_name_and_name_in_use_keep_the_first(engine: Any, roots: Roots) -> None:
    with pytest.raises(InvalidArgument, match=r"Invalid container name \(-x\)"):
        engine.create("-x", {"Image": "busybox", "Cmd": ["true"]}, {"NetworkMode": "none"})
    cid = engine.create("taken", {"Image": "busybox", "Cmd": ["echo", "first"]},
                        {"NetworkMode": "none"})["Id"]
    with pytest.raises(AlreadyExists, match=r"Conflict\. The container name"):
        engine.create("taken", {"Image": "busybox", "Cmd": ["true"]},
                      {"NetworkMode": "none"})
    assert [r["Id"] for r in engine.list(all=True)] == [cid]
    assert engine.inspect("taken")["Args"] == ["first"]


def test_missing_command_leaves_no_mount_cgroup_or_process(
        engine: Any, roots: Roots, cgroup_parent: str) -> None:
    cid = engine.create("nocmd", {"Image": "busybox", "Cmd": ["/no/such/thing"]},
                        {"NetworkMode": "none"})["Id"]
    with pytest.raises(CommandNotFound,
                       match='"/no/such/thing": stat /no/such/thing: no such file'):
        engine.start("nocmd")
    state = engine.inspect("nocmd")["State"]
    assert state["ExitCode"] == 127 and not state["Running"]
    assert _leftovers(roots, cgroup_parent) == [cid, f"snapshot {cid}", f"run dir {cid}"]
    assert not (roots.run_containers / cid / "monitor.pid").exists()
    engine.remove("nocmd")
    assert _leftovers(roots, cgroup_parent) == []


def test_unknown_container_and_unknown_user(engine: Any) -> None:
    for verb in ("start", "inspect", "remove", "stop", "kill", "pause", "wait"):
        with pytest.raises(NotFound, match="No such container: ghost"):
            getattr(engine, verb)("ghost")
    engine.create("who", {"Image": "busybox", "Cmd": ["true"], "User": "nobody2"},
                  {"NetworkMode": "none"})
    with pytest.raises(InvalidArgument, match="unable to find user nobody2"):
        engine.start("who")


def test_a_runtime_refusal_keeps_the_container_created(
        engine: Any, roots: Roots, cgroup_parent: str) -> None:
    from dockyard.errors import SystemFailure

    cid = engine.create("refused", {"Image": "busybox", "Cmd": ["true"]},
                        {"NetworkMode": "none", "Sysctls": {"kernel.no_such_knob": "1"}})["Id"]
    with pytest.raises(SystemFailure, match="no_such_knob"):
        engine.start("refused")
    state = engine.inspect("refused")["State"]
    assert (state["Status"], state["ExitCode"], state["Running"]) == ("created", 128, False)
    assert "no_such_knob" in state["Error"]
    assert _leftovers(roots, cgroup_parent) == [cid, f"snapshot {cid}", f"run dir {cid}"]
