"""Several processes at once, and processes killed at any moment."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from dockyard.settings import Roots

REPO = Path(__file__).resolve().parents[3]
BENIGN = {"stale name"}  # harmless, cleared by check itself and by the next writer


def _driver(roots: Roots, lower: Path, parent: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.engine.driver", str(roots.root),
         str(roots.run_root), str(lower), parent, *args],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": f"{REPO / 'src'}:{REPO}"})


def test_concurrent_creates_with_one_name_exactly_one_wins(
        engine: Any, roots: Roots, busybox_rootfs_template: Path, cgroup_parent: str) -> None:
    procs = [_driver(roots, busybox_rootfs_template, cgroup_parent, "create", "contested")
             for _ in range(8)]
    results = [(p.wait(timeout=60), *p.communicate()) for p in procs]
    winners = [out.strip() for code, out, _ in results if code == 0]
    losers = [err for code, _, err in results if code != 0]
    assert len(winners) == 1, results
    assert all("Conflict. The container name \"/contested\" is already in use" in e
               for e in losers), losers
    rows = engine.list(all=True)
    assert [r["Id"] for r in rows] == winners
    assert engine.check() == []


def _consistent(engine: Any, roots: Roots) -> None:
    problems = engine.check()
    assert [p for p in problems if p["kind"] not in BENIGN or not p["repaired"]] == []
    listed = {r["Id"] for r in engine.list(all=True)}
    on_disk = {p.name for p in roots.containers.iterdir() if len(p.name) == 64} \
        if roots.containers.exists() else set()
    assert on_disk == listed
    with open("/proc/self/mountinfo") as f:
        mounted = {line.split()[4].split("/")[-2] for line in f
                   if line.split()[4].startswith(str(roots.run_containers))}
    assert mounted <= listed
    runc_root = roots.runtime_state / "runc"
    known = {p.name for p in runc_root.iterdir()} if runc_root.exists() else set()
    assert known <= listed


def _wait_running(engine: Any, name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(r["State"] == "running" and f"/{name}" in r["Names"]
               for r in engine.list(all=True)):
            return
        time.sleep(0.05)


@pytest.mark.slow
def test_kill_9_at_any_moment_leaves_every_container_accounted_for(
        engine: Any, roots: Roots, busybox_rootfs_template: Path, cgroup_parent: str) -> None:
    rng = random.Random(4)
    seen: set[str] = set()
    for i in range(12):
        verb = ("run", "cycle")[i % 2]
        proc = _driver(roots, busybox_rootfs_template, cgroup_parent, verb, f"k{i}",
                       "sleep", "30")
        time.sleep(rng.uniform(0.05, 0.9))
        if i == 10 and "running" not in seen:  # a "run" (create + start)
            # on a loaded machine every random delay may fall before the start: make
            # sure at least one kill lands on a running container
            _wait_running(engine, f"k{i}")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.communicate()
        _consistent(engine, roots)
        seen |= {f"{r['State']}" for r in engine.list(all=True)}
    assert "running" in seen  # some kills came after a start, not only before a create
    # Everything that was left can be removed, and that leaves nothing behind.
    for row in engine.list(all=True):
        engine.remove(row["Id"], force=True)
    assert engine.check() == [] or all(p["kind"] in BENIGN for p in engine.check())
    assert engine.list(all=True) == []
    with open("/proc/self/mountinfo") as f:
        assert not [ln for ln in f if str(roots.run_root) in ln]
