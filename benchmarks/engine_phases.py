"""The engine's own work for ``run --rm --network none busybox true``, in one warm process.

Usage: ``.venv/bin/python benchmarks/engine_phases.py [-n 30] [--idle 50] [--profile]
[--runtime runc]``

No interpreter start and no CLI: one ``Engine`` calls create, start, wait (until the exit
code) and the removal (``wait(condition="removed")``, which tidies at once) in a loop,
the way ``run --rm`` does, and prints the median of each phase and of the whole, plus the
CPU the whole machine spent per run (from ``/proc/stat``: the monitor, the runtime, the
spawner and any background helper count too, which a 2-core machine pays for). Then
``--idle`` containers are started with ``run -d``'s path (create + start, no wait) and
removed. ``--profile`` prints the top of a cProfile of the loop (this process only).
Everything lives under a temp dir and a token-named cgroup parent, removed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import pstats
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.common import remove_cgroup_parent  # noqa: E402

PHASES = ("create", "start", "wait", "remove")


def _cpu_ticks() -> int:
    """Busy clock ticks of the whole machine so far (user+nice+system+irq+softirq)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return fields[0] + fields[1] + fields[2] + fields[5] + fields[6]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--runs", type=int, default=30)
    ap.add_argument("--idle", type=int, default=50, help="idle run -d (0: skip)")
    ap.add_argument("--runtime", default=None, help="dockyard (default), runc or crun")
    ap.add_argument("--profile", action="store_true", help="cProfile the timed loop")
    args = ap.parse_args()
    if args.runtime:
        os.environ["DOCKYARD_RUNTIME"] = args.runtime
    from dockyard.engine import Engine
    from dockyard.engine.monitor.client import wait_exit
    from dockyard.errors import NotFound
    from dockyard.settings import Roots

    parent = "dockyard-bench-" + secrets.token_hex(3)
    hz = os.sysconf("SC_CLK_TCK")
    with tempfile.TemporaryDirectory(prefix="dy-phases-") as tmp, \
            contextlib.ExitStack() as stack:
        stack.callback(remove_cgroup_parent, parent)
        roots = Roots(Path(tmp) / "root", Path(tmp) / "run")
        eng = Engine(roots, cgroup_parent=parent)
        stack.callback(_remove_all, eng)
        stack.callback(_stop_spawner, roots)
        hc = {"NetworkMode": "none", "AutoRemove": True}
        cfg = {"Image": "busybox", "Cmd": ["true"]}

        def one(times: dict[str, list[float]] | None) -> None:
            t0 = time.perf_counter()
            cid = eng.create(None, cfg, hc)["Id"]
            t1 = time.perf_counter()
            eng.start(cid)
            t2 = time.perf_counter()
            # What the monitor answers a waiter (the CLI follows the log until then).
            code = wait_exit(eng.run_dir(cid), eng.container_dir(cid))
            t3 = time.perf_counter()
            with contextlib.suppress(NotFound):  # a background tidy may have been first
                eng.wait(cid, "removed")
            t4 = time.perf_counter()
            if code != 0 or cid in eng.lc.store.ids():
                raise SystemExit(f"run failed: exit code {code}, record left: "
                                 f"{cid in eng.lc.store.ids()}")
            if times is not None:
                for name, a, b in zip(PHASES, (t0, t1, t2, t3), (t1, t2, t3, t4),
                                      strict=True):
                    times[name].append(b - a)
                times["total"].append(t4 - t0)

        for _ in range(3):  # warm-up: the image, the spawner, caches
            one(None)
        times: dict[str, list[float]] = {p: [] for p in (*PHASES, "total")}
        cpu: list[float] = []
        prof = cProfile.Profile() if args.profile else None
        for _ in range(args.runs):
            c0 = _cpu_ticks()
            if prof:
                prof.enable()
            one(times)
            if prof:
                prof.disable()
            cpu.append((_cpu_ticks() - c0) / hz)
        print(f"in-process run --rm --network none busybox true: median of {args.runs}, "
              f"runtime {args.runtime or 'default'}")
        for name, values in times.items():
            print(f"  {name:8s} {statistics.median(values) * 1000:7.1f} ms   (min "
                  f"{min(values) * 1000:.1f}, max {max(values) * 1000:.1f})")
        print(f"  machine CPU per run {statistics.median(cpu) * 1000:7.1f} ms "
              f"(all processes; tick {1000 / hz:.0f} ms)")
        if prof:
            pstats.Stats(prof).sort_stats("cumulative").print_stats(40)
        if args.idle:
            hc_d = {"NetworkMode": "none"}
            cfg_d = {"Image": "busybox", "Cmd": ["sleep", "3600"]}
            t0 = time.perf_counter()
            ids = []
            for _ in range(args.idle):
                cid = eng.create(None, cfg_d, hc_d)["Id"]
                eng.start(cid)
                ids.append(cid)
            started = time.perf_counter() - t0
            t0 = time.perf_counter()
            for cid in ids:
                eng.remove(cid, force=True)
            removed = time.perf_counter() - t0
            print(f"{args.idle} idle create+start in a row: {started:.2f} s "
                  f"({started / args.idle * 1000:.1f} ms each); rm -f of all: {removed:.2f} s")
    return 0


def _remove_all(eng: object) -> None:
    for cid in eng.lc.store.ids():  # type: ignore[attr-defined]
        with contextlib.suppress(Exception):
            eng.remove(cid, force=True)  # type: ignore[attr-defined]


def _stop_spawner(roots: object) -> None:
    try:
        from dockyard.engine.monitor.client import stop_spawner
    except ImportError:
        return
    stop_spawner(roots.run_root)  # type: ignore[attr-defined]


if __name__ == "__main__":
    sys.exit(main())
