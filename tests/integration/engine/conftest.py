"""Fixtures for the engine's integration tests.

``DirImages`` is a stand-in for the image store while it is being built: one image per
name, whose single lower layer is the session's busybox rootfs, mounted with a real
overlay (upper and work dirs per container under the engine root). Everything else —
runtime, monitor, cgroups, namespaces — is the real thing.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.engine.rootfs import ResolvedImage, is_mounted
from dockyard.errors import NotFound
from dockyard.oci.mount import Mount
from dockyard.settings import Roots
from tests.support.leaks import remove_cgroup_parent


class DirImages:
    """An ImageSource whose images all share one read-only lower directory."""

    def __init__(self, roots: Roots, lower: Path) -> None:
        self.roots = roots
        self.lower = lower
        self.configs: dict[str, dict[str, Any]] = {"busybox": {"Cmd": ["sh"]}}

    def add(self, name: str, config: dict[str, Any]) -> None:
        self.configs[name] = config

    def resolve(self, ref: str) -> ResolvedImage:
        name = ref.split(":")[0] if not ref.startswith("sha256:") else ref
        for known, cfg in self.configs.items():
            image_id = "sha256:" + hashlib.sha256(known.encode()).hexdigest()
            if name in (known, image_id):
                return ResolvedImage(image_id, dict(cfg), "chain-" + known, (known,))
        raise NotFound(f"No such image: {ref}")

    def _dir(self, key: str) -> Path:
        return self.roots.snapshots / key

    def prepare(self, key: str, image: ResolvedImage) -> None:
        for sub in ("fs", "work"):
            (self._dir(key) / sub).mkdir(parents=True, exist_ok=True)

    def mounts(self, key: str) -> list[Mount]:
        d = self._dir(key)
        if not d.exists():
            raise NotFound(f"snapshot {key} does not exist")
        return [Mount("overlay", "overlay", "", (f"lowerdir={self.lower}",
                                                  f"upperdir={d / 'fs'}",
                                                  f"workdir={d / 'work'}"))]

    def mount(self, key: str, target: Path) -> None:
        target.mkdir(parents=True, exist_ok=True)
        if not is_mounted(target):
            opts = ",".join(self.mounts(key)[0].options)
            subprocess.run(["mount", "-t", "overlay", "overlay", "-o", opts, str(target)],
                           check=True)

    def unmount(self, target: Path) -> None:
        subprocess.run(["umount", "-l", str(target)], check=False, capture_output=True)

    def remove(self, key: str) -> None:
        shutil.rmtree(self._dir(key), ignore_errors=True)


def wait_for_helpers(roots: Roots, timeout: float = 20) -> None:
    """Let the background exit hooks (``dockyard.engine.tidy``) of these roots finish."""
    import os
    import time

    marker = str(roots.root).encode()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = False
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            with contextlib.suppress(OSError):
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read()
                if b"dockyard.engine.tidy" in cmd and marker in cmd:
                    busy = True
                    break
        if not busy:
            return
        time.sleep(0.05)


def cleanup_engine(roots: Roots) -> None:
    """Whatever a failed test left: monitors, containers, mounts, exit-hook helpers."""
    from dockyard.engine.monitor.client import monitor_pid

    for run_dir in sorted(roots.run_containers.glob("*")) if roots.run_containers.exists() \
            else []:
        pid = monitor_pid(run_dir)
        for name in ("runc",):
            subprocess.run([name, "--root", str(roots.runtime_state / name), "delete",
                            "--force", run_dir.name], capture_output=True, check=False)
        ours = roots.runtime_state / "dockyard"
        if (ours / run_dir.name).exists():
            from dockyard import runtime

            with contextlib.suppress(Exception):
                runtime.delete(ours, run_dir.name, force=True)
        if pid:
            with contextlib.suppress(ProcessLookupError):
                import os
                import signal

                os.kill(pid, signal.SIGKILL)
    wait_for_helpers(roots)
    with open("/proc/self/mountinfo") as f:
        targets = [line.split()[4] for line in f if str(roots.run_root) in line.split()[4]]
    for target in sorted(targets, key=len, reverse=True):
        subprocess.run(["umount", "-l", target], check=False, capture_output=True)


@pytest.fixture
def images(roots: Roots, busybox_rootfs_template: Path) -> DirImages:
    return DirImages(roots, busybox_rootfs_template)


@pytest.fixture
def engine(roots: Roots, images: DirImages, cgroup_parent: str) -> Iterator[Any]:
    """An Engine over the test's roots, its containers under the session's cgroup."""
    from dockyard.engine import Engine

    eng = Engine(roots, images=images, cgroup_parent=cgroup_parent)
    try:
        yield eng
    finally:
        for c in eng.list(all=True):
            with contextlib.suppress(Exception):
                eng.remove(c["Id"], force=True)
        cleanup_engine(roots)
        remove_cgroup_parent(cgroup_parent)


@pytest.fixture
def store_engine(roots: Roots, cgroup_parent: str) -> Iterator[Any]:
    """An Engine over the real image store (``busybox`` made from busybox-static)."""
    from dockyard.engine import Engine

    eng = Engine(roots, cgroup_parent=cgroup_parent)
    try:
        yield eng
    finally:
        for c in eng.list(all=True):
            with contextlib.suppress(Exception):
                eng.remove(c["Id"], force=True)
        cleanup_engine(roots)
        with contextlib.suppress(Exception):
            eng.images.store.close()  # type: ignore[attr-defined]
        remove_cgroup_parent(cgroup_parent)
