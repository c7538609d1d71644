"""cgroups logic without the kernel: path rules, detection, conversions, and the
v1/v2 resource-file mapping against a fake cgroupfs tree."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.errors import InvalidConfig
from dockyard.runtime.cgroups import (
    CgroupMode,
    HybridManager,
    NullManager,
    V1Manager,
    V2Manager,
    blkio_weight_to_io,
    manager_for,
    resolve_path,
    shares_to_weight,
    swap_to_v2,
    weight_to_shares,
)
from dockyard.runtime.cgroups.detect import Hierarchies, own_cgroups, parse_mountinfo

HYBRID_MOUNTINFO = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
99 31 0:32 / /mnt/again rw,relatime - cgroup cgroup rw,memory
"""
V2_MOUNTINFO = "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n"
V1_MOUNTINFO = "35 31 0:32 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n"


def test_parse_mountinfo_modes() -> None:
    h = parse_mountinfo(HYBRID_MOUNTINFO)
    assert h.mode == CgroupMode.HYBRID
    assert h.v1 == {"cpu": "/sys/fs/cgroup/cpu,cpuacct", "cpuacct": "/sys/fs/cgroup/cpu,cpuacct",
                    "cpuset": "/sys/fs/cgroup/cpuset", "memory": "/sys/fs/cgroup/memory"}
    assert h.unified == "/sys/fs/cgroup/unified"
    assert parse_mountinfo(V2_MOUNTINFO).mode == CgroupMode.V2
    assert parse_mountinfo(V1_MOUNTINFO).mode == CgroupMode.V1
    assert parse_mountinfo("").v1 == {}


def test_mount_roots_are_taken_off_relative_paths() -> None:
    # Inside a container: the memory mount shows /docker/abc at its mount point.
    text = ("35 31 0:32 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
            "41 31 0:38 /docker/abc /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n")
    h = parse_mountinfo(text)
    assert h.roots == {"memory": "/docker/abc", "": "/docker/abc"}
    own = {"memory": "/docker/abc/sub", "": "/docker/abc"}
    m = manager_for("rel", "c1", hier=h, own=own)
    assert isinstance(m, HybridManager)
    assert m.v1.paths["memory"] == "/sys/fs/cgroup/memory/sub/rel"
    assert m.v2.path == "/sys/fs/cgroup/unified/rel"
    m = manager_for("/abs", "c1", hier=h, own=own)
    assert m.v1.paths["memory"] == "/sys/fs/cgroup/memory/abs"  # type: ignore[attr-defined]


def test_own_cgroups() -> None:
    text = "4:memory:/a/b\n2:cpu,cpuacct:/c\n1:name=systemd:/\n0::/u\n"
    assert own_cgroups(text) == {"memory": "/a/b", "cpu": "/c", "cpuacct": "/c",
                                 "name=systemd": "/", "": "/u"}


@pytest.mark.parametrize(("path", "own", "want"), [
    ("/dockyard/abc", "/ignored", "/dockyard/abc"),
    ("dockyard/abc", "/runtime/cg", "/runtime/cg/dockyard/abc"),
    ("", "/runtime/cg", "/runtime/cg/c1"),
    (None, "/", "/c1"),
    ("/a/../../../etc", "/", "/etc"),
    ("../../x", "/own", "/own/x"),
    ("/a//b/./c/", "/", "/a/b/c"),
])
def test_resolve_path_follows_runcs_rules(path: str | None, own: str, want: str) -> None:
    assert resolve_path(path, "c1", own) == want


@pytest.mark.parametrize(("path", "cid", "message"), [
    ("system.slice:docker:abc", "c1", "linux.cgroupsPath: system.slice:docker:abc is "
     "systemd's slice:prefix:name form; only the cgroupfs driver is supported"),
    ("/", "c1", "linux.cgroupsPath: / names the hierarchy root"),
    ("/a/..", "c1", "linux.cgroupsPath: /a/.. names the hierarchy root"),
    ("", "../x", "container id: not usable as a cgroup name: ../x"),
    ("a\nb", "c1", "linux.cgroupsPath: contains a nul or newline"),
    (5, "c1", "linux.cgroupsPath: must be a string"),
])
def test_resolve_path_refuses(path: Any, cid: str, message: str) -> None:
    with pytest.raises(InvalidConfig) as e:
        resolve_path(path, cid, "/")
    assert str(e.value) == message


