"""Bundles, state roots and runtime commands for the runtime's integration tests.

Every container a test creates is force-deleted by the ``state_root`` fixture (ours
with the library, runc's with ``runc delete --force``), and tests/conftest.py removes the
session's empty cgroup parent at the end, so nothing outlives the test even when it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.runtime.launcher import write_launcher
from dockyard.runtime.spec import default_spec

RUNC = shutil.which("runc")


@pytest.fixture(scope="session")
def runtime_cmd(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The fast launcher of dockyard-runtime, as a command prefix."""
    return [str(write_launcher(tmp_path_factory.mktemp("bin") / "dockyard-runtime"))]


class Bundle:
    """A bundle directory: ``rootfs`` (busybox) and a ``config`` written by ``write``."""

    def __init__(self, path: Path, rootfs: Path, cgroup: str) -> None:
        self.path = path
        self.rootfs = rootfs
        self.config: dict[str, Any] = default_spec(args=["true"], terminal=False)
        self.config["root"] = {"path": str(rootfs), "readonly": False}
        self.config["linux"]["cgroupsPath"] = cgroup
        self.config["process"].pop("rlimits")

    def write(self, **process: Any) -> Bundle:
        self.config["process"].update(process)
        (self.path / "config.json").write_text(json.dumps(self.config))
        return self

    @property
    def process(self) -> dict[str, Any]:
        return self.config["process"]  # type: ignore[no-any-return]


@pytest.fixture
def bundle(busybox_rootfs: Path, tmp_path: Path, cgroup_parent: str,
           request: pytest.FixtureRequest) -> Bundle:
    path = tmp_path / "bundle"
    path.mkdir()
    name = request.node.name[:40].replace("[", "-").replace("]", "")
    return Bundle(path, busybox_rootfs, f"/{cgroup_parent}/{name}-{os.getpid()}")


@pytest.fixture
def state_root(tmp_path: Path) -> Iterator[Path]:
    """A --root for dockyard-runtime; every container left in it is force-deleted."""
    root = tmp_path / "state"
    yield root
    from dockyard import runtime
    from dockyard.runtime.container_state import list_ids

    for cid in list_ids(root):
        runtime.delete(root, cid, force=True)


@pytest.fixture
def runc_root(tmp_path: Path) -> Iterator[Path]:
    """A --root for runc; its containers are force-deleted afterwards."""
    if RUNC is None:
        pytest.fail("runc is not installed (apt-get install runc)")
    root = tmp_path / "runc-state"
    yield root
    if root.is_dir():
        for cid in os.listdir(root):
            subprocess.run([RUNC, "--root", str(root), "delete", "--force", cid],
                           capture_output=True, check=False)


def run_cmd(cmd: list[str], timeout: float = 30, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False,
                          **kw)
