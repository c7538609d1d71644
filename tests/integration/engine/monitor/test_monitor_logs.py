"""A container writing 50 MB of logs: rotation bounds the files, reading keeps order."""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from monitor_harness import Launched

from dockyard.engine.logs import parse_log_config, read_logs
from dockyard.engine.monitor import wait_exit

LINES = 50_000
# 1000-byte lines: "%08d " + 990 x's + "\n" → 50 MB in all.
WRITER = ("awk 'BEGIN { pad = sprintf(\"%990s\", \"\"); gsub(/ /, \"x\", pad); "
          f"for (i = 1; i <= {LINES}; i++) printf \"%08d %s\\n\", i, pad }}'")


def _check_tail_in_order(numbers: list[int]) -> None:
    assert numbers, "nothing read back"
    assert numbers[-1] == LINES
    assert numbers == list(range(numbers[0], LINES + 1)), "lines out of order or missing"


@pytest.mark.parametrize("compress", [False, True])
def test_50mb_of_logs_rotate_and_read_back_in_order(
        launch: Callable[..., Launched], compress: bool) -> None:
    opts = {"max-size": "10m", "max-file": "3", "compress": str(compress).lower()}
    t0 = time.monotonic()
    c = launch(["sh", "-c", WRITER], log=parse_log_config("json-file", opts))
    assert wait_exit(c.run_dir, c.container_dir, timeout=120) == 0
    elapsed = time.monotonic() - t0
    files = sorted(p for p in c.container_dir.iterdir() if "-json.log" in p.name)
    assert 1 < len(files) <= 3, files
    for f in files:
        if f.name.endswith(".gz"):
            assert compress
            size = len(gzip.decompress(f.read_bytes()))
        else:
            size = f.stat().st_size
        assert size <= 10 * 1024 * 1024, (f, size)
    numbers = [int(e.data[:8]) for e in read_logs(c.container_dir, c.id, "json-file")]
    _check_tail_in_order(numbers)
    assert len(numbers) > 20_000  # roughly 3 files of 10 MiB of ~1050-byte json lines
    tail = [int(e.data[:8]) for e in read_logs(c.container_dir, c.id, "json-file", tail=5)]
    assert tail == list(range(LINES - 4, LINES + 1))
    print(f"50 MB through the monitor in {elapsed:.2f}s (compress={compress})")


def test_local_driver_rotates_and_reads(launch: Callable[..., Launched]) -> None:
    cfg = parse_log_config("local", {"max-size": "5m", "max-file": "4"})
    c = launch(["sh", "-c", WRITER], log=cfg)
    assert wait_exit(c.run_dir, c.container_dir, timeout=120) == 0
    logdir = c.container_dir / "local-logs"
    files = sorted(logdir.iterdir())
    assert 1 < len(files) <= 4, files
    for f in files:
        size = len(gzip.decompress(f.read_bytes())) if f.name.endswith(".gz") else f.stat().st_size
        assert size <= 5 * 1024 * 1024
    numbers = [int(e.data[:8]) for e in read_logs(c.container_dir, c.id, "local")]
    _check_tail_in_order(numbers)


def test_none_driver_writes_nothing(launch: Callable[..., Launched]) -> None:
    from dockyard.errors import InvalidArgument

    c = launch(["sh", "-c", "echo hidden"], log=parse_log_config("none"))
    assert wait_exit(c.run_dir, c.container_dir, timeout=20) == 0
    assert [p.name for p in c.container_dir.iterdir()] == ["state.json"]
    with pytest.raises(InvalidArgument, match="does not support reading"):
        list(read_logs(c.container_dir, c.id, "none"))


def test_full_disk_loses_logs_not_the_container(launch: Callable[..., Launched],
                                                 tmp_path: Path) -> None:
    import subprocess

    from dockyard.engine.monitor import monitor_pid

    containers = tmp_path / "root" / "containers"
    containers.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "dyfull", str(containers)],
                   check=True)
    try:
        c = launch(["sh", "-c", "head -c 2000000 /dev/zero | tr '\\0' x; echo; exit 5"])
        assert wait_exit(c.run_dir, c.container_dir, timeout=30) == 5
        assert monitor_pid(c.run_dir) is None
        assert "writing logs" in (c.run_dir / "monitor.log").read_text()
    finally:
        subprocess.run(["umount", "--lazy", str(containers)], check=True)
