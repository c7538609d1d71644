"""The v1 and v2 managers against the kernel's own cgroupfs: the hybrid hierarchy of
this host for v1, and a cgroup2 mount the test makes for v2."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.errors import InvalidConfig
from dockyard.runtime.cgroups import (
    Hierarchies,
    HybridManager,
    V1Manager,
    V2Manager,
    hierarchies,
    manager_for,
)
from dockyard.runtime.cgroups.base import remove_tree

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
H = hierarchies()


def _mounts() -> list[str]:
    return sorted(set(H.v1.values()) | ({H.unified} if H.unified else set()))


@pytest.fixture
def cg_path(cgroup_parent: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh absolute cgroupsPath under the session's parent; removed afterwards."""
    name = f"/{cgroup_parent}/{request.node.name[:40].replace('[', '-').rstrip(']')}"
    yield name
    remove_tree([os.path.join(m, name.lstrip("/")) for m in _mounts()])
    for m in _mounts():
        try:
            os.rmdir(os.path.join(m, cgroup_parent))
        except OSError:
            pass  # still used by another test, or never made


def _kernel(path: str, name: str) -> str:
    return Path(path, name).read_text().strip()


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    p = subprocess.Popen(["sleep", "60"])
    yield p
    p.kill()
    p.wait()


def test_host_is_hybrid_with_hugetlb_on_the_unified_side() -> None:
    assert H.unified == "/sys/fs/cgroup/unified"
    assert "hugetlb" in H.unified_controllers
    assert "hugetlb" not in H.v1
    assert {"memory", "cpu", "pids", "freezer", "cpuset", "blkio"} <= set(H.v1)


def test_v1_files_in_the_real_hierarchy(cg_path: str, sleeper: subprocess.Popen[bytes]) -> None:
    m = manager_for(cg_path, "x")
    assert isinstance(m, HybridManager)
    m.create()
    m.add_pid(sleeper.pid)
    vda = Path("/sys/block/vda/dev").read_text().strip()
    major, minor = (int(x) for x in vda.split(":"))
    m.apply({
        "memory": {"limit": 33554432, "swap": 33554432, "reservation": 16777216},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
        "pids": {"limit": 20},
        "blockIO": {"throttleReadBpsDevice": [{"major": major, "minor": minor,
                                               "rate": 1048576}]},
        "devices": [{"allow": False, "access": "rwm"},
                    {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rw"},
                    {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"}],
    })
    p = m.v1.paths
    assert _kernel(p["memory"], "memory.limit_in_bytes") == "33554432"
    assert _kernel(p["memory"], "memory.memsw.limit_in_bytes") == "33554432"
    assert _kernel(p["memory"], "memory.soft_limit_in_bytes") == "16777216"
    assert _kernel(p["cpu"], "cpu.shares") == "512"
    assert _kernel(p["cpu"], "cpu.cfs_quota_us") == "50000"
    assert _kernel(p["cpu"], "cpu.cfs_period_us") == "100000"
    assert _kernel(p["cpuset"], "cpuset.cpus") == "0"
    assert _kernel(p["pids"], "pids.max") == "20"
    assert _kernel(p["blkio"], "blkio.throttle.read_bps_device") == f"{vda} 1048576"
    assert _kernel(p["devices"], "devices.list").split("\n") == ["c 1:3 rw", "c 1:5 rwm"]
    assert m.pids() == [sleeper.pid]
    assert str(sleeper.pid) in _kernel(m.v2.path, "cgroup.procs")
    stats = m.stats()
    assert stats["memory"]["usage"]["limit"] == 33554432
    assert stats["pids"] == {"current": 1, "limit": 20}
    assert stats["cpu"]["usage"]["total"] >= 0


def test_v1_memory_and_swap_in_either_direction(cg_path: str) -> None:
    m = manager_for(cg_path, "x")
    m.create()
    mem = m.v1.paths["memory"]  # type: ignore[attr-defined]
    for limit, swap in ((64 << 20, 128 << 20), (256 << 20, 256 << 20), (16 << 20, 16 << 20),
                        (-1, -1), (8 << 20, 8 << 20)):
        m.apply({"memory": {"limit": limit, "swap": swap}})
        want = str(limit) if limit > 0 else _kernel(os.path.dirname(mem),
                                                    "memory.limit_in_bytes")
        assert _kernel(mem, "memory.limit_in_bytes") == want


def test_kernel_refusals_name_the_field(cg_path: str) -> None:
    m = manager_for(cg_path, "x")
    m.create()
    with pytest.raises(InvalidConfig) as e:
        m.apply({"cpu": {"shares": 1}})
    assert str(e.value) == ("linux.resources.cpu.shares: the kernel clamped 1 to 2 "
                            "(allowed 2 to 262144)")
    with pytest.raises(InvalidConfig) as e:
        m.apply({"cpu": {"cpus": "63"}})
    assert str(e.value).startswith("linux.resources.cpu.cpus: the kernel refused 63 for "
                                   "/sys/fs/cgroup/cpuset/")
    # No blkio.weight on this kernel: the weight goes to bfq's file.
    m.apply({"blockIO": {"weight": 500}})
    assert _kernel(m.v1.paths["blkio"], "blkio.bfq.weight") == "500"  # type: ignore[attr-defined]


def test_v1_freeze_thaw_and_remove(cg_path: str, sleeper: subprocess.Popen[bytes]) -> None:
    m = manager_for(cg_path, "x")
    m.create()
    m.add_pid(sleeper.pid)
    m.freeze()
    assert m.frozen()
    m.thaw()
    assert not m.frozen()
    m.freeze()
    m.remove()  # thaws, kills and removes
    assert sleeper.wait(timeout=5) == -9
    for path in [*m.v1.paths.values(), m.v2.path]:  # type: ignore[attr-defined]
        assert not os.path.exists(path), path
    m.remove()  # idempotent


def test_remove_takes_nested_cgroups_and_their_processes(cg_path: str) -> None:
    m = manager_for(cg_path, "x")
    m.create()
    assert isinstance(m, HybridManager)
    inner = V1Manager({k: os.path.join(v, "inner") for k, v in m.v1.paths.items()})
    inner.create()
    p = subprocess.Popen(["sleep", "60"])
    try:
        inner.add_pid(p.pid)
        assert m.pids() == [p.pid]
        m.remove()
        assert p.wait(timeout=5) == -9
    finally:
        p.kill()
        p.wait()
    assert not any(os.path.exists(v) for v in m.v1.paths.values())


# v2 on a cgroup2 mount made by the test ---------------------------------------------

@pytest.fixture
def cgroup2(tmp_path: Path) -> Iterator[str]:
    """cgroup2 mounted at a temp dir (the one unified hierarchy, seen from here)."""
    mnt = tmp_path / "cg2"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "cgroup2", "none", str(mnt)], check=True)
    try:
        yield str(mnt)
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=True)


