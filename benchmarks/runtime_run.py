"""``run`` of a busybox ``/bin/true`` bundle: dockyard-runtime vs runc vs crun.

Usage: ``python benchmarks/runtime_run.py [-n RUNS]`` (as root). All runtimes run the
same bundle, interleaved (one of each per round), each with its own ``--root`` and a
cgroup under ``/dockyard-bench-<pid>``; medians and ratios to runc are printed.

dockyard-runtime is called through its fast launcher (``#!<python> -SI``, see
``dockyard.runtime.launcher``; the interpreter is ``runtime_python()``), the way the
engine calls it. crun 1.8 refuses this
machine's hybrid cgroup layout, so it runs inside ``unshare -m`` with /dev/null bound
over /sys/fs/cgroup/unified/cgroup.controllers (PEERS.md); the wrapper's own cost is
measured with ``true`` and shown so it can be subtracted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.support.busybox import make_busybox_rootfs  # noqa: E402

from dockyard.runtime.launcher import runtime_python, write_launcher  # noqa: E402
from dockyard.runtime.spec import default_spec  # noqa: E402

CONTROLLERS = "/sys/fs/cgroup/unified/cgroup.controllers"


def _bundle(base: Path, cgroup: str, docker: bool) -> Path:
    bundle = base / "bundle"
    make_busybox_rootfs(bundle / "rootfs")
    config = default_spec(args=["/bin/true"], terminal=False)
    config["process"].pop("rlimits")
    config["linux"]["cgroupsPath"] = cgroup
    if docker:  # what the engine hands over: Docker's caps, seccomp and masked paths
        from dockyard.oci import docker_defaults as dd

        caps = list(dd.DEFAULT_CAPABILITIES)
        config["process"]["capabilities"] = {k: caps for k in
                                             ("bounding", "effective", "permitted")}
        config["linux"]["seccomp"] = dd.default_seccomp_profile()
        config["linux"]["maskedPaths"] = list(dd.MASKED_PATHS)
        config["linux"]["readonlyPaths"] = list(dd.READONLY_PATHS)
    (bundle / "config.json").write_text(json.dumps(config))
    return bundle


def _crun_prefix() -> list[str]:
    if not os.path.exists(CONTROLLERS):
        return []
    return ["unshare", "-m", "sh", "-c",
            f"mount --bind /dev/null {CONTROLLERS} && exec \"$0\" \"$@\""]


def _time(cmd: list[str]) -> float:
    start = time.perf_counter()
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if r.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({r.returncode}): {r.stderr.decode()[-500:]}")
    return elapsed * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--runs", type=int, default=30)
    ap.add_argument("--docker", action="store_true",
                    help="use Docker's default capabilities, seccomp profile, masked paths")
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="dockyard-bench-"))
    cgroup = f"/dockyard-bench-{os.getpid()}"
    try:
        bundle = _bundle(base, cgroup + "/c", args.docker)
        launcher = write_launcher(base / "dockyard-runtime")
        cmds: dict[str, list[str]] = {"dockyard-runtime": [str(launcher)]}
        for name in ("runc", "crun"):
            path = shutil.which(name)
            if path:
                cmds[name] = [*(_crun_prefix() if name == "crun" else []), path]
        if "crun" in cmds and cmds["crun"][0] == "unshare":
            cmds["crun-wrapper-only"] = [*_crun_prefix(), "true"]
        # The floor under dockyard-runtime: its interpreter starting and doing nothing.
        cmds["python -SI -c pass"] = [runtime_python(), "-S", "-I", "-c", "pass"]
        times: dict[str, list[float]] = {name: [] for name in cmds}
        times["dockyard (library)"] = []
        from dockyard.runtime.run import run

        for i in range(args.runs + 2):  # two warm-up rounds, not counted
            for name, cmd in cmds.items():
                if name in ("crun-wrapper-only", "python -SI -c pass"):
                    t = _time(cmd)
                else:
                    t = _time([*cmd, "--root", str(base / f"state-{name}"), "run",
                               "--bundle", str(bundle), f"{name}-{i}"])
                if i >= 2:
                    times[name].append(t)
            # The engine's path: the library called in-process, no interpreter start.
            start = time.perf_counter()
            code = run(base / "state-lib", f"lib-{i}", bundle)
            if code != 0:
                raise SystemExit(f"library run failed ({code})")
            if i >= 2:
                times["dockyard (library)"].append((time.perf_counter() - start) * 1000)
        runc = statistics.median(times["runc"]) if "runc" in times else None
        print(f"dockyard-runtime's interpreter: {runtime_python()}")
        print(f"{'runtime':<20}{'median ms':>10}{'p10':>8}{'p90':>8}{'vs runc':>9}")
        for name, ts in times.items():
            qs = statistics.quantiles(ts, n=10)
            med = statistics.median(ts)
            ratio = f"{med / runc:.2f}x" if runc else "-"
            print(f"{name:<20}{med:>10.1f}{qs[0]:>8.1f}{qs[-1]:>8.1f}{ratio:>9}")
        if "crun-wrapper-only" in times:
            adj = statistics.median(times["crun"]) - statistics.median(times["crun-wrapper-only"])
            print(f"crun without wrapper ~{adj:.1f} ms")
        if "crun" not in cmds:
            print("crun: not installed, skipped")
    finally:
        shutil.rmtree(base, ignore_errors=True)
        for top in Path("/sys/fs/cgroup").iterdir():
            for d in (top / cgroup.lstrip("/") / "c", top / cgroup.lstrip("/")):
                try:
                    d.rmdir()
                except OSError:
                    pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
