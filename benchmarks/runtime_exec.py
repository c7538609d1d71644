"""``exec /bin/true`` into a running busybox container: dockyard-runtime vs runc.

Usage: ``python benchmarks/runtime_exec.py [-n RUNS]`` (as root). Each runtime starts
one ``sleep`` container of the same bundle (its own ``--root``, cgroups under
``/dockyard-bench-exec-<pid>``), then the execs run interleaved, one of each per
round; medians of wall-clock and process-tree CPU time are printed with ratios to
runc. Also shown: the floor (the interpreter starting and doing nothing) and what
dockyard-runtime's exec pays for CVE-2019-5736 (``selfcopy.py``): a sealed copy of its
interpreter, timed in-process.
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
sys.path[:0] = [str(ROOT / "src"), str(ROOT), str(ROOT / "benchmarks")]

from runtime_run import _bundle, _time  # noqa: E402

from dockyard.runtime.launcher import runtime_python, write_launcher  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--runs", type=int, default=30)
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="dockyard-bench-exec-"))
    cgroup = f"/dockyard-bench-exec-{os.getpid()}"
    cmds: dict[str, list[str]] = {}
    peers = {"dockyard-runtime": "", "runc": shutil.which("runc")}
    try:
        bundle = _bundle(base, cgroup + "/c", True)
        config = json.loads((bundle / "config.json").read_text())
        config["process"]["args"] = ["/bin/sleep", "3600"]
        launcher = write_launcher(base / "dockyard-runtime")
        peers["dockyard-runtime"] = str(launcher)
        for name, path in peers.items():
            if path is None:
                print(f"{name}: not installed, skipped")
                continue
            config["linux"]["cgroupsPath"] = f"{cgroup}/{name}"
            (bundle / "config.json").write_text(json.dumps(config))
            state = str(base / f"state-{name}")
            r = subprocess.run([path, "--root", state, "run", "--detach", "--bundle",
                                str(bundle), name], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               check=False)
            if r.returncode != 0:
                raise SystemExit(f"{name}: run --detach failed ({r.returncode})")
            cmds[name] = [path, "--root", state, "exec", name, "/bin/true"]
        cmds["python -SI -c pass"] = [runtime_python(), "-S", "-I", "-c", "pass"]
        times: dict[str, list[float]] = {name: [] for name in cmds}
        cpu: dict[str, list[float]] = {name: [] for name in cmds}
        for i in range(args.runs + 2):  # two warm-up rounds, not counted
            for name, cmd in cmds.items():
                t, c = _time(cmd)
                if i >= 2:
                    times[name].append(t)
                    cpu[name].append(c)
        from dockyard.runtime.selfcopy import sealed_copy

        copies = []
        for _ in range(args.runs):
            start = time.perf_counter()
            os.close(sealed_copy(os.path.realpath(runtime_python())))
            copies.append((time.perf_counter() - start) * 1000)
        runc = statistics.median(times["runc"]) if "runc" in times else None
        runc_cpu = statistics.median(cpu["runc"]) if "runc" in cpu else None
        print(f"{'exec /bin/true':<20}{'median ms':>10}{'vs runc':>9}{'cpu ms':>9}{'vs runc':>9}")
        for name, ts in times.items():
            med, c = statistics.median(ts), statistics.median(cpu[name])
            ratio = f"{med / runc:.2f}x" if runc else "-"
            cpu_ratio = f"{c / runc_cpu:.2f}x" if runc_cpu else "-"
            print(f"{name:<20}{med:>10.1f}{ratio:>9}{c:>9.1f}{cpu_ratio:>9}")
        print(f"{'sealed copy':<20}{statistics.median(copies):>10.1f}"
              f"   ({os.path.getsize(os.path.realpath(runtime_python())) >> 10} KiB)")
    finally:
        for name, cmd in cmds.items():
            if name in peers:
                subprocess.run([cmd[0], "--root", cmd[2], "delete", "--force", name],
                               capture_output=True, check=False)
        shutil.rmtree(base, ignore_errors=True)
        for top in Path("/sys/fs/cgroup").iterdir():
            for d in (*(top / cgroup.lstrip("/") / n for n in peers),
                      top / cgroup.lstrip("/")):
                try:
                    d.rmdir()
                except OSError:
                    pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
