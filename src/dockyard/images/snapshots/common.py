"""What the overlay and native snapshotters share: ids, directories, crash safety.

Layout under the snapshotter root: ``metadata.db`` and ``<id>/{fs,work}``. A snapshot's
directory is built under ``new-<random>`` (held with ``flock`` while being filled), then
renamed to ``<id>`` in the same transaction that inserts its row; removal deletes the
row, then renames the directory to ``rm-<id>-<random>`` and deletes it.
``cleanup()`` removes what a crash left: unlocked ``new-*`` older than a minute, any
``rm-*``, and ids without a row.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from dockyard.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from dockyard.oci.mount import Mount

from .base import Info, Kind, Usage, WritableDir
from .metadata import MetaStore, Record

__all__ = ["DirSnapshotter"]

_NEW_GRACE = 60.0  # seconds before an unlocked new-* directory counts as a crash's


class DirSnapshotter:
    """Base of the snapshotters that keep one directory per snapshot."""

    overlay = False

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).absolute()
        self.root.mkdir(parents=True, exist_ok=True)
        self.meta = MetaStore(self.root / "metadata.db")

    def close(self) -> None:
        self.meta.close()

    def __enter__(self) -> DirSnapshotter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- paths -------------------------------------------------------------------------
    def fs_dir(self, sid: int) -> Path:
        return self.root / str(sid) / "fs"

    def _lower_dirs(self, rec: Record) -> tuple[Path, ...]:
        return tuple(self.fs_dir(i) for i in rec.ancestors)

    # -- subclass hooks ----------------------------------------------------------------
    def _fill(self, tmp: Path, parent: Record | None, kind: Kind) -> None:
        """Populate a new snapshot's directory (``tmp/fs`` exists)."""

    def _mounts(self, rec: Record) -> list[Mount]:
        raise NotImplementedError

    # -- the Snapshotter verbs -----------------------------------------------------------
    def _create(self, key: str, parent: str | None, kind: Kind,
                labels: Mapping[str, str] | None) -> list[Mount]:
        # Checked again inside the transaction; early here so a refusal costs no copy.
        parent_rec = None
        if parent is not None:
            try:
                parent_rec = self.meta.get(parent)
            except NotFound:
                raise NotFound(f"no such parent snapshot: {parent}")
            if parent_rec.info.kind is not Kind.COMMITTED:
                raise InvalidArgument(f"parent snapshot {parent} is not committed")
        try:
            self.meta.get(key)
        except NotFound:
            pass
        else:
            raise AlreadyExists(f"snapshot {key} already exists")
        tmp = self.root / f"new-{secrets.token_hex(8)}"
        tmp.mkdir(mode=0o700)
        lock = os.open(tmp, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            (tmp / "fs").mkdir(mode=0o755)
            (tmp / "work").mkdir(mode=0o700)
            self._fill(tmp, parent_rec, kind)
            with self.meta.write():
                rec = self.meta.insert(key, kind, parent, labels)
                final = self.root / str(rec.id)
                if final.exists():  # left by a crash before a rolled-back insert
                    shutil.rmtree(final)
                os.rename(tmp, final)
            return self._mounts(rec)
        finally:
            os.close(lock)
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    def prepare(self, key: str, parent: str | None = None,
                labels: Mapping[str, str] | None = None) -> list[Mount]:
        """A new active snapshot over committed ``parent``; its mounts."""
        return self._create(key, parent, Kind.ACTIVE, labels)

    def view(self, key: str, parent: str | None = None,
             labels: Mapping[str, str] | None = None) -> list[Mount]:
        """A new read-only snapshot of committed ``parent``; its mounts."""
        return self._create(key, parent, Kind.VIEW, labels)

    def commit(self, name: str, key: str, labels: Mapping[str, str] | None = None) -> None:
        """Freeze active ``key`` as committed ``name``."""
        with self.meta.write():
            self.meta.commit(name, key, labels)

    def remove(self, key: str) -> None:
        """Delete ``key``; refused (``Conflict``) while it has children."""
        with self.meta.write():
            rec = self.meta.delete(key)
        # After the commit: a crash now leaves a directory without a row (cleanup()
        # removes it), never a row without its directory.
        trash = self.root / f"rm-{rec.id}-{secrets.token_hex(4)}"
        try:
            os.rename(self.root / str(rec.id), trash)
        except FileNotFoundError:  # another process's cleanup() was quicker
            return
        _rmtree(trash)

    def mounts(self, key: str) -> list[Mount]:
        """The mounts of ``key`` again."""
        return self._mounts(self.meta.get(key))

    def stat(self, key: str) -> Info:
        return self.meta.get(key).info

    def walk(self) -> Iterator[Info]:
        for rec in self.meta.all():
            yield rec.info

    def usage(self, key: str) -> Usage:
        """Allocated bytes and inodes under the snapshot's ``fs`` (hardlinks once)."""
        rec = self.meta.get(key)
        seen: set[tuple[int, int]] = set()
        size = inodes = 0
        for dirpath, dirnames, filenames in os.walk(self.fs_dir(rec.id)):
            for name in dirnames + filenames:
                st = os.lstat(os.path.join(dirpath, name))
                ident = (st.st_dev, st.st_ino)
                if ident in seen:
                    continue
                seen.add(ident)
                inodes += 1
                size += st.st_blocks * 512
        return Usage(size=size, inodes=inodes)

    def writable(self, key: str) -> WritableDir:
        """Where active ``key`` is written without mounting."""
        rec = self.meta.get(key)
        if rec.info.kind is not Kind.ACTIVE:
            raise Conflict(f"snapshot {key} is {rec.info.kind.value}, not active")
        return WritableDir(self.fs_dir(rec.id), self._lower_dirs(rec), self.overlay)

    def cleanup(self) -> list[str]:
        """Remove directories a crash left behind; returns their names."""
        removed: list[str] = []
        with self.meta.write():
            ids = self.meta.ids()
            for entry in sorted(os.listdir(self.root)):
                path = self.root / entry
                if not path.is_dir() or path.is_symlink():
                    continue
                if entry.isdigit():
                    stale = int(entry) not in ids
                elif entry.startswith("rm-"):
                    stale = True
                elif entry.startswith("new-"):
                    # Young ones may be between mkdir and flock in another process.
                    stale = time.time() - path.stat().st_mtime > _NEW_GRACE and \
                        _unlocked(path)
                else:
                    stale = False
                if stale:
                    _rmtree(path)
                    removed.append(entry)
        return removed


def _unlocked(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def _rmtree(path: Path) -> None:
    try:
        shutil.rmtree(path)
    except FileNotFoundError:  # removed meanwhile by another process's cleanup()
        pass
