"""Name lookups through the embedded DNS of a user network: dockyard beside docker.

Usage: ``.venv/bin/python benchmarks/dns_lookup.py [-n 7] [--lookups 2000] [--no-docker]``

Each system gets a user network with a ``target`` and a ``client`` container. From a
socket made inside the client's network namespace (its ``SandboxKey``), this script
asks 127.0.0.11 for ``target``'s A record LOOKUPS times, one after the other, and
reports the median round trip, plus the time per busybox ``nslookup target`` in a
loop run inside the client by exec (A and AAAA, a process per lookup; the same empty
loop subtracted) as the user sees it. Rounds
are interleaved; medians and ratios are printed. Only the systems' own resolvers
answer: ``target`` is a container name, nothing goes to a real resolver.

- dockyard: its resolver is a thread of the container's monitor (dockyard.network.dns).
- docker: a private dockerd 20.10 (tests/support/dockerd.py, no default bridge, no
  iptables on the host); its resolver lives in dockerd, reached through the NAT rules
  it puts in the container's namespace.
Everything started is removed at the end, even on errors.
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
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
    timed_run,
)
from network_run import _free_subnet  # noqa: E402
from run_start import System, _dockyard  # noqa: E402
from tests.support.busybox import make_busybox_rootfs  # noqa: E402

NET = "dnsbench"


class LookupSystem(System):
    def setup(self, subnet: str) -> None:
        subprocess.run(self.cmd("network", "create", "--subnet", subnet, NET), env=self.env,
                       check=True, capture_output=True)
        for name in ("target", "client"):
            subprocess.run(self.cmd("run", "-d", "--name", name, "--network", NET, "busybox",
                                    "sleep", "600"), env=self.env, check=True,
                           capture_output=True)
        out = subprocess.run(self.cmd("inspect", "-f", "{{.NetworkSettings.SandboxKey}}",
                                      "client"), env=self.env, check=True,
                             capture_output=True, text=True).stdout.strip()
        self.netns = out

    def round_trips(self, lookups: int) -> float:
        """Median seconds of one A query for ``target`` from inside the client."""
        from dockyard.network.dns_netns import netns_socket

        query = (b"\x00\x00\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                 b"\x06target\x00\x00\x01\x00\x01")
        sock = netns_socket(self.netns, socket.AF_INET, socket.SOCK_DGRAM)
        times = []
        with sock:
            sock.settimeout(2)
            sock.connect(("127.0.0.11", 53))
            for i in range(lookups):
                q = i.to_bytes(2, "big") + query[2:]
                start = time.perf_counter()
                sock.send(q)
                reply = sock.recv(512)
                times.append(time.perf_counter() - start)
                if reply[:2] != q[:2] or reply[7] == 0:
                    raise RuntimeError(f"{self.name}: no answer for target: {reply!r}")
        return statistics.median(times)

    def nslookup_loop(self, lookups: int) -> float:
        """Seconds per ``nslookup`` in a loop run by exec (an empty loop subtracted)."""
        def loop(n: int) -> float:
            script = (f"i=0; while [ $i -lt {n} ]; do nslookup target >/dev/null || exit 1;"
                      " i=$((i+1)); done")
            return timed_run(self.cmd("exec", "client", "sh", "-c", script), self.env)

        return (loop(lookups) - loop(0)) / lookups

    def teardown(self) -> None:
        subprocess.run(self.cmd("rm", "-f", "target", "client"), env=self.env,
                       capture_output=True)
        subprocess.run(self.cmd("network", "rm", NET), env=self.env, capture_output=True)


@contextlib.contextmanager
def _docker(base: Path, rootfs: Path, parent: str) -> Iterator[LookupSystem]:
    from tests.support.dockerd import start_dockerd, stop_dockerd

    daemon = start_dockerd(base, parent)
    try:
        daemon.import_rootfs(rootfs, "busybox")
        yield LookupSystem("docker", [shutil.which("docker") or "docker"], [], daemon.env())
    finally:
        stop_dockerd(daemon, parent)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--runs", type=int, default=7, help="timed runs per system")
    ap.add_argument("--lookups", type=int, default=2000, help="queries per round")
    ap.add_argument("--no-docker", action="store_true")
    args = ap.parse_args()
    parent = "dockyard-bench-" + secrets.token_hex(3)
    with tempfile.TemporaryDirectory(prefix="dockyard-dnsbench-") as tmp, \
            contextlib.ExitStack() as stack:
        base = Path(tmp)
        stack.callback(stop_warm_engines, tmp)  # the dockyard commands started one
        stack.callback(remove_cgroup_parent, parent)
        rootfs = make_busybox_rootfs(base / "rootfs")
        ours = stack.enter_context(_dockyard(base / "dockyard", parent, None))
        systems = [LookupSystem("dockyard", ours.argv, [], ours.env)]
        if not args.no_docker and shutil.which("dockerd"):
            try:
                systems.append(stack.enter_context(_docker(base / "docker", rootfs, parent)))
            except (RuntimeError, subprocess.CalledProcessError) as err:
                print(f"docker: not measured ({err})")
        subnets = iter([_free_subnet(), *(_next_subnets(len(systems)))])
        for s in systems:
            s.setup(str(next(subnets)))
            stack.callback(s.teardown)
            s.round_trips(50)  # warm up (caches, the resolver)
        rtt: dict[str, list[float]] = {s.name: [] for s in systems}
        loop: dict[str, list[float]] = {s.name: [] for s in systems}
        for _ in range(args.runs):
            for s in systems:
                rtt[s.name].append(s.round_trips(args.lookups) * 1e6)
                loop[s.name].append(s.nslookup_loop(200) * 1e3)
        print(f"embedded DNS, median of {args.runs} rounds (interleaved)")
        for title, table, unit in (("A query round trip from the client's namespace", rtt,
                                    "us"),
                                   ("busybox 'nslookup target' in the client (A+AAAA, a "
                                    "process each)", loop, "ms")):
            print(f"  {title}:")
            print_medians(table, "dockyard", unit=unit, scale=1, digits=2, indent="    ")
    return 0


def _next_subnets(count: int) -> list[str]:
    """More free /24s after the first (each system gets its own)."""
    return free_subnets(count, "10.{}.7.0/24", 150, 200)


if __name__ == "__main__":
    sys.exit(main())
