"""Operations side by side with docker 20.10: health probes, restarts, stats, events.

    .venv/bin/python benchmarks/ops.py [--rounds 5]

For each system, in the same run (medians, milliseconds):

- probe: how long one health check takes (``Health.Log`` End - Start) for
  ``--health-cmd true`` at a 200 ms interval;
- restart: the gap between ``die`` and the next ``start`` event of a ``--restart always``
  container whose command exits at once, minus the policy's own delay (100 ms doubling),
  i.e. what a restart costs beyond the back-off, over its first four restarts;
- stats: the wall time of ``stats --no-stream`` for one running container;
- events: the wall time of ``events --since 1h --until 0s`` over the run's events.

Dockyard runs through its command line over the real image store; docker through a
private dockerd (``tests/support/dockerd.py``). Everything lives under a temp dir and a
token-named cgroup parent and is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support helpers

from tests.support.busybox import make_busybox_rootfs
from tests.support.dockerd import Dockerd, start_dockerd, stop_dockerd
from tests.support.leaks import remove_cgroup_parent
from tests.support.warm import stop_engines_under as stop_warm_engines

from dockyard.engine.logs import parse_nano

Run = Callable[..., subprocess.CompletedProcess[str]]


def dockyard_cli(root: Path, parent: str) -> Run:
    exe = str(Path(sys.executable).with_name("dockyard"))
    env = dict(os.environ, DOCKYARD_CGROUP_PARENT=parent)

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run([exe, "--root", str(root / "root"), "--run-root",
                               str(root / "run"), *args], env=env, check=check,
                              capture_output=True, text=True, timeout=120)
    return run


def docker_cli(d: Dockerd) -> Run:
    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return d.docker(*args, check=check)
    return run


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def probe_ms(cli: Run, image: str) -> float:
    cli("run", "-d", "--name", "bprobe", "--network", "none", "--health-cmd", "true",
        "--health-interval", "200ms", image, "sleep", "60")
    time.sleep(2.5)
    log = json.loads(cli("inspect", "-f", "{{json .State.Health.Log}}", "bprobe").stdout)
    cli("rm", "-f", "bprobe")
    return statistics.median((parse_nano(e["End"]) - parse_nano(e["Start"])) / 1e6
                             for e in log)


def restart_ms(cli: Run, image: str) -> float:
    since = f"{time.time():.6f}"
    cli("run", "-d", "--name", "bloop", "--network", "none", "--restart", "always", image,
        "sh", "-c", "exit 1")
    time.sleep(3.5)  # 0.1 + 0.2 + 0.4 + 0.8 s of back-off, and the starts
    cli("rm", "-f", "bloop")
    out = cli("events", "--since", since, "--until", f"{time.time():.6f}", "--filter",
              "container=bloop", "--format", "{{json .}}").stdout
    evs = [json.loads(line) for line in out.splitlines() if line.strip()]
    dies = [e["timeNano"] for e in evs if e["Action"] == "die"]
    starts = [e["timeNano"] for e in evs if e["Action"] == "start"][1:]
    costs = [(s - d) / 1e6 - 100 * 2 ** i
             for i, (d, s) in enumerate(zip(dies, starts, strict=False))][:4]
    return statistics.median(costs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    token = "dyb" + secrets.token_hex(3)
    parent = f"dockyard-bench-{token}"
    base = Path(tempfile.mkdtemp(prefix=f"dy-{token}-", dir="/tmp"))
    d = None
    try:
        rootfs = make_busybox_rootfs(base / "rootfs")
        d = start_dockerd(base / "dockerd", f"{parent}-docker")
        d.import_rootfs(rootfs, "busybox")
        systems = {"dockyard": dockyard_cli(base / "dy", parent), "docker": docker_cli(d)}
        rows: dict[str, dict[str, float]] = {name: {} for name in systems}
        for name, cli in systems.items():
            rows[name]["probe"] = statistics.median(probe_ms(cli, "busybox")
                                                    for _ in range(max(1, args.rounds // 2)))
            rows[name]["restart"] = restart_ms(cli, "busybox")
            cli("run", "-d", "--name", "bstat", "--network", "none", "busybox", "sleep", "60")
            rows[name]["stats"] = statistics.median(
                timed(lambda c=cli: c("stats", "--no-stream", "bstat"))
                for _ in range(args.rounds))
            cli("rm", "-f", "bstat")
            rows[name]["events"] = statistics.median(
                timed(lambda c=cli: c("events", "--since", "1h", "--until", "0s"))
                for _ in range(args.rounds))
        print(f"{'median ms':<12}{'dockyard':>10}{'docker':>10}{'ratio':>8}")
        for key in ("probe", "restart", "stats", "events"):
            ours, theirs = rows["dockyard"][key], rows["docker"][key]
            print(f"{key:<12}{ours:>10.1f}{theirs:>10.1f}{ours / theirs:>8.2f}")
    finally:
        if d is not None:
            stop_dockerd(d, f"{parent}-docker")
        subprocess.run([str(Path(sys.executable).with_name("dockyard")), "--root",
                        str(base / "dy" / "root"), "--run-root", str(base / "dy" / "run"),
                        "rm", "-f", "bprobe", "bloop", "bstat"], capture_output=True,
                       check=False)
        stop_warm_engines(base)
        remove_cgroup_parent(parent)
        subprocess.run(["rm", "-rf", str(base)], check=False)


if __name__ == "__main__":
    main()
