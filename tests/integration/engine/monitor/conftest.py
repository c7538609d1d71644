"""Containers run through the monitor (runc or the built-in runtime), cleaned up even on failure."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from monitor_harness import Launched, cleanup, make_spec

from dockyard.engine.logs import LogConfig, parse_log_config
from dockyard.engine.monitor import MonitorConfig, start_monitor

# Both take runc's command line; the built-in one keeps its state in the same kind of root.
RUNTIMES = {"runc": ["runc"], "dockyard": [sys.executable, "-m", "dockyard.runtime"]}


@pytest.fixture
def launch(tmp_path: Path, busybox_rootfs: Path, cgroup_parent: str
           ) -> Iterator[Callable[..., Launched]]:
    """``launch(args, tty=False, stdin=False, log=None, autostart=True, memory=None,
    runtime="runc", attach=None)``."""
    runc_root = tmp_path / "runc"
    launched: list[Launched] = []
    bundles = tmp_path / "bundles"

    def _launch(args: list[str], *, tty: bool = False, stdin: bool = False,
                stdin_once: bool = False, log: LogConfig | None = None,
                autostart: bool = True, memory: int | None = None,
                runtime: str = "runc", attach: dict[str, object] | None = None) -> Launched:
        cid = "mon" + secrets.token_hex(6)
        bundle = bundles / cid
        bundle.mkdir(parents=True)
        rootfs = bundle / "rootfs"
        subprocess.run(["cp", "-a", str(busybox_rootfs), str(rootfs)], check=True)
        cgroups_path = f"/{cgroup_parent}/{cid}"
        spec = make_spec(rootfs, args, tty, cgroups_path, memory)
        (bundle / "config.json").write_text(json.dumps(spec))
        cfg = MonitorConfig(
            id=cid, bundle=str(bundle), runtime=[*RUNTIMES[runtime], "--root", str(runc_root)],
            container_dir=str(tmp_path / "root" / "containers" / cid),
            run_dir=str(tmp_path / "run" / "containers" / cid),
            tty=tty, stdin=stdin, stdin_once=stdin_once,
            log=log or parse_log_config("json-file"), autostart=autostart,
            cgroups_path=cgroups_path)
        if attach is not None:
            cfg["attach"] = attach
        c = Launched(cid, Path(cfg["run_dir"]), Path(cfg["container_dir"]), cfg, 0)
        launched.append(c)
        c.pid = start_monitor(cfg)
        return c

    try:
        yield _launch
    finally:
        cleanup(runc_root, launched, cgroup_parent)
