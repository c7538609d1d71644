"""Regressions from a CI run where concurrent loads corrupted each other.

1. Processes opening a new snapshot database together got "database is locked" from
   switching it to WAL (SQLite's busy handler does not cover that switch).
2. The failing load's undo then deleted blobs that a concurrent load had found present
   and was about to record an image with.
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

from dockyard.images import ImageStore
from dockyard.images.snapshots.metadata import MetaStore
from dockyard.images.sqlite import connect_wal
from dockyard.settings import Roots


def _open_many(path: str, n: int, q: multiprocessing.Queue[str]) -> None:
    # Open, write, close: the last close checkpoints and removes the WAL, so the next
    # opener must recover it, the moment at which the WAL switch used to fail.
    try:
        for _ in range(n):
            meta = MetaStore(Path(path))
            with meta.write():
                pass
            meta.close()
        q.put("ok")
    except BaseException as err:  # report, don't hang the parent
        q.put(repr(err))


def test_many_processes_open_a_new_database_at_once(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    q: multiprocessing.Queue[str] = ctx.Queue()
    for round_ in range(4):
        path = tmp_path / f"db{round_}" / "metadata.db"
        procs = [ctx.Process(target=_open_many, args=(str(path), 30, q)) for _ in range(6)]
        for p in procs:
            p.start()
        results = [q.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(60)
        assert results == ["ok"] * len(procs)
        assert connect_wal(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _hold_writing(root: str, run: str, ready: object, release: object) -> None:
    store = ImageStore(Roots(Path(root), Path(run)))
    with store.writing():
        ready.set()  # type: ignore[attr-defined]
        release.wait(30)  # type: ignore[attr-defined]
    store.close()
    os._exit(0)


def test_discarded_blobs_wait_for_other_writers(tmp_path: Path) -> None:
    roots = Roots(tmp_path / "root", tmp_path / "run")
    store = ImageStore(roots)
    digest = store.content.write(b"a blob a failed load added")
    ctx = multiprocessing.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    other = ctx.Process(target=_hold_writing,
                        args=(str(roots.root), str(roots.run_root), ready, release))
    other.start()
    try:
        assert ready.wait(30)
        store.discard_blobs([digest])  # another process is writing: keep it for gc
        assert store.content.exists(digest)
    finally:
        release.set()
        other.join(30)
    store.discard_blobs([digest])  # nobody else writing, nothing references it
    assert not store.content.exists(digest)
    store.close()
