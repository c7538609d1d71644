"""``run --rm busybox true`` on the default bridge: dockyard beside docker and podman.

Usage: ``.venv/bin/python benchmarks/network_run.py [-n 15] [--no-docker] [--no-podman]``

Must-show 6 of issue #7. Every system runs the container on its default bridge network
(an address, a veth pair, the bridge), interleaved run by run so the machine's noise
hits all alike; it prints medians and the ratios dockyard/peer, and ``--network none``
of dockyard as the baseline that shows what the network costs.

- dockyard: its default ``bridge`` network (netns, veth, address, route, nft
  masquerade rules; the bridge and its rules come up with the first run and stay,
  like docker0, until the benchmark removes them).
- docker: a private dockerd (tests/support/dockerd.py) whose default network uses a
  bridge this script creates with an address, so it never makes docker0 or leaves one;
  it runs with ``--iptables=false`` (its default would add iptables chains it does not
  remove), so docker does a little less work than dockyard here.
- podman: its default ``podman`` network (netavark) with runc (crun refuses hybrid
  cgroups here) and our rlimits (root lacks CAP_SYS_RESOURCE).
Everything started is removed at the end, even on errors.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from benchmarks.common import (  # noqa: E402
    free_subnets,
    print_medians,
    remove_cgroup_parent,
    stop_warm_engines,
    tar_rootfs,
    timed_run,
)
from run_start import System, _dockyard, _podman  # noqa: E402
from tests.support.busybox import make_busybox_rootfs  # noqa: E402


class BridgeSystem(System):
    """``run --rm [args] busybox true`` with the system's default network."""

    def run_true(self) -> float:
        return timed_run(self.cmd("run", "--rm", *self.run_args, "busybox", "true"), self.env)


def _free_subnet() -> ipaddress.IPv4Network:
    free = free_subnets(1, "10.{}.0.0/24", 200, 250)
    if not free:
        raise RuntimeError("no free 10.x.0.0/24 for docker's bridge")
    return ipaddress.IPv4Network(free[0])


@contextlib.contextmanager
def _docker_bridge(base: Path, rootfs: Path, parent: str, tag: str) -> Iterator[System]:
    from tests.support.dockerd import start_dockerd, stop_dockerd

    name = f"dyb{tag}"
    net = _free_subnet()
    subprocess.run(["ip", "link", "add", name, "type", "bridge"], check=True)
    try:
        subprocess.run(["ip", "addr", "add", f"{net.network_address + 1}/{net.prefixlen}",
                        "dev", name], check=True)
        subprocess.run(["ip", "link", "set", name, "up"], check=True)
        daemon = start_dockerd(base, parent, bridge=name)
        try:
            daemon.import_rootfs(rootfs, "busybox")
            docker = shutil.which("docker") or "docker"
            yield BridgeSystem("docker", [docker], [], daemon.env())
        finally:
            stop_dockerd(daemon, parent)
    finally:
        subprocess.run(["ip", "link", "del", name], capture_output=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--runs", type=int, default=15, help="timed runs per system")
    ap.add_argument("--no-podman", action="store_true")
    ap.add_argument("--no-docker", action="store_true")
    args = ap.parse_args()
    tag = secrets.token_hex(3)
    parent = "dockyard-bench-" + tag
    with tempfile.TemporaryDirectory(prefix="dockyard-netbench-") as tmp, \
            contextlib.ExitStack() as stack:
        base = Path(tmp)
        stack.callback(stop_warm_engines, tmp)  # the dockyard commands started one
        stack.callback(remove_cgroup_parent, parent)
        rootfs = make_busybox_rootfs(base / "rootfs")
        image_tar = tar_rootfs(rootfs, base / "busybox.tar")
        ours = stack.enter_context(_dockyard(base / "dockyard", parent, None))
        bridge = BridgeSystem("dockyard", ours.argv, [], ours.env)
        none = BridgeSystem("dy-none", ours.argv, ["--network", "none"], ours.env)
        systems: list[System] = [bridge, none]
        if not args.no_podman and shutil.which("podman"):
            pod = stack.enter_context(_podman(base / "podman", image_tar, parent))
            systems.append(BridgeSystem("podman", pod.argv, pod.run_args, pod.env))
        if not args.no_docker and shutil.which("dockerd"):
            try:
                systems.append(stack.enter_context(
                    _docker_bridge(base / "docker", rootfs, parent, tag)))
            except (RuntimeError, subprocess.CalledProcessError) as err:
                print(f"docker: not measured ({err})")
        for s in systems:
            for _ in range(2):
                s.run_true()
        for _ in range(args.runs):
            for s in systems:
                s.times.append(s.run_true())
        print(f"run --rm busybox true on the default bridge: median of {args.runs} "
              "(interleaved); dy-none is dockyard with --network none")
        print_medians({s.name: s.times for s in systems}, "dockyard")
    return 0


if __name__ == "__main__":
    sys.exit(main())
