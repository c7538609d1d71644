"""``docker run --rm --network none busybox true`` with the docker CLI talking to
``dockyard serve`` and to dockerd, in one run; the dockyard CLI beside them.

Usage: ``.venv/bin/python benchmarks/api_run.py [-n 15] [--no-docker]``

Each system has its own state under one temp dir; warm-up runs, then interleaved timed
runs; the script prints medians and ratios (serve/dockerd). Also times ``docker ps``
against both (an idle request: the serve process's per-request cost). The private
dockerd, the serve process and every container are removed at the end, even on errors.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.common import (  # noqa: E402
    median_ms,
    remove_cgroup_parent,
    stop_warm_engines,
    timed_run,
)
from benchmarks.run_start import System, _docker, _dockyard  # noqa: E402
from tests.support.busybox import make_busybox_rootfs  # noqa: E402

DOCKYARD = Path(sys.executable).with_name("dockyard")


@contextlib.contextmanager
def _served(base: Path, parent: str) -> Iterator[System]:
    """``dockyard serve`` on a private root, as a docker CLI target."""
    base.mkdir(parents=True)
    sock = f"/tmp/dy-bench-{secrets.token_hex(3)}.sock"
    env = dict(os.environ, DOCKYARD_CGROUP_PARENT=parent,
               PYTHONPYCACHEPREFIX=str(base / "pycache"))
    proc = subprocess.Popen([str(DOCKYARD), "--root", str(base / "root"), "--run-root",
                             str(base / "run"), "serve", "--host", f"unix://{sock}"],
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    client_env = dict(os.environ, DOCKER_HOST=f"unix://{sock}",
                      DOCKER_CONFIG=str(base / "docker-config"))
    system = System("serve", [shutil.which("docker") or "docker"], [], client_env)
    try:
        deadline = time.monotonic() + 30
        while subprocess.run(system.cmd("version"), env=client_env,
                             capture_output=True).returncode != 0:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("dockyard serve did not start")
            time.sleep(0.1)
        yield system
    finally:
        with contextlib.suppress(Exception):
            system.remove_all()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(sock)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--runs", type=int, default=15, help="timed runs per system")
    ap.add_argument("--no-docker", action="store_true")
    args = ap.parse_args()
    parent = "dockyard-bench-" + secrets.token_hex(3)
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-") as tmp, \
            contextlib.ExitStack() as stack:
        base = Path(tmp)
        stack.callback(stop_warm_engines, tmp)  # the dockyard commands started one
        stack.callback(remove_cgroup_parent, parent)
        rootfs = make_busybox_rootfs(base / "rootfs")
        systems = [stack.enter_context(_served(base / "serve", parent)),
                   stack.enter_context(_dockyard(base / "dockyard", parent, None))]
        if not args.no_docker and shutil.which("dockerd"):
            systems.append(stack.enter_context(_docker(base / "docker", rootfs, parent)))
        for s in systems:
            for _ in range(2):
                s.run_true()
        pings: dict[str, list[float]] = {s.name: [] for s in systems if s.name != "dockyard"}
        for _ in range(args.runs):
            for s in systems:
                s.times.append(s.run_true())
                if s.name in pings:
                    pings[s.name].append(timed_run(s.cmd("ps"), s.env))
        print(f"run --rm --network none busybox true: median of {args.runs} (interleaved)")
        ref = {s.name: median_ms(s.times) for s in systems}
        for s in systems:
            ratio = f"   serve/{s.name} = {ref['serve'] / ref[s.name]:.2f}x" \
                if s.name != "serve" else ""
            label = {"serve": "docker CLI -> dockyard serve", "dockyard": "dockyard CLI",
                     "docker": "docker CLI -> dockerd"}[s.name]
            print(f"  {label:30s} {ref[s.name]:8.1f} ms   (min {min(s.times) * 1000:.1f},"
                  f" max {max(s.times) * 1000:.1f}){ratio}")
        print("docker ps (an idle request):")
        for name, times in pings.items():
            print(f"  {name:9s} {median_ms(times):8.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
