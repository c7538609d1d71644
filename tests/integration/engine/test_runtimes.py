"""The same container on each runtime of the table: runc, crun, and our own."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

HYBRID = os.path.isdir("/sys/fs/cgroup/unified") and os.path.isdir("/sys/fs/cgroup/memory")


@pytest.mark.parametrize("runtime", ["runc", "dockyard", "crun"])
def test_run_on_each_runtime(engine: Any, runtime: str) -> None:
    if runtime == "crun" and HYBRID:
        pytest.skip("crun 1.8 refuses hybrid cgroup hosts like this one (PEERS.md quirk 1)")
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
