"""What the default bridge adds to a container's start and removal, measured in-process.

Usage: ``.venv/bin/python benchmarks/network_inproc.py [-n 30]``

One warm Python process calls the engine facade (create, start, wait, remove) in a loop,
interleaving ``--network none`` and the default bridge, so neither the interpreter's
start nor the CLI's imports are in the figures (issue #7's must-show 6 without them).
It prints the medians of both, their difference, and a breakdown of the network's own
phases (setup: namespace, IPAM and store, bridge, nft rules, veth and addresses;
teardown: store, veth, rules, bridge, namespace) from ``perf_counter`` wrappers around
the functions that do them. State lives in a temp dir with its own network prefix and
nft table; everything is removed at the end, even on errors.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.common import (  # noqa: E402
    remove_cgroup_parent,
    stop_warm_engines,
    tar_rootfs,
)
from tests.support.busybox import make_busybox_rootfs  # noqa: E402

PHASES: dict[str, list[float]] = {}
RECORDING = [False]  # phases are kept for the bridge's runs only


def _timed(owner: Any, attr: str, label: str) -> None:
    """Wrap ``owner.attr`` so each call adds its duration to ``PHASES[label]`` (older
    trees lack some: they are left out)."""
    fn: Callable[..., Any] | None = getattr(owner, attr, None)
    if fn is None:
        return
    PHASES[label] = []  # printed in this order

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            if RECORDING[0]:
                PHASES[label].append(time.perf_counter() - start)

    setattr(owner, attr, wrapper)


def _instrument() -> None:
    from dockyard.engine import events, networking
    from dockyard.network import bridge, netns, nft, store

    _timed(networking.Networking, "setup", "setup (all of it)")
    _timed(networking.Networking, "sweep", "  sweep")
    _timed(netns, "create", "  netns pin")
    _timed(store.NetworkStore, "attach", "  store attach (with the kernel's part)")
    _timed(bridge, "ensure_bridge", "    ensure bridge")
    _timed(nft, "network_rules", "    nft network_rules")
    _timed(bridge, "add_endpoint", "    veth + addresses")
    _timed(networking.Networking, "teardown", "teardown (all of it)")
    _timed(netns, "in_use", "  netns in_use")
    _timed(netns, "remove", "  netns unpin")
    _timed(store.NetworkStore, "detach", "  store detach (with the kernel's part)")
    _timed(nft, "unpublish", "    nft unpublish")
    _timed(bridge, "remove_endpoint", "    veth delete")
    _timed(bridge, "remove_bridge", "    bridge delete")
    for name in ("remove_network_rules", "drop_table_if_empty"):
        _timed(nft, name, f"    nft {name}")
    _timed(store.NetworkStore, "endpoints", "store endpoints")
    _timed(events, "emit", "events emit (all kinds)")


def _cycle(eng: Any, network: str) -> float:
    start = time.perf_counter()
    cid = eng.create(None, {"Image": "busybox", "Cmd": ["true"]},
                     {"NetworkMode": network}, None)["Id"]
    eng.start(cid)
    eng.wait(cid, timeout=20)
    eng.remove(cid)
    return time.perf_counter() - start


@contextlib.contextmanager
def _engine(base: Path, parent: str) -> Iterator[Any]:
    from dockyard.engine import Engine
    from dockyard.settings import Roots

    roots = Roots(base / "root", base / "run")
    image = tar_rootfs(make_busybox_rootfs(base / "rootfs"), base / "busybox.tar")
    subprocess.run([sys.executable, "-m", "dockyard.cli.main", "--root", str(roots.root),
                    "--run-root", str(roots.run_root), "import", str(image), "busybox"],
                   check=True, capture_output=True, env=dict(os.environ, DOCKYARD_WARM="0"))
    eng = Engine(roots, cgroup_parent=parent)
    try:
        yield eng
    finally:
        for c in eng.list(all=True):
            with contextlib.suppress(Exception):
                eng.remove(c["Id"], force=True)
        from tests.support.netclean import clean_networks

        clean_networks(roots.root, roots.run_root)
        stop_warm_engines(base)
        subprocess.run(["umount", "-R", "-l", str(roots.run_root)], capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=30, help="timed runs of each (default 30)")
    args = parser.parse_args()
    token = "bn" + secrets.token_hex(3)
    os.environ["DOCKYARD_NET_PREFIX"] = token
    parent = f"dockyard-bench-{token}"
    with tempfile.TemporaryDirectory(prefix="dy-netbench-") as tmp, \
            _engine(Path(tmp), parent) as eng:
        try:
            for _ in range(3):  # warm-up: imports, the predefined networks, caches
                _cycle(eng, "none")
                _cycle(eng, "bridge")
            _instrument()
            times: dict[str, list[float]] = {"none": [], "bridge": []}
            for _ in range(args.n):
                for mode in times:
                    RECORDING[0] = mode == "bridge"
                    times[mode].append(_cycle(eng, mode))
            RECORDING[0] = False
        finally:
            remove_cgroup_parent(parent)
    none, bridged = (statistics.median(times[m]) * 1000 for m in ("none", "bridge"))
    print(f"create+start+wait+remove of busybox true, in-process, median of {args.n}:")
    print(f"  --network none  {none:7.1f} ms")
    print(f"  default bridge  {bridged:7.1f} ms   (+{bridged - none:.1f} ms)")
    print("network phases of the bridge's runs (ms per run, calls per run):")
    for label, values in PHASES.items():
        if values:
            print(f"  {label:40s} {sum(values) * 1000 / args.n:7.2f}"
                  f"   x{len(values) / args.n:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
