"""What the side-by-side benchmarks share: timing a command, medians and their printing,
the busybox image tar, free subnets, and removing the cgroups a run left behind."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import statistics
import subprocess
import tarfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path


def timed_run(argv: list[str], env: dict[str, str] | None = None) -> float:
    """Seconds ``argv`` took; a RuntimeError with the tail of its stderr if it failed."""
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): "
                           f"{proc.stderr.decode(errors='replace').strip()[-2000:]}")
    return elapsed


def median_ms(times: Sequence[float]) -> float:
    """The median of ``times`` (seconds) in milliseconds."""
    return statistics.median(times) * 1000


def print_medians(rows: Mapping[str, Sequence[float]], ours: str, *, unit: str = "ms",
                  scale: float = 1000, digits: int = 1, indent: str = "  ") -> None:
    """One line per system: median, min and max of its values (times ``scale``, in
    ``unit``), and the ratio ``ours``/that system on every other line."""
    mine = statistics.median(rows[ours])
    for name, values in rows.items():
        med = statistics.median(values)
        ratio = "" if name == ours else f"   {ours}/{name} = {mine / med:.2f}x"
        print(f"{indent}{name:9s} {med * scale:8.{digits}f} {unit}   (min "
              f"{min(values) * scale:.{digits}f}, max {max(values) * scale:.{digits}f})"
              f"{ratio}")


def print_kinds(times: Mapping[tuple[str, str], Sequence[float]], kinds: Sequence[str],
                width: int, peer: str = "docker") -> None:
    """One line per kind of run: dockyard's median, the peer's beside it and the ratio
    (``times`` is keyed by (system, kind); the peer's columns only where it ran)."""
    for kind in kinds:
        ours = median_ms(times[("dockyard", kind)])
        line = f"  {kind:{width}s} dockyard {ours:8.1f} ms"
        if ("docker", kind) in times:
            theirs = median_ms(times[("docker", kind)])
            line += f"   {peer} {theirs:8.1f} ms   dockyard/docker = {ours / theirs:.2f}x"
        print(line)


def tar_rootfs(rootfs: Path, dest: Path) -> Path:
    """``rootfs`` as an uncompressed tar at ``dest`` (for ``import``)."""
    with tarfile.open(dest, "w") as tar:
        tar.add(rootfs, arcname=".")
    return dest


def free_subnets(count: int, template: str, first: int, last: int) -> list[str]:
    """Up to ``count`` /24s ``template.format(n)`` for n in [first, last) that overlap no
    route of the host."""
    from dockyard.network.store import host_routes

    routes, out = host_routes(), []
    for n in range(first, last):
        net = ipaddress.IPv4Network(template.format(n))
        if not any(net.overlaps(r) for r in routes):
            out.append(str(net))
        if len(out) == count:
            break
    return out


def remove_cgroup_parent(parent: str) -> None:
    """rmdir the parent cgroup and what peers left below or beside it (podman's conmon,
    dockerd's ``<parent>-docker/buildkit``), deepest first, in every hierarchy."""
    for hierarchy in Path("/sys/fs/cgroup").iterdir():
        if not hierarchy.is_dir():
            continue
        for top in hierarchy.glob(f"{parent}*"):
            for dirpath, _, _ in sorted(os.walk(top), key=lambda w: -len(w[0])):
                with contextlib.suppress(OSError):
                    os.rmdir(dirpath)


def stop_warm_engines(prefix: str | Path) -> None:
    """Stop the warm engines (``dockyard.cli.warm``) of run roots under ``prefix``: the
    benchmark's ``dockyard`` commands start one, and it would idle on after the run;
    and the monitor spawners, which linger idle too (``DOCKYARD_SPAWNER_LINGER``)."""
    from tests.support.leaks import stop_spawners
    from tests.support.warm import stop_engines_under

    stop_engines_under(str(prefix))
    stop_spawners(str(prefix))
