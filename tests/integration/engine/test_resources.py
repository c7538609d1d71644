"""Resource flags reach the kernel: the container's cgroup files, read from the host."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from typing import Any

import pytest

MB = 1024 * 1024
CG = Path("/sys/fs/cgroup")


def _cg(controller: str, parent: str, cid: str, name: str) -> str:
    return (CG / controller / parent / cid / name).read_text().strip()


@pytest.fixture
def v1(cgroup_parent: str) -> None:
    if (CG / "cgroup.controllers").exists():
        pytest.skip("the host uses cgroup v2: these paths are the v1 layout")


def test_limits_land_in_cgroups_and_update_changes_them(
        engine: Any, cgroup_parent: str, v1: None) -> None:
    dev = next((f"/dev/{n}" for n in sorted(os.listdir("/dev"))
                if stat.S_ISBLK(os.stat(f"/dev/{n}").st_mode)), None)
    if dev is None:
        pytest.skip("no block device on this host for --device-read-bps")
    major, minor = os.major(os.stat(dev).st_rdev), os.minor(os.stat(dev).st_rdev)
    cid = engine.create("limited", {"Image": "busybox", "Cmd": ["sleep", "30"]},
                        {"NetworkMode": "none", "Memory": 64 * MB,
                         "MemoryReservation": 32 * MB, "NanoCpus": 500_000_000,
                         "CpuShares": 512, "CpusetCpus": "0", "PidsLimit": 20,
                         "BlkioDeviceReadBps": [{"Path": dev, "Rate": MB}]})["Id"]
    engine.start(cid)
    assert _cg("memory", cgroup_parent, cid, "memory.limit_in_bytes") == str(64 * MB)
    assert _cg("memory", cgroup_parent, cid, "memory.soft_limit_in_bytes") == str(32 * MB)
    assert _cg("memory", cgroup_parent, cid, "memory.memsw.limit_in_bytes") == \
        str(128 * MB) or not (CG / "memory" / "memory.memsw.limit_in_bytes").exists()
    assert _cg("cpu", cgroup_parent, cid, "cpu.cfs_quota_us") == "50000"
    assert _cg("cpu", cgroup_parent, cid, "cpu.cfs_period_us") == "100000"
    assert _cg("cpu", cgroup_parent, cid, "cpu.shares") == "512"
    assert _cg("cpuset", cgroup_parent, cid, "cpuset.cpus") == "0"
    assert _cg("pids", cgroup_parent, cid, "pids.max") == "20"
    assert f"{major}:{minor} 1048576" in _cg("blkio", cgroup_parent, cid,
                                            "blkio.throttle.read_bps_device")
    warnings = engine.update(cid, {"Memory": 96 * MB, "MemorySwap": 192 * MB,
                                   "PidsLimit": 30})
    assert warnings == []
    assert _cg("memory", cgroup_parent, cid, "memory.limit_in_bytes") == str(96 * MB)
    assert _cg("pids", cgroup_parent, cid, "pids.max") == "30"
    assert engine.inspect(cid)["HostConfig"]["Memory"] == 96 * MB


def test_pids_limit_stops_a_fork_bomb(engine: Any) -> None:
    engine.create("bomb", {"Image": "busybox",
                           "Cmd": ["sh", "-c", "for i in $(seq 40); do sleep 5 & done; "
                                   "wait; echo done"]},
                  {"NetworkMode": "none", "PidsLimit": 10})
    engine.start("bomb")
    engine.wait("bomb")
    path = Path(engine.inspect("bomb")["LogPath"])
    assert "can't fork" in path.read_text() or "Resource temporarily" in path.read_text()


def test_restart_and_wait_conditions(engine: Any, roots: Any) -> None:
    cid = engine.create("again", {"Image": "busybox", "Cmd": ["sleep", "30"]},
                        {"NetworkMode": "none"})["Id"]
    first = engine.start(cid)
    second = engine.restart(cid, timeout=0)
    assert second != first and engine.inspect(cid)["State"]["Running"]
    engine.kill(cid)
    assert engine.wait(cid, "not-running") == {"StatusCode": 137, "Error": None}
    assert engine.wait(cid, "not-running")["StatusCode"] == 137  # already stopped
    engine.create("gone", {"Image": "busybox", "Cmd": ["sh", "-c", "sleep 0.3; exit 4"]},
                  {"NetworkMode": "none", "AutoRemove": True})
    engine.start("gone")
    t = time.monotonic()
    assert engine.wait("gone", "removed")["StatusCode"] == 4
    assert time.monotonic() - t < 10
    assert [r["Names"] for r in engine.list(all=True)] == [["/again"]]
