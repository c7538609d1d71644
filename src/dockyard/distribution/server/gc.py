"""Garbage collection that is safe while the registry serves pushes.

A blob is live while any repository links it (``_layers`` or ``_manifests``). Writers
refresh a blob's mtime and link it while holding ``gc.lock`` shared
(:func:`writer_lock`); the collector deletes an unlinked blob only if, under the lock
held exclusively, its mtime is still older than the grace period. So a blob that a
push is about to link is either seen fresh and kept, or deleted before the push looks
and then written again by it."""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["GcReport", "collect", "writer_lock"]


@contextmanager
def _flock(root: Path, mode: int) -> Iterator[None]:
    fd = os.open(root / "gc.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, mode)
        yield
    finally:
        os.close(fd)  # drops the lock


def writer_lock(root: Path) -> AbstractContextManager[None]:
    """Held shared around "refresh mtime, then link" by writers."""
    return _flock(root, fcntl.LOCK_SH)


@dataclass
class GcReport:
    deleted: list[str] = field(default_factory=list)
    freed: int = 0
    uploads: int = 0


def _live(root: Path) -> set[str]:
    live: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root / "repos"):
        head, alg = os.path.split(dirpath)
        if os.path.basename(head) in ("_layers", "_manifests"):
            live.update(f"{alg}/{name}" for name in filenames)
            dirnames[:] = []
    return live


def collect(root: Path, grace: float = 3600.0, upload_ttl: float = 7 * 86400.0,
            dry_run: bool = False) -> GcReport:
    """Delete unlinked blobs older than ``grace`` seconds and uploads idle for
    ``upload_ttl``; returns what went (or would go, with ``dry_run``)."""
    report = GcReport()
    now = time.time()
    candidates: list[Path] = []
    for alg_dir in sorted((root / "blobs").glob("*")):
        for blob in alg_dir.iterdir():
            if blob.name.startswith("."):
                continue
            try:
                if now - blob.stat().st_mtime > grace:
                    candidates.append(blob)
            except FileNotFoundError:
                continue
    live = _live(root)  # listed after the candidates: links made since are fresh blobs
    for blob in candidates:
        key = f"{blob.parent.name}/{blob.name}"
        if key in live:
            continue
        with _flock(root, fcntl.LOCK_EX):
            try:
                st = blob.stat()
            except FileNotFoundError:
                continue
            if now - st.st_mtime <= grace:
                continue
            if not dry_run:
                blob.unlink()
        report.deleted.append(key.replace("/", ":", 1))
        report.freed += st.st_size
    for upload in (root / "uploads").iterdir() if (root / "uploads").is_dir() else ():
        data = upload / "data"
        try:
            idle = now - max(data.stat().st_mtime, upload.stat().st_mtime)
        except FileNotFoundError:
            continue
        if idle > upload_ttl:
            report.uploads += 1
            if not dry_run:
                shutil.rmtree(upload, ignore_errors=True)
    return report
