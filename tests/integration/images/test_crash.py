"""kill -9 of ``dockyard load`` at random moments never leaves the store inconsistent."""

from __future__ import annotations

import io
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dockyard.images import ImageStore, check, import_rootfs, save
from dockyard.images.snapshots import open_snapshotter
from dockyard.settings import Roots
from tests.integration.images.helpers import layer_tar

KILLS = 12
REPO = Path(__file__).resolve().parents[3]


def _archive(tmp: Path) -> Path:
    """Three images, ~24 MiB of incompressible layers, saved as one archive."""
    src = ImageStore(Roots(tmp / "src", tmp / "src-run"))
    rnd = random.Random(7)
    for i in range(3):
        files = {f"f{j}": rnd.randbytes(2 << 20) for j in range(4)}
        import_rootfs(src, io.BytesIO(layer_tar(files)), f"crash/img:{i}")
    path = tmp / "archive.tar"
    with open(path, "wb") as f:
        save(src, [f"crash/img:{i}" for i in range(3)], f)
    src.close()
    return path


def _load_cmd(roots: Roots, archive: Path) -> list[str]:
    return [sys.executable, "-m", "tests.unit.images.cli_runner", "--root", str(roots.root),
            "--run-root", str(roots.run_root), "load", "-q", "-i", str(archive)]


@pytest.mark.slow
def test_kill_9_during_load_leaves_check_clean(tmp_path: Path) -> None:
    archive = _archive(tmp_path)
    roots = Roots(tmp_path / "root", tmp_path / "run")
    start = time.monotonic()
    subprocess.run(_load_cmd(Roots(tmp_path / "timing", tmp_path / "trun"), archive),
                   check=True, cwd=REPO)
    duration = time.monotonic() - start
    seed = random.randrange(1 << 30)
    rnd = random.Random(seed)
    outcomes = []
    for attempt in range(KILLS):
        proc = subprocess.Popen(_load_cmd(roots, archive), cwd=REPO)
        time.sleep(rnd.uniform(0.05, duration))
        proc.send_signal(signal.SIGKILL)
        outcomes.append(proc.wait())
        store = ImageStore(roots)
        try:
            report = check(store)
            assert report.clean, (f"seed {seed}, attempt {attempt}: {report.problems}")
            for img in store.list():  # whatever got recorded is whole and readable
                for d in (img.manifest.config, *img.manifest.layers):
                    assert store.content.verify(d.digest)
        finally:
            store.close()
    assert outcomes.count(-signal.SIGKILL) >= KILLS // 2, outcomes  # really killed mid-way
    subprocess.run(_load_cmd(roots, archive), check=True, cwd=REPO)
    store = ImageStore(roots)
    try:
        assert sorted(t for i in store.list() for t in i.repo_tags) == \
            [f"crash/img:{i}" for i in range(3)]
        repaired = check(store, repair=True)
        assert repaired.clean
        assert check(store).notes == []  # no ingest file, no extraction left
        sn = open_snapshotter(roots)
        names = {i.name for i in sn.walk()}
        sn.close()
        assert names == {str(c) for i in store.list() for c in i.chain_ids}
        assert not any(store.content.ingest_dir.iterdir()) or \
            all(p.name.endswith(f".{os.getpid()}") for p in store.content.ingest_dir.iterdir())
    finally:
        store.close()
