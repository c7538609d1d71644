"""The reference build of PEERS.md (2 stages, 4 RUN, a 10 MiB COPY), cold and fully
cached: ``dockyard build`` against ``docker build`` with BuildKit, in one run.

Usage: ``.venv/bin/python benchmarks/build.py [-n 7] [--no-docker]``

Both systems get the same busybox rootfs as ``busybox:latest`` and the same context.
*Cold* is ``build --no-cache`` (every step runs; the base image is already unpacked in
both), *cached* is a plain rebuild of an unchanged context (every step a cache hit).
Runs are interleaved (dockyard, docker, dockyard, …) after a warm-up; the script prints
medians and the ratios dockyard/docker. The private dockerd and everything the runs
made are removed at the end, even on errors.
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

DOCKERFILE = """\
FROM busybox AS build
COPY blob.bin /src/blob.bin
RUN sha256sum /src/blob.bin > /src/sum
RUN mkdir -p /out && cp /src/sum /out/ && head -c 1048576 /src/blob.bin > /out/part
FROM busybox
COPY --from=build /out /app
RUN ls -l /app > /app/list
RUN echo done > /app/done
CMD ["cat", "/app/list"]
"""

# ``dockyard build`` until cli/main.py lists cli/build.py among its command modules.
_DOCKYARD_MAIN = ("import sys; from dockyard.cli import main as m; "
                  "from dockyard.cli.build import register; register(m.cli); "
                  "sys.exit(m.main(sys.argv[1:]))")


def _context(base: Path) -> Path:
    ctx = base / "ctx"
    ctx.mkdir(parents=True)
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    (ctx / "blob.bin").write_bytes(os.urandom(10 << 20))
    return ctx


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
        ctx = _context(base)
        env = dict(os.environ, DOCKYARD_CGROUP_PARENT=parent,
                   PYTHONPYCACHEPREFIX=str(base / "pycache"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        dy = [sys.executable, "-c", _DOCKYARD_MAIN, "--root", str(base / "dy" / "root"),
              "--run-root", str(base / "dy" / "run")]
        subprocess.run([*dy, "import", str(tar_rootfs(rootfs, base / "busybox.tar")),
                        "busybox:latest"],
                       env=env, check=True, capture_output=True)
        systems: dict[str, tuple[list[str], dict[str, str]]] = {"dockyard": (dy, env)}
        if not args.no_docker and shutil.which("dockerd"):
            from tests.support.dockerd import start_dockerd, stop_dockerd

            daemon = start_dockerd(base / "docker", f"{parent}-docker")
            stack.callback(stop_dockerd, daemon, f"{parent}-docker")
            daemon.import_rootfs(rootfs, "busybox:latest")
            denv = dict(daemon.env(), DOCKER_BUILDKIT="1")
            systems["docker"] = (["/usr/bin/docker"], denv)
        extra = {"dockyard": [], "docker": ["--network", "none"]}
        times: dict[tuple[str, str], list[float]] = {}
        for name, (argv, e) in systems.items():  # warm up both kinds
            timed_run([*argv, "build", *extra[name], "-q", "--no-cache", "-t", "ref:1",
                       str(ctx)], e)
            timed_run([*argv, "build", *extra[name], "-q", "-t", "ref:1", str(ctx)], e)
        for _ in range(args.runs):
            for kind, flags in (("cold", ["--no-cache"]), ("cached", [])):
                for name, (argv, e) in systems.items():
                    times.setdefault((name, kind), []).append(timed_run(
                        [*argv, "build", *extra[name], "-q", *flags, "-t", "ref:1",
                         str(ctx)], e))
        print(f"reference build (2 stages, 4 RUN, 10 MiB COPY): median of {args.runs}, "
              "interleaved")
        print_kinds(times, ["cold", "cached"], 6, "docker/BuildKit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
