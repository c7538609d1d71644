"""Run the real ``dockyard`` command against a private root, and clean up after it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

DOCKYARD = Path(sys.executable).with_name("dockyard")


@dataclass
class Result:
    code: int
    out: str
    err: str


class Dockyard:
    """``dockyard --root … --run-root …`` as a subprocess."""

    def __init__(self, tmp: Path, cgroup_parent: str) -> None:
        self.root = tmp / "root"
        self.run_root = tmp / "run"
        self.env = dict(os.environ, DOCKYARD_CGROUP_PARENT=cgroup_parent)
        self.env.pop("DOCKYARD_ROOT", None)
        self.env.pop("DOCKYARD_RUN_ROOT", None)

    def argv(self, *args: str) -> list[str]:
        return [str(DOCKYARD), "--root", str(self.root), "--run-root", str(self.run_root),
                *args]

    def __call__(self, *args: str, input: str | None = None, timeout: float = 60) -> Result:
        proc = subprocess.run(self.argv(*args), env=self.env, capture_output=True, text=True,
                              input=input, timeout=timeout,
                              stdin=None if input is not None else subprocess.DEVNULL)
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str, input: str | None = None) -> str:
        r = self(*args, input=input)
        assert r.code == 0, f"dockyard {' '.join(args)} exited {r.code}: {r.err}"
        return r.out

    def mounts(self) -> list[str]:
        with open("/proc/self/mountinfo") as f:
            return [line.split()[4] for line in f
                    if str(self.root) in line or str(self.run_root) in line]

    def processes(self) -> list[str]:
        found = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            mine = str(self.run_root) in cmd or str(self.root) in cmd
            # the warm engine serves the run root's commands; it is no container's
            if mine and "pytest" not in cmd and "dockyard.cli.warm.server" not in cmd:
                found.append(f"{pid}: {cmd}")
        return found

    def containers(self) -> list[str]:
        return self.ok("ps", "-a", "-q", "--no-trunc").split()


@pytest.fixture
def dockyard(tmp_path: Path, cgroup_parent: str) -> Iterator[Dockyard]:
    """A private engine; every container is removed at the end, even on failure."""
    d = Dockyard(tmp_path, cgroup_parent)
    try:
        yield d
    finally:
        ids = d("ps", "-a", "-q", "--no-trunc").out.split()
        if ids:
            d("rm", "-f", *ids)
        # a container's exit may leave its monitor tidying for a moment: let it finish,
        # or the session's leak check (when this is the last test) finds it running;
        # the idle monitor spawner lingers by design: ask it to leave first
        from dockyard.engine.monitor.client import stop_spawner

        stop_spawner(d.run_root)
        deadline = time.monotonic() + 10
        while d.processes() and time.monotonic() < deadline:
            time.sleep(0.05)
        for target in reversed(d.mounts()):
            subprocess.run(["umount", "-l", target], check=False)
        from tests.support.netclean import clean_networks

        clean_networks(d.root, d.run_root)  # bridges stay up until removed


@pytest.fixture(scope="session", autouse=True)
def _remove_parent_cgroups(cgroup_parent: str) -> Iterator[None]:
    """The engine makes the parent cgroup of our containers; drop it when all is done."""
    yield
    for hierarchy in Path("/sys/fs/cgroup").iterdir():
        parent = hierarchy / cgroup_parent
        if parent.is_dir():
            try:
                parent.rmdir()
            except OSError:
                pass  # still in use: the leak check will name it
