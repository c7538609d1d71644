"""Apply and diff a 100 MiB layer of 10,000 files, beside GNU tar on the same data.

    .venv/bin/python benchmarks/layers.py [--files 10000] [--size-mib 100] [--runs 5]

Prints the median of each measurement (MB/s and files/s) and Dockyard's ratio to tar
measured in the same run (interleaved): apply (`tar -x`), apply of the gzip layer (`tar -xz`), and
diff of the resulting tree into a layer (`tar -c`). The machine is shared and noisy, so
only the ratios mean anything.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from dockyard.images.layers import Format, apply_layer, write_diff


def make_tree(root: Path, files: int, total: int) -> None:
    """``files`` files in 100 directories, ``total`` bytes in all, varied sizes."""
    rnd = os.urandom(1 << 20)
    avg = total // files
    for i in range(files):
        d = root / f"dir{i % 100:02}" / f"sub{i % 7}"
        d.mkdir(parents=True, exist_ok=True)
        size = avg // 2 + (i * 7919) % avg  # between avg/2 and 3*avg/2
        off = (i * 104729) % ((1 << 20) - size) if size < (1 << 20) else 0
        (d / f"file{i:05}").write_bytes(rnd[off:off + size])
        if i % 50 == 0:
            os.symlink(f"file{i:05}", d / f"link{i:05}")


def paired(ours: Callable[[], None], peer: Callable[[], None], prepare: Callable[[], None],
           runs: int) -> tuple[float, float]:
    """Median seconds of each, runs interleaved so drift on a shared machine hits both."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for i, fn in enumerate((ours, peer)):
            prepare()
            start = time.perf_counter()
            fn()
            times[i].append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--size-mib", type=int, default=100)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dir", default="/dev/shm" if os.path.isdir("/dev/shm") else None,
                    help="scratch directory (default /dev/shm: measures the code, not the "
                         "disk; pass a disk path to include it)")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="dy-bench-layers-", dir=args.dir))
    try:
        src = work / "src"
        make_tree(src, args.files, args.size_mib << 20)
        layer = work / "layer.tar"
        with open(layer, "wb") as f:
            write_diff(src, f)
        layer_gz = work / "layer.tar.gz"
        layer_gz.write_bytes(gzip.compress(layer.read_bytes(), compresslevel=1, mtime=0))
        entries = sum(len(d) + len(f) for _, d, f in os.walk(src))
        mib = layer.stat().st_size / (1 << 20)
        dest = work / "dest"

        def fresh() -> None:
            if dest.exists():
                shutil.rmtree(dest)
            dest.mkdir()
            subprocess.run(["sync"], check=True)

        def ours(path: Path, fmt: Format = Format.DIR) -> Callable[[], None]:
            def run() -> None:
                with open(path, "rb") as f:
                    apply_layer(f, dest, format=fmt)
            return run

        def gnu(*flags: str) -> Callable[[], None]:
            def run() -> None:
                subprocess.run(["tar", *flags, "--numeric-owner", "-p", "-C", str(dest),
                                "-f", str(layer_gz if "-z" in flags else layer)], check=True)
            return run

        def diff_ours() -> None:
            with open(work / "out.tar", "wb") as f:
                write_diff(src, f)

        def diff_gnu() -> None:
            subprocess.run(["tar", "-c", "--numeric-owner", "--sort=name", "-C", str(src),
                            "-f", str(work / "out.tar"), "."], check=True)

        rows = [
            ("apply tar", *paired(ours(layer), gnu("-x"), fresh, args.runs), "tar -x"),
            ("apply tar (overlay upper)",
             *paired(ours(layer, Format.OVERLAY), gnu("-x"), fresh, args.runs), "tar -x"),
            ("apply tar.gz", *paired(ours(layer_gz), gnu("-x", "-z"), fresh, args.runs),
             "tar -xz"),
            ("diff to tar", *paired(diff_ours, diff_gnu, lambda: None, args.runs), "tar -c"),
        ]
        print(f"layer: {mib:.1f} MiB, {entries} entries, in {work.parent}; "
              f"medians of {args.runs} runs")
        print(f"{'operation':28} {'dockyard':>22} {'peer':>22}  ratio (peer time / ours)")
        for name, t_ours, t_peer, peer in rows:
            print(f"{name:28} {mib / t_ours:8.1f} MB/s {entries / t_ours:7.0f} f/s "
                  f"{mib / t_peer:8.1f} MB/s {entries / t_peer:7.0f} f/s  "
                  f"{t_peer / t_ours:5.2f}  ({peer}: {t_peer * 1000:.0f} ms, "
                  f"ours {t_ours * 1000:.0f} ms)")
        sys.stdout.flush()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