@pytest.fixture
def hugetlb_enabled(cgroup2: str, cg_path: str, cgroup_parent: str) -> Iterator[None]:
    """+hugetlb in the root's subtree_control for the test, restored afterwards."""
    ctl = os.path.join(cgroup2, "cgroup.subtree_control")
    before = Path(ctl).read_text().split()
    yield
    # The root can only drop hugetlb once no child enables it: remove ours first.
    remove_tree([os.path.join(cgroup2, cg_path.lstrip("/"))])
    try:
        os.rmdir(os.path.join(cgroup2, cgroup_parent))
    except OSError:
        pass
    if "hugetlb" not in before:
        try:
            Path(ctl).write_text("-hugetlb")
        except OSError:
            pass  # another cgroup still enables it below the root
    assert "hugetlb" not in Path(ctl).read_text().split() or "hugetlb" in before


def test_v2_on_our_own_mount(cgroup2: str, cg_path: str, hugetlb_enabled: None,
                             sleeper: subprocess.Popen[bytes]) -> None:
    path = os.path.join(cgroup2, cg_path.lstrip("/"))
    m = V2Manager(path, cgroup2, enable_all=False)
    m.create()
    assert os.path.isdir(os.path.join("/sys/fs/cgroup/unified", cg_path.lstrip("/")))
    m.add_pid(sleeper.pid)
    assert m.pids() == [sleeper.pid]
    m.apply({"hugepageLimits": [{"pageSize": "2MB", "limit": 4 << 20}]})
    assert _kernel(path, "hugetlb.2MB.max") == str(4 << 20)
    assert m.stats()["hugetlb"]["2MB"]["max"] == 4 << 20
    with pytest.raises(InvalidConfig) as e:
        m.apply({"memory": {"limit": 1 << 25}})
    assert str(e.value) == ("linux.resources: cgroup v2 controller not available on this "
                            "host: memory")
    # cgroup.freeze needs no controller.
    m.freeze()
    assert m.frozen()
    m.thaw()
    assert not m.frozen()
    m.remove()
    assert sleeper.wait(timeout=5) == -9
    assert not os.path.exists(path)