def test_manager_for_each_mode() -> None:
    own = {"memory": "/me", "cpu": "/", "cpuacct": "/", "cpuset": "/", "": "/u"}
    hybrid = manager_for("rel", "c1", hier=parse_mountinfo(HYBRID_MOUNTINFO), own=own)
    assert isinstance(hybrid, HybridManager)
    assert hybrid.v1.paths["memory"] == "/sys/fs/cgroup/memory/me/rel"
    assert hybrid.v1.paths["cpu"] == "/sys/fs/cgroup/cpu,cpuacct/rel"
    assert hybrid.v2.path == "/sys/fs/cgroup/unified/u/rel"
    assert not hybrid.v2.enable_all
    v2 = manager_for("/x/y", "c1", hier=parse_mountinfo(V2_MOUNTINFO), own=own)
    assert isinstance(v2, V2Manager) and v2.path == "/sys/fs/cgroup/x/y" and v2.enable_all
    v1 = manager_for("/x", "c1", hier=parse_mountinfo(V1_MOUNTINFO), own=own)
    assert isinstance(v1, V1Manager) and v1.paths == {"pids": "/sys/fs/cgroup/pids/x"}
    assert isinstance(manager_for("/x", "c1", hier=Hierarchies(), own=own), NullManager)


# Conversions -----------------------------------------------------------------------

def test_shares_weight_fixed_points() -> None:
    assert shares_to_weight(2) == 1
    assert shares_to_weight(1024) == 39
    assert shares_to_weight(262144) == 10000
    assert shares_to_weight(0) == 0
    assert weight_to_shares(0) == 0
    assert weight_to_shares(1) == 2
    assert weight_to_shares(10000) == 262144


@given(st.integers(min_value=2, max_value=262144), st.integers(min_value=2, max_value=262144))
def test_shares_to_weight_is_monotonic_and_in_range(a: int, b: int) -> None:
    wa, wb = shares_to_weight(a), shares_to_weight(b)
    assert 1 <= wa <= 10000
    assert (a <= b) <= (wa <= wb)


@given(st.integers(min_value=1, max_value=10000))
def test_weight_shares_round_trip(w: int) -> None:
    assert shares_to_weight(weight_to_shares(w)) == w


@given(st.integers(min_value=2, max_value=262144))
def test_shares_survive_a_round_trip_within_one_weight_step(s: int) -> None:
    back = weight_to_shares(shares_to_weight(s))
    assert abs(back - s) <= 262142 // 9999 + 1


@given(st.integers(min_value=-10**6, max_value=10**7))
def test_out_of_range_shares_are_clamped(s: int) -> None:
    if s != 0:
        assert 1 <= shares_to_weight(s) <= 10000


def test_blkio_weight_and_swap() -> None:
    assert blkio_weight_to_io(10) == 1 and blkio_weight_to_io(1000) == 10000
    assert blkio_weight_to_io(500) == 1 + 490 * 9999 // 990
    assert swap_to_v2(None, 100) is None and swap_to_v2(0, 100) is None
    assert swap_to_v2(-1, 100) == -1
    assert swap_to_v2(300, 100) == 200
    with pytest.raises(InvalidConfig, match=r"swap: 50 is below memory.limit 100"):
        swap_to_v2(50, 100)
    with pytest.raises(InvalidConfig, match=r"swap: needs memory.limit on cgroup v2"):
        swap_to_v2(50, None)


# Fake v1 tree ------------------------------------------------------------------------

