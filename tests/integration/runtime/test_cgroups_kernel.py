"""cgroups on the real kernel with plain child processes placed in them (no runtime):
memory OOM, pids, cpu quota, freezer, and removal, on this host's hybrid layout."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.runtime.cgroups import CgroupManager, hierarchies, manager_for
from dockyard.runtime.cgroups.base import remove_tree

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def _mounts() -> list[str]:
    h = hierarchies()
    return sorted(set(h.v1.values()) | ({h.unified} if h.unified else set()))


@pytest.fixture
def cg(cgroup_parent: str, request: pytest.FixtureRequest) -> Iterator[CgroupManager]:
    """A created cgroup under the session's parent; everything in it is gone afterwards."""
    path = f"/{cgroup_parent}/{request.node.name[:40]}"
    m = manager_for(path, "c")
    m.create()
    yield m
    m.remove()
    remove_tree([os.path.join(mnt, path.lstrip("/")) for mnt in _mounts()])
    for mnt in _mounts():
        try:
            os.rmdir(os.path.join(mnt, cgroup_parent))
        except OSError:
            pass


def _gated(code: str, stdout: int | None = None) -> subprocess.Popen[bytes]:
    """A Python child that runs ``code`` once a byte arrives on its stdin."""
    return subprocess.Popen([sys.executable, "-c", "import sys\nsys.stdin.buffer.read(1)\n"
                             + code], stdin=subprocess.PIPE, stdout=stdout)


def _release(p: subprocess.Popen[bytes]) -> None:
    assert p.stdin is not None
    p.stdin.write(b"x")
    p.stdin.close()


def test_memory_limit_oom_kills_and_is_reported(cg: CgroupManager) -> None:
    cg.apply({"memory": {"limit": 32 << 20, "swap": 32 << 20}})
    assert cg.oom_kill_count() == 0
    p = _gated("x = b'\\1' * (200 << 20)\nprint('survived')", stdout=subprocess.PIPE)
    cg.add_pid(p.pid)
    _release(p)
    assert p.stdout is not None
    out = p.stdout.read()
    assert p.wait(timeout=30) == -9
    assert b"survived" not in out
    assert cg.oom_kill_count() == 1
    stats = cg.stats()["memory"]
    assert stats["oom_kill"] == 1
    assert stats["usage"]["max"] == stats["usage"]["limit"] == 32 << 20


def test_pids_max_stops_a_fork_bomb(cg: CgroupManager) -> None:
    cg.apply({"pids": {"limit": 20}})
    # A bounded bomb: 100 forks would succeed without the limit.
    bomb = ("import os, time\nn = 0\nfor _ in range(100):\n"
            "    try:\n        pid = os.fork()\n    except BlockingIOError:\n        break\n"
            "    if pid == 0:\n        time.sleep(60)\n        os._exit(0)\n    n += 1\n"
            "print(n, flush=True)\ntime.sleep(60)\n")
    p = _gated(bomb, stdout=subprocess.PIPE)
    try:
        cg.add_pid(p.pid)
        _release(p)
        assert p.stdout is not None
        forked = int(p.stdout.readline())
        assert forked == 19  # 20 processes in all, the parent included
        assert len(cg.pids()) == 20
        assert cg.stats()["pids"] == {"current": 20, "limit": 20}
    finally:
        cg.remove()
        p.wait(timeout=10)
    assert not os.path.exists(cg.v1.paths["pids"])  # type: ignore[attr-defined]


@pytest.mark.slow
def test_half_a_cpu_quota_holds_within_ten_percent(cg: CgroupManager) -> None:
    # The group competes with the host's other work as one scheduling entity: a high
    # cpu.shares lets it get its half CPU on a busy host; the quota still caps it.
    cg.apply({"cpu": {"quota": 50000, "period": 100000, "shares": 16384}})
    spinners = [_gated("while True:\n    pass\n") for _ in range(2)]
    windows: list[float] = []
    try:
        for p in spinners:
            cg.add_pid(p.pid)
        for p in spinners:
            _release(p)
        time.sleep(0.3)
        # The quota caps usage; a host busier than 1.5 CPUs of other work can also keep
        # it under 0.45, so a low window (never a high one) is measured again.
        for _ in range(3):
            u0, t0 = cg.stats()["cpu"]["usage"]["total"], time.monotonic()
            time.sleep(3)
            u1, t1 = cg.stats()["cpu"]["usage"]["total"], time.monotonic()
            windows.append((u1 - u0) / 1e9 / (t1 - t0))
            if windows[-1] >= 0.45:
                break
    finally:
        for p in spinners:
            p.kill()
            p.wait()
    assert max(windows) <= 0.55, f"used {windows} CPUs under a 0.5 CPU quota"
    assert windows[-1] >= 0.45, f"used {windows} CPUs: the host never gave 0.5 CPU"
    assert cg.stats()["cpu"]["throttling"]["throttledPeriods"] > 0


