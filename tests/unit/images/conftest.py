"""An empty image store per test, and small layer tars to fill it with."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator

import pytest

from dockyard.images import ImageStore
from dockyard.settings import Roots


def make_tar(files: dict[str, bytes], mtime: int = 0) -> bytes:
    """A plain tar of regular files (parent dirs implied)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for name, data in sorted(files.items()):
            ti = tarfile.TarInfo(name)
            ti.size, ti.mtime, ti.mode = len(data), mtime, 0o644
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def store(roots: Roots) -> Iterator[ImageStore]:
    s = ImageStore(roots)
    yield s
    s.close()


def listing(roots: Roots) -> dict[str, bytes | int]:
    """Every path under the store's root with its content (blobs) or size, and the
    database's rows: a before/after snapshot for "store unchanged" checks."""
    out: dict[str, bytes | int] = {}
    for p in sorted(roots.root.rglob("*")):
        rel = str(p.relative_to(roots.root))
        if p.name.startswith("metadata.db"):
            continue  # compared through its rows (ours) or the snapshot list (below)
        out[rel] = p.read_bytes() if p.is_file() else -1
    if (roots.snapshots / "metadata.db").exists():
        from dockyard.images.snapshots import open_snapshotter

        sn = open_snapshotter(roots)
        try:
            out["snapshots:"] = repr(sorted((i.name, i.kind.value, i.parent)
                                            for i in sn.walk())).encode()
        finally:
            sn.close()
    if roots.metadata_db.exists():
        import sqlite3

        with sqlite3.connect(roots.metadata_db) as c:
            for (table,) in c.execute("SELECT name FROM sqlite_master WHERE type='table'"):
                rows = sorted(map(repr, c.execute(f"SELECT * FROM {table}").fetchall()))
                out[f"db:{table}"] = "\n".join(rows).encode()
    return out
