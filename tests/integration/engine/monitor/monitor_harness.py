"""Helpers for running containers through the monitor with Debian's runc."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from dockyard.engine.monitor import MonitorConfig, monitor_pid


@dataclass
class Launched:
    """One container started through the monitor."""

    id: str
    run_dir: Path
    container_dir: Path
    cfg: MonitorConfig
    pid: int


def make_spec(rootfs: Path, args: list[str], tty: bool, cgroups_path: str,
          memory: int | None) -> dict[str, object]:
    out = subprocess.run(["runc", "spec", "--bundle", str(rootfs.parent)], check=False,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    path = rootfs.parent / "config.json"
    spec = json.loads(path.read_text())
    path.unlink()
    spec["root"] = {"path": str(rootfs), "readonly": False}
    spec["process"]["args"] = args
    spec["process"]["terminal"] = tty
    spec["process"]["env"] = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", "HOME=/root"]
    spec["linux"]["cgroupsPath"] = cgroups_path
    if memory:
        spec["linux"]["resources"]["memory"] = {"limit": memory, "swap": memory}
    return spec


def cleanup(runc_root: Path, launched: list[Launched], cgroup_parent: str) -> None:
    for c in launched:
        pid = monitor_pid(c.run_dir)
        if pid:
            os.kill(pid, signal.SIGKILL)
    for c in launched:
        # The container's own runtime deletes it (a no-op when the monitor already did).
        subprocess.run([*c.cfg["runtime"], "delete", "--force", c.id],
                       capture_output=True, check=False)
    for c in launched:  # processes reparented to init once their monitor was killed
        deadline = time.monotonic() + 5
        while c.pid and Path(f"/proc/{c.pid}").exists() and time.monotonic() < deadline:
            try:
                os.kill(c.pid, signal.SIGKILL)
            except ProcessLookupError:
                break
            time.sleep(0.02)
    for top in Path("/sys/fs/cgroup").iterdir():
        for base in (top / cgroup_parent, top / "unified" / cgroup_parent):
            if base.is_dir():
                for child in sorted(base.glob("*"), reverse=True):
                    if child.is_dir():
                        try:
                            child.rmdir()
                        except OSError:
                            pass
                try:
                    base.rmdir()
                except OSError:
                    pass


