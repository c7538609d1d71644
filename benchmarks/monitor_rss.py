"""Memory of an idle container's monitor, beside conmon (podman) and containerd-shim (docker).

    .venv/bin/python benchmarks/monitor_rss.py [--count 10] [--no-peers]

Starts idle containers (``sleep``) through each system, waits for them to settle and
reads RSS and PSS of each per-container process from ``/proc/<pid>/smaps_rollup``:
Dockyard's monitor, forked by its spawner and launched directly (runc underneath),
podman's conmon (runc, vfs storage, private roots) and docker's containerd-shim-runc-v2
(a private dockerd). "start" is the median time to get one container running: for
Dockyard ``start_monitor`` (monitor + runc create + start), for the peers the whole
``run -d`` command. PSS divides shared pages among the processes sharing them, so it is printed
for the first container alone and as the median over ``--count`` containers. Everything
lives under a temp dir and a token-named cgroup parent, and is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support helpers

from tests.support.busybox import make_busybox_rootfs
from tests.support.dockerd import start_dockerd, stop_dockerd
from tests.support.leaks import remove_cgroup_parent

from dockyard.engine.logs import parse_log_config
from dockyard.engine.monitor import (
    MonitorConfig,
    monitor_pid,
    start_monitor,
    wait_exit,
)

SETTLE = 1.0


def rollup(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of a process in MiB."""
    fields: dict[str, int] = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[2] == "kB":
                fields[parts[0].rstrip(":")] = int(parts[1])
    return fields["Rss"] / 1024, fields["Pss"] / 1024


def report(name: str, pids: list[int], first: tuple[float, float], start_ms: float) -> None:
    values = [rollup(p) for p in pids]
    rss = statistics.median(v[0] for v in values)
    pss = statistics.median(v[1] for v in values)
    print(f"{name:<40} {first[0]:6.2f} {first[1]:6.2f}   {rss:6.2f} {pss:6.2f}  "
          f"{start_ms:7.1f}  (n={len(pids)})")


def measure(name: str, start_one: Callable[[int], int], count: int) -> tuple[float, float]:
    """Start ``count`` idle containers; print memory and the median start time."""
    times: list[float] = []

    def timed(i: int) -> int:
        t0 = time.perf_counter()
        pid = start_one(i)
        times.append((time.perf_counter() - t0) * 1000)
        return pid

    pids = [timed(0)]
    time.sleep(SETTLE)
    first = rollup(pids[0])
    for i in range(1, count):
        pids.append(timed(i))
    time.sleep(SETTLE)
    report(name, pids, first, statistics.median(times))
    return first


def dockyard(base: Path, rootfs: Path, parent: str, count: int, how: str) -> None:
    runc_root = base / "runc"
    started: list[MonitorConfig] = []
    base.mkdir(parents=True)
    subprocess.run(["runc", "spec", "--bundle", str(base)], check=True, capture_output=True)
    template = json.loads((base / "config.json").read_text())
    (base / "config.json").unlink()

    def start_one(i: int) -> int:
        cid = f"bench{i}"
        bundle = base / "bundles" / cid
        bundle.mkdir(parents=True)
        spec = json.loads(json.dumps(template))
        spec["root"] = {"path": str(rootfs), "readonly": True}
        spec["process"].update(terminal=False, args=["sleep", "3600"])
        spec["linux"]["cgroupsPath"] = f"/{parent}/{cid}"
        (bundle / "config.json").write_text(json.dumps(spec))
        cfg = MonitorConfig(
            id=cid, bundle=str(bundle), runtime=["runc", "--root", str(runc_root)],
            container_dir=str(base / "root" / cid), run_dir=str(base / "run" / cid),
            tty=False, stdin=False, stdin_once=False, log=parse_log_config("json-file"),
            autostart=True, cgroups_path=f"/{parent}/{cid}")
        started.append(cfg)
        start_monitor(cfg)
        pid = monitor_pid(cfg["run_dir"])
        assert pid is not None
        return pid

    py = os.environ.get("DOCKYARD_MONITOR_PYTHON") or sys.executable
    try:
        measure(f"dockyard monitor ({how}, {Path(py).name} {_version(py)})", start_one, count)
    finally:
        for cfg in started:
            subprocess.run(["runc", "--root", str(runc_root), "kill", cfg["id"], "KILL"],
                           capture_output=True, check=False)
        for cfg in started:
            try:
                wait_exit(cfg["run_dir"], cfg["container_dir"], timeout=20)
            except Exception as e:  # keep cleaning the others
                print(f"  cleanup {cfg['id']}: {e}", file=sys.stderr)


