"""``run --rm --network none busybox true`` against podman and docker; 50 idle ``run -d``.

Usage: ``.venv/bin/python benchmarks/run_start.py [-n 15] [--no-docker] [--no-podman]
[--runtime crun] [--idle-peers] [--no-monitor-rss]``

Each system gets its own state under one temp dir, the same busybox rootfs (from the
host's busybox-static), warm-up runs, then interleaved timed runs (dockyard, podman,
docker, dockyard, …) so the machine's noise hits all alike. It prints medians and the
ratios dockyard/peer, then times 50 idle ``run -d`` in a row (and their removal), and
finally runs ``benchmarks/monitor_rss.py`` for the idle monitor's RSS and PSS.

Peers on this machine (see /work/shared/PEERS.md): podman's default crun refuses
hybrid cgroups, so podman runs with ``--runtime runc``; and since root lacks
CAP_SYS_RESOURCE, podman's default rlimits are lowered to ours with ``--ulimit``.
docker is a private dockerd started here (tests/support/dockerd.py) and stopped after.
Everything started is removed at the end, even on errors.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.common import (  # noqa: E402
    print_medians,
    remove_cgroup_parent,
    stop_warm_engines,
    tar_rootfs,
    timed_run,
)
from tests.support.busybox import make_busybox_rootfs  # noqa: E402

DOCKYARD = Path(sys.executable).with_name("dockyard")
TRUE = ["run", "--rm", "--network", "none", "busybox", "true"]


class System:
    """One engine under test: how to run ``true``, start idle containers, clean up."""

    def __init__(self, name: str, argv: list[str], run_args: list[str],
                 env: dict[str, str] | None = None) -> None:
        self.name, self.argv, self.run_args, self.env = name, argv, run_args, env
        self.times: list[float] = []

    def cmd(self, *args: str) -> list[str]:
        return [*self.argv, *args]

    def run_true(self) -> float:
        return timed_run(self.cmd(*TRUE[:1], *self.run_args, *TRUE[1:]), self.env)

    def idle(self, count: int) -> tuple[float, float]:
        """Seconds for ``count`` idle ``run -d`` in a row, and for removing them."""
        start = time.perf_counter()
        for _ in range(count):
            timed_run(self.cmd("run", "-d", *self.run_args, "--network", "none", "busybox",
                          "sleep", "3600"), self.env)
        started = time.perf_counter() - start
        start = time.perf_counter()
        self.remove_all()
        return started, time.perf_counter() - start

    def remove_all(self) -> None:
        ids = subprocess.run(self.cmd("ps", "-aq"), env=self.env, capture_output=True,
                             text=True).stdout.split()
        if ids:
            subprocess.run(self.cmd("rm", "-f", *ids), env=self.env, capture_output=True)


@contextlib.contextmanager
def _dockyard(base: Path, parent: str, runtime: str | None) -> Iterator[System]:
    # As installed, Python's bytecode is cached; keep that cache in the temp dir (the
    # environment may forbid writing it next to the sources).
    env = dict(os.environ, DOCKYARD_CGROUP_PARENT=parent,
               PYTHONPYCACHEPREFIX=str(base / "pycache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if runtime:
        env["DOCKYARD_RUNTIME"] = runtime
    system = System("dockyard", [str(DOCKYARD), "--root", str(base / "root"),
                                 "--run-root", str(base / "run")], [], env)
    try:
        yield system
    finally:
        system.remove_all()
        from tests.support.netclean import clean_networks

        clean_networks(base / "root", base / "run")  # bridges stay up until removed


@contextlib.contextmanager
def _podman(base: Path, image_tar: Path, parent: str) -> Iterator[System]:
    argv = ["podman", "--root", str(base / "storage"), "--runroot", str(base / "runroot"),
            "--cgroup-manager", "cgroupfs", "--events-backend", "file",
            "--storage-driver", "overlay"]
    system = System("podman", argv, ["--runtime", "runc", "--ulimit", "nofile=1024:20000",
                                     "--ulimit", "nproc=1024:1024",
                                     "--cgroup-parent", f"/{parent}"])
    subprocess.run([*argv, "import", str(image_tar), "busybox"], check=True,
                   capture_output=True)
    try:
        yield system
    finally:
        system.remove_all()
        subprocess.run([*argv, "system", "reset", "-f"], capture_output=True)


@contextlib.contextmanager
def _docker(base: Path, rootfs: Path, parent: str) -> Iterator[System]:
    from tests.support.dockerd import start_dockerd, stop_dockerd

    daemon = start_dockerd(base, parent)
    try:
        daemon.import_rootfs(rootfs, "busybox")
        docker = shutil.which("docker") or "docker"
        yield System("docker", [docker], [], daemon.env())
    finally:
        with contextlib.suppress(Exception):
            System("docker", [shutil.which("docker") or "docker"], [],
                   daemon.env()).remove_all()
        stop_dockerd(daemon, parent)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--runs", type=int, default=15, help="timed runs per system")
    ap.add_argument("--idle", type=int, default=50, help="idle run -d in a row")
    ap.add_argument("--runtime", default=None,
                    help="dockyard's OCI runtime (dockyard, runc, crun); default: its own")
    ap.add_argument("--no-podman", action="store_true")
    ap.add_argument("--no-docker", action="store_true")
    ap.add_argument("--no-monitor-rss", action="store_true",
                    help="skip benchmarks/monitor_rss.py (the monitor's RSS/PSS) at the end")
    ap.add_argument("--idle-peers", action="store_true",
                    help="also time the idle run -d series for podman and docker")
    args = ap.parse_args()
    parent = "dockyard-bench-" + secrets.token_hex(3)
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-") as tmp, \
            contextlib.ExitStack() as stack:
        base = Path(tmp)
        stack.callback(stop_warm_engines, tmp)  # the dockyard commands started one
        # Registered first so that it runs last, after every system has been torn down.
        stack.callback(remove_cgroup_parent, parent)
        rootfs = make_busybox_rootfs(base / "rootfs")
        image_tar = tar_rootfs(rootfs, base / "busybox.tar")
        systems = [stack.enter_context(_dockyard(base / "dockyard", parent, args.runtime))]
        if not args.no_podman and shutil.which("podman"):
            systems.append(stack.enter_context(_podman(base / "podman", image_tar, parent)))
        if not args.no_docker and shutil.which("dockerd"):
            try:
                systems.append(stack.enter_context(_docker(base / "docker", rootfs, parent)))
            except RuntimeError as err:
                print(f"docker: not measured ({err})")
        for s in systems:  # warm up: image unpack, caches
            for _ in range(2):
                s.run_true()
        for _ in range(args.runs):
            for s in systems:
                s.times.append(s.run_true())
        print(f"run --rm --network none busybox true: median of {args.runs} (interleaved); "
              f"dockyard runtime: {args.runtime or 'default'}, podman runtime: runc")
        print_medians({s.name: s.times for s in systems}, "dockyard")
        idle = systems if args.idle_peers else systems[:1]
        print(f"{args.idle} idle run -d in a row (then rm -f of all of them)")
        for s in idle:
            started, removed = s.idle(args.idle)
            print(f"  {s.name:9s} {started:8.2f} s    removal {removed:.2f} s")
    monitor_rss = REPO / "benchmarks" / "monitor_rss.py"
    if not args.no_monitor_rss and monitor_rss.exists():
        # The monitor's memory per idle container (its own script, same run).
        print("idle monitor memory (benchmarks/monitor_rss.py):", flush=True)
        extra = ["--no-peers"] if args.no_podman and args.no_docker else []
        subprocess.run([sys.executable, str(monitor_rss), "--count", "5", *extra], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
