"""Storage side by side: ``run`` with a named volume and a bind mount, and ``cp`` of a
tree into and out of a running container, ``dockyard`` against docker 20.10, in one run.

Usage: ``.venv/bin/python benchmarks/volumes.py [-n 7] [--no-docker]``

The tree is 1000 files of 4 KiB to 64 KiB (about 33 MiB) in 20 directories. Runs are
interleaved (dockyard, docker, …) after a warm-up; the script prints medians and the
ratios dockyard/docker. The private dockerd and everything the runs made are removed at
the end, even on errors.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.common import (  # noqa: E402
    print_kinds,
    remove_cgroup_parent,
    stop_warm_engines,
    tar_rootfs,
    timed_run,
)
from tests.support.busybox import make_busybox_rootfs  # noqa: E402

DOCKYARD = Path(sys.executable).with_name("dockyard")


def _tree(base: Path) -> Path:
    rnd = random.Random(8)
    top = base / "tree"
    for d in range(20):
        (top / f"d{d}").mkdir(parents=True)
        for f in range(50):
            (top / f"d{d}" / f"f{f}").write_bytes(os.urandom(rnd.randint(4, 64) * 1024))
    return top


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--runs", type=int, default=7, help="timed runs of each kind")
    ap.add_argument("--no-docker", action="store_true")
    args = ap.parse_args()
    parent = "dockyard-bench-" + secrets.token_hex(3)
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-") as tmp, \
            contextlib.ExitStack() as stack:
        base = Path(tmp)
        stack.callback(stop_warm_engines, tmp)  # the dockyard commands started one
        stack.callback(remove_cgroup_parent, parent)
        rootfs = make_busybox_rootfs(base / "rootfs")
        tree = _tree(base)
        hostdir = base / "bind"
        hostdir.mkdir()
        env = dict(os.environ, DOCKYARD_CGROUP_PARENT=parent)
        dy = [str(DOCKYARD), "--root", str(base / "dy" / "root"), "--run-root",
              str(base / "dy" / "run")]
        subprocess.run([*dy, "import", str(tar_rootfs(rootfs, base / "busybox.tar")),
                        "busybox:latest"],
                       env=env, check=True, capture_output=True)
        systems: dict[str, tuple[list[str], dict[str, str]]] = {"dockyard": (dy, env)}
        stack.callback(subprocess.run, [*dy, "rm", "-f", "-v", "box"], env=env,
                       capture_output=True)
        if not args.no_docker and shutil.which("dockerd"):
            from tests.support.dockerd import start_dockerd, stop_dockerd

            daemon = start_dockerd(base / "docker", f"{parent}-docker")
            stack.callback(stop_dockerd, daemon, f"{parent}-docker")
            daemon.import_rootfs(rootfs, "busybox:latest")
            systems["docker"] = (["/usr/bin/docker"], daemon.env())
        for argv, e in systems.values():
            timed_run([*argv, "run", "-d", "--name", "box", "--network", "none", "busybox",
                       "sleep", "3600"], e)
        kinds = {
            "run (no mounts)": lambda: ["run", "--rm", "--network", "none", "busybox",
                                        "true"],
            "run -v vol": lambda: ["run", "--rm", "--network", "none", "-v", "vol:/data",
                                   "busybox", "true"],
            "run -v bind": lambda: ["run", "--rm", "--network", "none", "-v",
                                    f"{hostdir}:/h", "busybox", "true"],
            "cp in (33 MiB)": lambda: ["cp", str(tree), "box:/tmp/"],
            "cp out (33 MiB)": lambda: ["cp", "box:/tmp/tree", str(base / "out" /
                                                               secrets.token_hex(4))],
        }
        (base / "out").mkdir()
        for argv, e in systems.values():  # warm up
            for make in kinds.values():
                timed_run([*argv, *make()], e)
        times: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.runs):
            for kind, make in kinds.items():
                for name, (argv, e) in systems.items():
                    times.setdefault((name, kind), []).append(timed_run([*argv, *make()], e))
            shutil.rmtree(base / "out")
            (base / "out").mkdir()
        print(f"storage: median of {args.runs}, interleaved")
        print_kinds(times, list(kinds), 16)
        for argv, e in systems.values():
            subprocess.run([*argv, "rm", "-f", "-v", "box"], env=e, capture_output=True)
            subprocess.run([*argv, "volume", "rm", "vol"], env=e, capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