def test_pure_v2_mode_enables_every_controller(cgroup2: str, cg_path: str,
                                               hugetlb_enabled: None) -> None:
    # manager_for on a host whose only hierarchy is cgroup2 (our mount stands in).
    hier = Hierarchies(unified=cgroup2, unified_controllers=frozenset({"hugetlb"}),
                       roots={"": "/"})
    m = manager_for(cg_path, "x", hier=hier, own={"": "/"})
    assert isinstance(m, V2Manager) and m.enable_all
    m.create()
    parent = os.path.dirname(m.path)
    assert "hugetlb" in _kernel(cgroup2, "cgroup.subtree_control").split()
    assert "hugetlb" in _kernel(parent, "cgroup.subtree_control").split()
    assert "hugetlb" in _kernel(m.path, "cgroup.controllers").split()
    assert m.stats()["hugetlb"]["2MB"]["usage"] == 0
    m.remove()
    assert not os.path.exists(m.path)


def test_v2_freeze_stops_progress(cgroup2: str, cg_path: str) -> None:
    path = os.path.join(cgroup2, cg_path.lstrip("/"))
    m = V2Manager(path, cgroup2, enable_all=False)
    m.create()
    counter = subprocess.Popen(
        [sys.executable, "-c", "import sys,time\nwhile True:\n sys.stdout.write('.')\n"
         " sys.stdout.flush()\n time.sleep(0.005)"], stdout=subprocess.PIPE)
    try:
        m.add_pid(counter.pid)
        assert counter.stdout is not None
        os.set_blocking(counter.stdout.fileno(), False)
        time.sleep(0.2)
        m.freeze()
        time.sleep(0.05)
        counter.stdout.read()  # drain what was written before the freeze
        time.sleep(0.3)
        assert counter.stdout.read() in (None, b"")
        m.thaw()
        time.sleep(0.3)
        assert counter.stdout.read()
    finally:
        m.remove()
        counter.wait(timeout=5)


OPEN_PROBE = r"""
import os, sys, json
sys.stdin.buffer.read(1)
out = {}
probes = (("null_rw", "/dev/null", os.O_RDWR), ("zero_r", "/dev/zero", os.O_RDONLY),
          ("zero_w", "/dev/zero", os.O_WRONLY), ("full_r", "/dev/full", os.O_RDONLY))
for name, path, flags in probes:
    try:
        os.close(os.open(path, flags))
        out[name] = 0
    except OSError as e:
        out[name] = e.errno
print(json.dumps(out), flush=True)
"""


def test_v2_device_filter_in_the_kernel(cgroup2: str, cg_path: str) -> None:
    # The unified hierarchy takes BPF device programs with no controller enabled.
    import json

    from dockyard.runtime.cgroups.v2.devices import attached_programs

    path = os.path.join(cgroup2, cg_path.lstrip("/"))
    m = V2Manager(path, cgroup2, enable_all=False)
    m.create()
    rules = [{"allow": False, "access": "rwm"},
             {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
             {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "r"}]
    m.apply({"devices": rules})
    m.apply({"devices": rules})  # re-applying replaces the program, never stacks them
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert len(attached_programs(fd)) == 1
    finally:
        os.close(fd)
    p = subprocess.Popen([sys.executable, "-c", OPEN_PROBE], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
    try:
        m.add_pid(p.pid)
        out, _ = p.communicate(b"x", timeout=30)
    finally:
        p.kill()
        p.wait()
    got = json.loads(out)
    assert got == {"null_rw": 0, "zero_r": 0, "zero_w": 1, "full_r": 1}  # EPERM
    m.remove()
    assert not os.path.exists(path)


def test_hybrid_hugetlb_limits_give_the_host_root_back(cg_path: str) -> None:
    """Enabling hugetlb on the unified side is undone when the last user goes."""
    root = H.unified
    assert root is not None
    before = _kernel(root, "cgroup.subtree_control").split()
    limits = {"hugepageLimits": [{"pageSize": "2MB", "limit": 4 << 20}]}
    first, second = manager_for(cg_path + "/a", "a"), manager_for(cg_path + "/b", "b")
    for m in (first, second):
        m.create()
        m.apply(limits)
    here = os.path.join(root, cg_path.lstrip("/"))
    assert "hugetlb" in _kernel(root, "cgroup.subtree_control").split()
    assert _kernel(os.path.join(here, "b"), "hugetlb.2MB.max") == str(4 << 20)
    first.remove()
    # The second still limits huge pages: nothing is taken from under it.
    assert _kernel(os.path.join(here, "b"), "hugetlb.2MB.max") == str(4 << 20)
    second.remove()
    assert "hugetlb" not in _kernel(here, "cgroup.subtree_control").split()
    assert _kernel(root, "cgroup.subtree_control").split() == before