def test_freeze_stops_and_thaw_resumes(cg: CgroupManager) -> None:
    p = _gated("import time\nwhile True:\n    sys.stdout.write('.')\n    sys.stdout.flush()\n"
               "    time.sleep(0.005)\n", stdout=subprocess.PIPE)
    try:
        cg.add_pid(p.pid)
        _release(p)
        assert p.stdout is not None
        os.set_blocking(p.stdout.fileno(), False)
        time.sleep(0.2)
        cg.freeze()
        assert cg.frozen()
        time.sleep(0.05)
        p.stdout.read()
        time.sleep(0.3)
        assert p.stdout.read() in (None, b"")
        cg.thaw()
        assert not cg.frozen()
        time.sleep(0.3)
        assert p.stdout.read()
    finally:
        p.kill()
        p.wait()


def test_remove_kills_waits_and_leaves_no_directory(cg: CgroupManager,
                                                    cgroup_parent: str) -> None:
    children = [subprocess.Popen(["sleep", "60"]) for _ in range(3)]
    for c in children:
        cg.add_pid(c.pid)
    # A sub-cgroup made from inside, as a container with its own cgroup namespace may.
    nested = [os.path.join(p, "inner") for p in cg.v1.paths.values()]  # type: ignore[attr-defined]
    for d in nested:
        os.makedirs(d, exist_ok=True)
    cg.freeze()
    cg.remove()
    assert [c.wait(timeout=5) for c in children] == [-9, -9, -9]
    left = [os.path.join(m, root, name) for m in _mounts()
            for root, dirs, _ in os.walk(os.path.join(m, cgroup_parent)) for name in dirs]
    assert left == []


def test_the_init_joins_every_v1_hierarchy_and_the_unified_side_when_needed(
        runtime_cmd: list[str], tmp_path: Path, busybox_rootfs: Path,
        cgroup_parent: str) -> None:
    """The init moves itself into its v1 cgroups (tasks files); on the hybrid layout
    the unified side is joined for huge-page limits only."""
    import json

    from dockyard.runtime.cgroups import hierarchies
    from dockyard.runtime.spec import default_spec
    from tests.integration.runtime.conftest import run_cmd

    h = hierarchies()
    if not (h.v1 and h.unified):
        pytest.skip("not the hybrid layout (v1 hierarchies and a unified mount)")
    seen = {}
    for name, resources in (("plain", {}), ("huge", {"hugepageLimits": [
            {"pageSize": "2MB", "limit": 4 << 20}]})):
        bundle = tmp_path / name
        bundle.mkdir()
        config = default_spec(args=["cat", "/proc/self/cgroup"], terminal=False)
        config["process"].pop("rlimits")
        config["root"] = {"path": str(busybox_rootfs)}
        config["linux"]["cgroupsPath"] = f"/{cgroup_parent}/join-{name}-{os.getpid()}"
        config["linux"]["namespaces"] = [n for n in config["linux"]["namespaces"]
                                         if n["type"] != "cgroup"]
        config["linux"]["resources"] = resources
        (bundle / "config.json").write_text(json.dumps(config))
        r = run_cmd([*runtime_cmd, "--root", str(tmp_path / "state"), "run", "--bundle",
                     str(bundle), f"join-{name}"])
        assert r.returncode == 0, r.stderr
        lines = dict(line.split(":", 2)[1:] for line in r.stdout.splitlines())
        want = config["linux"]["cgroupsPath"]
        assert all(lines[ctrl] == want for ctrl in lines if ctrl and "name=" not in ctrl
                   and ctrl.split(",")[0] in h.v1), lines
        seen[name] = lines[""]
    assert seen["plain"] != f"/{cgroup_parent}/join-plain-{os.getpid()}"
    assert seen["huge"] == f"/{cgroup_parent}/join-huge-{os.getpid()}"
