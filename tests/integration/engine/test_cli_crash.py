"""Must show 6 through the real command: ``kill -9`` of ``dockyard`` at any moment,
ten times and more, and ``ps -a`` and ``system check`` stay consistent."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dockyard.settings import Roots

DOCKYARD = Path(sys.executable).with_name("dockyard")


def _cmd(roots: Roots, parent: str, *args: str) -> list[str]:
    return [str(DOCKYARD), "--root", str(roots.root), "--run-root", str(roots.run_root),
            *args]


def _env(parent: str) -> dict[str, str]:
    return {**os.environ, "DOCKYARD_CGROUP_PARENT": parent}


def _run(roots: Roots, parent: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_cmd(roots, parent, *args), capture_output=True, text=True,
                          env=_env(parent), timeout=120)


@pytest.fixture
def cli_roots(roots: Roots, cgroup_parent: str) -> object:
    yield roots
    ids = _run(roots, cgroup_parent, "ps", "-aq", "--no-trunc").stdout.split()
    if ids:
        _run(roots, cgroup_parent, "rm", "-f", *ids)
    from tests.integration.engine.conftest import cleanup_engine
    from tests.support.leaks import remove_cgroup_parent

    cleanup_engine(roots)
    remove_cgroup_parent(cgroup_parent)


@pytest.mark.slow
@pytest.mark.skipif(not DOCKYARD.exists(), reason="the dockyard command is not installed")
def test_kill_9_of_dockyard_commands_keeps_ps_and_check_consistent(
        cli_roots: Roots, cgroup_parent: str) -> None:
    roots = cli_roots
    assert _run(roots, cgroup_parent, "run", "--rm", "--network", "none", "busybox",
                "true").returncode == 0  # makes the image; not part of the loop
    rng = random.Random(6)
    verbs = [("run", "-d", "--network", "none", "--name", "k{i}", "busybox", "sleep", "30"),
             ("run", "--rm", "--network", "none", "busybox", "sleep", "1"),
             ("rm", "-f", "k{j}"),
             ("stop", "-t", "0", "k{j}")]
    for i in range(14):
        verb = [a.format(i=i, j=max(i - 2, 0)) for a in verbs[i % len(verbs)]]
        proc = subprocess.Popen(_cmd(roots, cgroup_parent, *verb), env=_env(cgroup_parent),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, 0.8))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        check = _run(roots, cgroup_parent, "system", "check")
        assert check.returncode == 0, (verb, check.stdout, check.stderr)
        listed = set(_run(roots, cgroup_parent, "ps", "-aq", "--no-trunc").stdout.split())
        on_disk = {p.name for p in roots.containers.iterdir() if len(p.name) == 64} \
            if roots.containers.exists() else set()
        assert listed == on_disk, verb
    ids = _run(roots, cgroup_parent, "ps", "-aq", "--no-trunc").stdout.split()
    if ids:
        assert _run(roots, cgroup_parent, "rm", "-f", *ids).returncode == 0
    assert _run(roots, cgroup_parent, "ps", "-aq").stdout == ""
    assert _run(roots, cgroup_parent, "system", "check").returncode == 0
    time.sleep(0.5)  # the exit hooks of the last containers
    with open("/proc/self/mountinfo") as f:
        assert not [ln for ln in f if str(roots.run_root) in ln]