V1_FILES = {
    "memory": ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes",
               "memory.soft_limit_in_bytes", "memory.swappiness", "memory.oom_control",
               "memory.kmem.tcp.limit_in_bytes"],
    "cpu": ["cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.cfs_burst_us",
            "cpu.rt_period_us", "cpu.rt_runtime_us", "cpu.idle"],
    "cpuset": ["cpuset.cpus", "cpuset.mems"],
    "pids": ["pids.max"],
    "blkio": ["blkio.weight", "blkio.weight_device", "blkio.throttle.read_bps_device",
              "blkio.throttle.write_iops_device"],
    "freezer": ["freezer.state"],
    "devices": ["devices.allow", "devices.deny"],
    "hugetlb": ["hugetlb.2MB.limit_in_bytes", "hugetlb.1GB.limit_in_bytes"],
    "net_cls": ["net_cls.classid"],
    "net_prio": ["net_prio.ifpriomap"],
}


def _fake_v1(root: Path, files: dict[str, list[str]] = V1_FILES) -> V1Manager:
    paths = {}
    for ctrl, names in files.items():
        d = root / ctrl / "parent" / "c1"
        d.mkdir(parents=True)
        for n in [*names, "cgroup.procs"]:
            (d / n).write_text("")
        paths[ctrl] = str(d)
    return V1Manager(paths)


def _read(path: str, name: str) -> str:
    return (Path(path) / name).read_text()


