"""kill -9 of ``dockyard load`` at random moments never leaves the store inconsistent."""

from __future__ import annotations

import contextlib
import io
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dockyard.errors import DockyardError
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


def _churn(roots: Roots, archive: Path, rounds: int, who: int) -> None:
    from dockyard.images import load

    store = ImageStore(roots)
    try:
        for _ in range(rounds):
            if who == 0:
                with open(archive, "rb") as f:
                    load(store, f, unpack=True)
            else:
                for i in range(3):
                    with contextlib.suppress(DockyardError):
                        store.remove(f"crash/img:{i}")
                store.prune(all=True)
    finally:
        store.close()


@pytest.mark.slow
def test_concurrent_load_rmi_and_prune_keep_the_store_whole(tmp_path: Path) -> None:
    import multiprocessing

    archive = _archive(tmp_path)
    roots = Roots(tmp_path / "root", tmp_path / "run")
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_churn, args=(roots, archive, 4, who)) for who in (0, 0, 1)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(240)
        assert p.exitcode == 0
    store = ImageStore(roots)
    try:
        report = check(store)
        assert report.clean, report.problems
        for img in store.list():  # whatever survived is whole and unpacked
            assert store.unpack(img) == str(img.chain_id)
        _churn(roots, archive, 1, 0)
        assert len(store.list()) == 3 and check(store).clean
    finally:
        store.close()