def _version(py: str) -> str:
    return subprocess.run([py, "-c", "import platform; print(platform.python_version())"],
                          capture_output=True, text=True, check=False).stdout.strip()


def podman(base: Path, tar_path: Path, parent: str, count: int) -> None:
    if not shutil.which("podman") or not shutil.which("runc"):
        print("conmon (podman): not installed")
        return
    cmd = ["podman", "--root", str(base / "storage"), "--runroot", str(base / "runroot"),
           "--storage-driver", "vfs", "--runtime", "runc", "--cgroup-manager", "cgroupfs",
           "--events-backend", "file", "--tmpdir", str(base / "tmp")]

    def run(*args: str) -> str:
        out = subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=120,
                             check=False)
        if out.returncode != 0:
            raise RuntimeError(f"podman {args[0]}: {out.stderr.strip()[-300:]}")
        return out.stdout.strip()

    def start_one(i: int) -> int:
        # Podman asks for rlimits above the hard limits this machine gives root.
        cid = run("run", "-d", "--network", "none", "--ulimit", "nofile=1024:1024",
                  "--ulimit", "nproc=1024:1024",
                  "--cgroup-parent", f"/{parent}",
                  "bench-busybox", "sleep", "3600")
        return int(run("inspect", "--format", "{{.State.ConmonPid}}", cid))

    try:
        run("import", str(tar_path), "bench-busybox")
        measure(f"conmon ({run('version', '--format', '{{.Client.Version}}')}, runc)",
                start_one, count)
    except RuntimeError as e:
        print(f"conmon (podman): could not run here: {e}")
    finally:
        subprocess.run([*cmd, "rm", "-f", "-a", "-t", "0"], capture_output=True, check=False,
                       timeout=120)
        subprocess.run([*cmd, "system", "reset", "-f"], capture_output=True, check=False,
                       timeout=120)


def docker(base: Path, rootfs: Path, parent: str, count: int) -> None:
    try:
        d = start_dockerd(base / "dockerd", parent)
    except RuntimeError as e:
        print(f"containerd-shim (docker): could not start dockerd: {e}")
        return

    def start_one(i: int) -> int:
        cid = d.docker("run", "-d", "--network", "none", "bench-busybox",
                       "sleep", "3600").stdout.strip()
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"containerd-shim" in cmdline[0] and cid.encode() in b" ".join(cmdline):
                return int(pid)
        raise RuntimeError(f"no containerd-shim found for {cid}")

    try:
        d.import_rootfs(rootfs, "bench-busybox")
        measure("containerd-shim-runc-v2 (docker 20.10)", start_one, count)
    except (RuntimeError, subprocess.CalledProcessError) as e:
        print(f"containerd-shim (docker): could not run here: {e}")
    finally:
        stop_dockerd(d, parent)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=10, help="idle containers per system")
    ap.add_argument("--no-peers", action="store_true", help="measure only Dockyard")
    args = ap.parse_args()
    token = "dyb" + secrets.token_hex(3)
    parent = f"dockyard-bench-{token}"
    base = Path(tempfile.mkdtemp(prefix=f"monitor-rss-{token}-"))
    try:
        rootfs = make_busybox_rootfs(base / "rootfs")
        tar_path = base / "rootfs.tar"
        with tarfile.open(tar_path, "w") as tar:
            tar.add(rootfs, arcname=".")
        print(f"{'per-container process (MiB)':<40} {'first':>6} {'':>6}   {'median':>6}"
              f" {'':>6}  {'start':>7}")
        print(f"{'':<40} {'RSS':>6} {'PSS':>6}   {'RSS':>6} {'PSS':>6}  {'ms':>7}")
        dockyard(base / "dy", rootfs, parent, args.count, "spawner")
        os.environ["DOCKYARD_MONITOR_SPAWNER"] = "0"
        dockyard(base / "dy-direct", rootfs, parent, args.count, "direct")
        del os.environ["DOCKYARD_MONITOR_SPAWNER"]
        if not args.no_peers:
            podman(base / "podman", tar_path, parent, args.count)
            docker(base, rootfs, parent, args.count)
        print("goal for the monitor: RSS <= 8 MiB, PSS <= 2.6 MiB per idle container")
    finally:
        remove_cgroup_parent(parent, children=True)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