def test_v1_resource_file_mapping(tmp_path: Path) -> None:
    m = _fake_v1(tmp_path)
    m.apply({
        "memory": {"limit": 33554432, "swap": 67108864, "reservation": 16777216,
                   "swappiness": 10, "disableOOMKiller": True, "kernelTCP": 1048576},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "burst": 1000,
                "cpus": "0-1", "mems": "0", "idle": 0},
        "pids": {"limit": 20},
        "blockIO": {"weight": 300, "weightDevice": [{"major": 8, "minor": 0, "weight": 200}],
                    "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
                    "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 100}]},
        "devices": [{"allow": False, "access": "rwm"},
                    {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rw"}],
        "hugepageLimits": [{"pageSize": "2MB", "limit": 2097152}],
        "network": {"classID": 0x100001, "priorities": [{"name": "eth0", "priority": 5}]},
    })
    mem, cpu, cs = m.paths["memory"], m.paths["cpu"], m.paths["cpuset"]
    assert _read(mem, "memory.limit_in_bytes") == "33554432"
    assert _read(mem, "memory.memsw.limit_in_bytes") == "67108864"
    assert _read(mem, "memory.soft_limit_in_bytes") == "16777216"
    assert _read(mem, "memory.swappiness") == "10"
    assert _read(mem, "memory.oom_control") == "1"
    assert _read(mem, "memory.kmem.tcp.limit_in_bytes") == "1048576"
    assert _read(cpu, "cpu.cfs_quota_us") == "50000"
    assert _read(cpu, "cpu.cfs_period_us") == "100000"
    assert _read(cpu, "cpu.cfs_burst_us") == "1000"
    assert _read(cpu, "cpu.idle") == "0"
    assert _read(cs, "cpuset.cpus") == "0-1" and _read(cs, "cpuset.mems") == "0"
    assert _read(m.paths["pids"], "pids.max") == "20"
    blk = m.paths["blkio"]
    assert _read(blk, "blkio.weight") == "300"
    assert _read(blk, "blkio.weight_device") == "8:0 200"
    assert _read(blk, "blkio.throttle.read_bps_device") == "8:0 1048576"
    assert _read(blk, "blkio.throttle.write_iops_device") == "8:16 100"
    # Fake files keep only the last write; the real-hierarchy test checks the sequence.
    assert _read(m.paths["devices"], "devices.allow") == "c 1:3 rw"
    assert _read(m.paths["devices"], "devices.deny") == "a"
    assert _read(m.paths["hugetlb"], "hugetlb.2MB.limit_in_bytes") == "2097152"
    assert _read(m.paths["net_cls"], "net_cls.classid") == str(0x100001)
    assert _read(m.paths["net_prio"], "net_prio.ifpriomap") == "eth0 5"


def test_v1_unlimited_and_unset_values(tmp_path: Path) -> None:
    m = _fake_v1(tmp_path)
    m.apply({"memory": {"limit": -1, "swap": 0}, "pids": {"limit": -1},
             "cpu": {"shares": 0, "quota": -1}})
    assert _read(m.paths["memory"], "memory.limit_in_bytes") == "-1"
    assert _read(m.paths["memory"], "memory.memsw.limit_in_bytes") == ""
    assert _read(m.paths["pids"], "pids.max") == "max"
    assert _read(m.paths["cpu"], "cpu.shares") == ""
    assert _read(m.paths["cpu"], "cpu.cfs_quota_us") == "-1"


@pytest.mark.parametrize(("resources", "message"), [
    ({"memory": {"limit": "1g"}}, "linux.resources.memory.limit: must be an integer, got '1g'"),
    ({"memory": {"limit": -5}}, "linux.resources.memory.limit: must be at least -1, got -5"),
    ({"memory": {"limit": 100, "swap": 50}},
     "linux.resources.memory.swap: 50 is below memory.limit 100 (swap counts memory plus swap)"),
    ({"memory": {"swappiness": 101}}, "linux.resources.memory.swappiness: must be 0 to 100, "
     "got 101"),
    ({"memory": {"disableOOMKiller": "yes"}},
     "linux.resources.memory.disableOOMKiller: must be true or false"),
    ({"memory": []}, "linux.resources.memory: must be an object"),
    ({"cpu": {"idle": 2}}, "linux.resources.cpu.idle: must be at most 1, got 2"),
    ({"cpu": {"cpus": 3}}, "linux.resources.cpu.cpus: must be a string like \"0-2,4\""),
    ({"pids": {"limit": 1.5}}, "linux.resources.pids.limit: must be an integer, got 1.5"),
    ({"blockIO": {"weight": 5000}}, "linux.resources.blockIO.weight: must be at most 1000, "
     "got 5000"),
    ({"blockIO": {"throttleReadBpsDevice": [{"rate": 1}]}},
     "linux.resources.blockIO.throttleReadBpsDevice[0]: major and minor are required"),
    ({"devices": [{"allow": "yes"}]}, "linux.resources.devices[0].allow: must be true or false"),
    ({"devices": [{"allow": True, "type": "x"}]},
     "linux.resources.devices[0].type: must be a, c or b, got 'x'"),
    ({"devices": [{"allow": True, "type": "c", "access": "rwx"}]},
     "linux.resources.devices[0].access: must be letters of rwm, got 'rwx'"),
    ({"hugepageLimits": [{"pageSize": "3MB", "limit": 1}]},
     "linux.resources.hugepageLimits[0].pageSize: not a huge page size of this host: 3MB"),
    ({"unified": {"memory.max": "1"}}, "linux.resources.unified: needs cgroup v2"),
    ({"network": {"priorities": [{"name": "../x", "priority": 1}]}},
     "linux.resources.network.priorities[0].name: not an interface name: '../x'"),
    ({"network": {"classID": -1}}, "linux.resources.network.classID: must be at least 0"),
    ({"network": []}, "linux.resources.network: must be an object"),
])
def test_v1_bad_resources_name_the_field(tmp_path: Path, resources: dict[str, Any],
                                         message: str) -> None:
    m = _fake_v1(tmp_path)
    with pytest.raises(InvalidConfig) as e:
        m.apply(resources)
    assert str(e.value).startswith(message)


def test_v1_missing_file_or_controller_is_reported(tmp_path: Path) -> None:
    m = _fake_v1(tmp_path, {"memory": ["memory.limit_in_bytes"], "cpu": []})
    with pytest.raises(InvalidConfig) as e:
        m.apply({"memory": {"limit": 10, "swap": 20}})
    assert str(e.value).startswith("linux.resources.memory.swap: not supported on this host (")
    assert "memory.memsw.limit_in_bytes does not exist" in str(e.value)
    with pytest.raises(InvalidConfig) as e:
        m.apply({"pids": {"limit": 5}})
    assert str(e.value) == ("linux.resources.pids: the pids cgroup controller is not "
                            "available on this host")
    with pytest.raises(InvalidConfig) as e:
        m.apply({"network": {"classID": 5}})
    assert str(e.value) == ("linux.resources.network.classID: the net_cls cgroup "
                            "controller is not available on this host")


def test_v1_cpuset_create_copies_parent_sets(tmp_path: Path) -> None:
    top = tmp_path / "cpuset"
    top.mkdir()
    (top / "cpuset.cpus").write_text("0-1\n")
    (top / "cpuset.mems").write_text("0\n")
    mid = top / "parent"
    mid.mkdir()
    for d in (mid,):
        (d / "cpuset.cpus").write_text("")
        (d / "cpuset.mems").write_text("")
    leaf = mid / "c1"
    m = V1Manager({"cpuset": str(leaf)})
    # The fake fs does not create control files in new dirs: pre-make the leaf's.
    leaf.mkdir()
    (leaf / "cpuset.cpus").write_text("")
    (leaf / "cpuset.mems").write_text("")
    m.create()
    assert (mid / "cpuset.cpus").read_text() == "0-1"
    assert (leaf / "cpuset.cpus").read_text() == "0-1"
    assert (leaf / "cpuset.mems").read_text() == "0"


# Fake v2 tree ------------------------------------------------------------------------

def _fake_v2(root: Path, controllers: str = "cpuset cpu io memory hugetlb pids") -> V2Manager:
    (root / "parent" / "c1").mkdir(parents=True)
    for d in (root, root / "parent"):
        (d / "cgroup.controllers").write_text(controllers + "\n")
        (d / "cgroup.subtree_control").write_text("")
    leaf = root / "parent" / "c1"
    for n in ("memory.max", "memory.low", "memory.swap.max", "cpu.weight", "cpu.max",
              "cpu.max.burst", "cpu.idle", "cpuset.cpus", "cpuset.mems", "pids.max",
              "io.weight", "io.max", "hugetlb.2MB.max", "cgroup.procs", "memory.high"):
        (leaf / n).write_text("")
    (leaf / "cpu.max").write_text("max 100000\n")
    return V2Manager(str(leaf), str(root), enable_all=False)


def test_v2_resource_file_mapping(tmp_path: Path) -> None:
    m = _fake_v2(tmp_path)
    m.apply({
        "memory": {"limit": 33554432, "swap": 67108864, "reservation": 1048576},
        "cpu": {"shares": 1024, "quota": 50000, "cpus": "0", "mems": "0", "burst": 10},
        "pids": {"limit": 20},
        "blockIO": {"weight": 1000,
                    "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 4096}]},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
        "unified": {"memory.high": "30000000"},
    })
    leaf = m.path
    assert _read(leaf, "memory.max") == "33554432"
    assert _read(leaf, "memory.swap.max") == "33554432"  # v2 swap excludes memory
    assert _read(leaf, "memory.low") == "1048576"
    assert _read(leaf, "cpu.weight") == "39"
    assert _read(leaf, "cpu.max") == "50000 100000"
    assert _read(leaf, "cpu.max.burst") == "10"
    assert _read(leaf, "cpuset.cpus") == "0"
    assert _read(leaf, "pids.max") == "20"
    assert _read(leaf, "io.weight") == "default 10000"
    assert _read(leaf, "io.max") == "8:0 wbps=4096"
    assert _read(leaf, "hugetlb.2MB.max") == "4194304"
    assert _read(leaf, "memory.high") == "30000000"
    # Controllers were enabled top-down in every ancestor.
    enabled = _read(str(tmp_path), "cgroup.subtree_control").split()
    assert set(enabled) == {"+cpu", "+cpuset", "+hugetlb", "+io", "+memory", "+pids"}
    assert _read(str(tmp_path / "parent"), "cgroup.subtree_control") != ""


def test_v2_quota_keeps_the_period_and_unlimited(tmp_path: Path) -> None:
    m = _fake_v2(tmp_path)
    (Path(m.path) / "cpu.max").write_text("20000 50000\n")
    m.apply({"cpu": {"quota": -1}})
    assert _read(m.path, "cpu.max") == "max 50000"
    m.apply({"cpu": {"period": 200000}})
    assert _read(m.path, "cpu.max") == "max 200000"
    m.apply({"memory": {"limit": -1, "swap": -1}})
    assert _read(m.path, "memory.max") == "max"
    assert _read(m.path, "memory.swap.max") == "max"


@pytest.mark.parametrize(("resources", "message"), [
    ({"memory": {"limit": 1}}, "linux.resources: cgroup v2 controller not available on this "
     "host: memory"),
    ({"unified": {"../escape": "1"}}, "linux.resources.unified: not a cgroup file: ../escape"),
    ({"unified": {"cgroup.procs": "1"}}, "linux.resources.unified: not a cgroup file: "
     "cgroup.procs"),
    ({"network": {"classID": 1}}, "linux.resources.network: net_cls/net_prio are cgroup v1"),
])
def test_v2_bad_resources(tmp_path: Path, resources: dict[str, Any], message: str) -> None:
    m = _fake_v2(tmp_path, controllers="hugetlb")
    with pytest.raises(InvalidConfig) as e:
        m.apply(resources)
    assert str(e.value).startswith(message)


def test_v2_swappiness_and_rt_are_refused(tmp_path: Path) -> None:
    m = _fake_v2(tmp_path)
    with pytest.raises(InvalidConfig, match=r"memory.swappiness: not supported on cgroup v2"):
        m.apply({"memory": {"swappiness": 10}})
    with pytest.raises(InvalidConfig, match="realtimeRuntime: not supported on cgroup v2"):
        m.apply({"cpu": {"realtimeRuntime": 10}})


def test_hybrid_routes_hugetlb_and_unified_to_v2(tmp_path: Path) -> None:
    v1 = _fake_v1(tmp_path / "v1", {"memory": V1_FILES["memory"], "pids": ["pids.max"]})
    v2 = _fake_v2(tmp_path / "v2", controllers="hugetlb")
    m = HybridManager(v1, v2)
    m.apply({"memory": {"limit": 1 << 25}, "pids": {"limit": 7},
             "hugepageLimits": [{"pageSize": "2MB", "limit": 2097152}],
             "unified": {"hugetlb.2MB.max": "4194304"}})
    assert _read(v1.paths["memory"], "memory.limit_in_bytes") == str(1 << 25)
    assert _read(v1.paths["pids"], "pids.max") == "7"
    assert _read(v2.path, "hugetlb.2MB.max") == "4194304"  # unified wins: written last
    assert _read(v2.path, "memory.max") == ""  # memory stayed on the v1 side


def test_null_manager_refuses_real_limits() -> None:
    m = NullManager()
    m.apply({})
    m.apply({"memory": {}})
    with pytest.raises(InvalidConfig, match="no cgroup hierarchy is mounted"):
        m.apply({"pids": {"limit": 3}})
    assert m.pids() == [] and m.stats() == {} and m.oom_kill_count() == 0


# Properties ------------------------------------------------------------------------

_SEGMENT = st.sampled_from(["a", "b", "..", ".", "", "c d", "x.slice", "-", "é"])


@given(st.lists(_SEGMENT, max_size=8), st.booleans(), st.lists(_SEGMENT, max_size=4))
def test_resolved_paths_never_climb_out(parts: list[str], absolute: bool,
                                        own_parts: list[str]) -> None:
    path = ("/" if absolute else "") + "/".join(parts)
    own = "/" + "/".join(p for p in own_parts if p not in ("..", ".", ""))
    try:
        got = resolve_path(path, "c1", own)
    except InvalidConfig:
        return  # the hierarchy root itself, refused with a message
    assert got.startswith("/") and got != "/"
    assert ".." not in got.split("/") and "." not in got.split("/")
    assert "//" not in got
    if not path.startswith("/"):  # relative (an empty first part makes it absolute)
        assert got.startswith(own.rstrip("/") + "/") or own == "/"


@given(st.lists(st.fixed_dictionaries({
    "allow": st.booleans(),
    "type": st.sampled_from(["a", "c", "b", None]),
    "major": st.one_of(st.none(), st.just(-1), st.integers(0, 300)),
    "minor": st.one_of(st.none(), st.just(-1), st.integers(0, 300)),
    "access": st.sampled_from(["r", "rw", "rwm", "m", None]),
}), max_size=6))
def test_device_rules_always_render_kernel_syntax(rules: list[dict[str, Any]]) -> None:
    import re

    from dockyard.runtime.cgroups.devices_rules import parse_device_rules

    for rule in parse_device_rules(rules):
        assert re.fullmatch(r"a|[cb] (\*|\d+):(\*|\d+) [rwm]{1,3}", rule.line()), rule


def test_v2_stats_from_files(tmp_path: Path) -> None:
    m = _fake_v2(tmp_path)
    leaf = Path(m.path)
    (leaf / "cgroup.controllers").write_text("cpu memory pids\n")
    (leaf / "memory.current").write_text("4096\n")
    (leaf / "memory.peak").write_text("8192\n")
    (leaf / "memory.max").write_text("max\n")
    (leaf / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    (leaf / "memory.stat").write_text("anon 100\nfile 200\n")
    (leaf / "cpu.stat").write_text("usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n"
                                   "nr_periods 10\nnr_throttled 4\nthrottled_usec 70\n")
    (leaf / "pids.current").write_text("3\n")
    (leaf / "pids.max").write_text("max\n")
    st = m.stats()
    assert st["memory"]["usage"] == {"usage": 4096, "max": 8192, "failcnt": 3, "limit": -1}
    assert st["memory"]["oom_kill"] == 1 and st["memory"]["cache"] == 200
    assert st["cpu"]["usage"]["total"] == 1_500_000
    assert st["cpu"]["throttling"] == {"periods": 10, "throttledPeriods": 4,
                                       "throttledTime": 70_000}
    assert st["pids"] == {"current": 3, "limit": 0}
    assert m.oom_kill_count() == 1


def test_v1_stats_from_files(tmp_path: Path) -> None:
    m = _fake_v1(tmp_path, {"memory": ["memory.usage_in_bytes", "memory.oom_control"],
                            "cpuacct": ["cpuacct.usage", "cpuacct.usage_percpu",
                                        "cpuacct.stat"],
                            "pids": ["pids.current", "pids.max"]})
    Path(m.paths["memory"], "memory.usage_in_bytes").write_text("123\n")
    Path(m.paths["memory"], "memory.oom_control").write_text(
        "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    Path(m.paths["cpuacct"], "cpuacct.usage").write_text("999\n")
    Path(m.paths["cpuacct"], "cpuacct.usage_percpu").write_text("600 399 \n")
    Path(m.paths["cpuacct"], "cpuacct.stat").write_text("user 3\nsystem 1\n")
    Path(m.paths["pids"], "pids.current").write_text("1\n")
    Path(m.paths["pids"], "pids.max").write_text("20\n")
    st = m.stats()
    assert st["memory"]["usage"]["usage"] == 123 and st["memory"]["oom_kill"] == 2
    tick = 10**9 // os.sysconf("SC_CLK_TCK")
    assert st["cpu"]["usage"] == {"total": 999, "percpu": [600, 399], "kernel": tick,
                                  "user": 3 * tick}
    assert st["pids"] == {"current": 1, "limit": 20}
    assert m.oom_kill_count() == 2
