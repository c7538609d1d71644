"""The same container on each runtime of the table: runc, crun, and our own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


@pytest.mark.parametrize("runtime", ["runc", "dockyard", "crun"])
def test_run_on_each_runtime(engine: Any, runtime: str) -> None:
    cid = engine.create(f"on-{runtime}", {"Image": "busybox", "Cmd": [
        "sh", "-c", "echo pid=$$; grep CapEff /proc/self/status; exit 3"]},
        {"NetworkMode": "none", "Runtime": runtime, "Memory": 64 << 20})["Id"]
    assert engine.inspect(cid)["HostConfig"]["Runtime"] == runtime
    engine.start(cid)
    assert engine.wait(cid)["StatusCode"] == 3
    lines = [json.loads(ln)["log"] for ln in
             Path(engine.inspect(cid)["LogPath"]).read_text().splitlines()]
    assert lines == ["pid=1\n", "CapEff:\t00000000a80425fb\n"]
    engine.remove(cid)


@pytest.mark.parametrize("runtime", ["runc", "dockyard", "crun"])
def test_pause_stop_and_remove_on_each_runtime(engine: Any, runtime: str) -> None:
    cid = engine.create(f"long-{runtime}", {"Image": "busybox", "Cmd": ["sleep", "30"]},
                        {"NetworkMode": "none", "Runtime": runtime})["Id"]
    engine.start(cid)
    engine.pause(cid)
    assert engine.inspect(cid)["State"]["Status"] == "paused"
    engine.unpause(cid)
    engine.stop(cid, timeout=0)
    state = engine.inspect(cid)["State"]
    assert state["Status"] == "exited" and state["ExitCode"] == 137
    engine.remove(cid)
    assert engine.list(all=True) == []


@pytest.mark.parametrize("runtime", ["runc", "dockyard", "crun"])
def test_exec_on_each_runtime(engine: Any, runtime: str) -> None:
    cid = engine.create(f"ex-{runtime}", {"Image": "busybox", "Cmd": ["sleep", "30"]},
                        {"NetworkMode": "none", "Runtime": runtime})["Id"]
    engine.start(cid)
    ok = engine.exec_create(cid, {"Cmd": ["sh", "-c", "test -d /proc/1 && exit 4"]})
    assert engine.exec_start(ok) == 4
    assert engine.exec_inspect(ok)["ExitCode"] == 4
    engine.remove(cid, force=True)
