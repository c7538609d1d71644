"""The content store on disk: ``blobs/<alg>/<hex>``, written through ``ingest/``.

A blob is streamed to ``ingest/<ref>.<pid>`` while it is hashed, fsynced, checked against
the expected digest and size, renamed into ``blobs/`` and the directory fsynced. A crash
leaves at most an ingest file behind, never a wrong blob under a digest's name.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from dockyard.errors import Corrupt, InvalidArgument, NotFound
from dockyard.images.content.protocols import Info
from dockyard.oci import Digest, Digester

__all__ = ["LocalStore", "LocalWriter", "fsync_dir"]

CHUNK = 1 << 20


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalWriter:
    """One ingest file; use ``commit`` or ``abort`` (or as a context manager)."""

    def __init__(self, store: LocalStore, ref: str, algorithm: str = "sha256") -> None:
        self._store = store
        self.path = store.ingest_dir / f"{ref or secrets.token_hex(8)}.{os.getpid()}"
        self._file: BinaryIO | None = open(self.path, "xb")  # noqa: SIM115
        self._digester = Digester(algorithm)
        self._done = False

    @property
    def size(self) -> int:
        return self._digester.size

    def write(self, data: bytes) -> int:
        assert self._file is not None, "write after seal, commit or abort"
        self._file.write(data)
        self._digester.update(data)
        return len(data)

    def copy_from(self, src: BinaryIO, limit: int | None = None) -> int:
        """Stream ``src`` (at most ``limit`` bytes) into the ingest."""
        total = 0
        while limit is None or total < limit:
            chunk = src.read(CHUNK if limit is None else min(CHUNK, limit - total))
            if not chunk:
                break
            total += self.write(chunk)
        return total

    def digest(self) -> Digest:
        return self._digester.digest()

    def flush(self) -> None:
        """Make what was written readable through ``path`` (no fsync)."""
        if self._file is not None:
            self._file.flush()

    def seal(self) -> None:
        """Close the file (no more writes) but keep the ingest for ``commit`` or
        ``abort``: staging thousands of files must not hold thousands of fds."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def commit(self, expected: Digest | None = None, size: int | None = None) -> Digest:
        """Check size and digest, publish the blob, return its digest."""
        assert not self._done, "commit after commit or abort"
        actual = self.digest()
        try:
            if size is not None and size != self.size:
                raise Corrupt(f"blob {expected or actual}: size {self.size}, want {size}")
            if expected is not None and expected != actual:
                raise Corrupt(f"blob {expected}: digest mismatch (got {actual})")
            if self._file is not None:
                self._file.flush()
                os.fsync(self._file.fileno())
                self._file.close()
                self._file = None
            else:
                fd = os.open(self.path, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            self._store.publish(self.path, actual)
            self._done = True
        except BaseException:
            self.abort()
            raise
        return actual

    def abort(self) -> None:
        """Drop the ingest file (a no-op after a successful commit)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._done:
            return
        self._done = True
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def __enter__(self) -> LocalWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()


class LocalStore:
    """Provider, Ingester and Manager over ``root`` (``Roots.content``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.ingest_dir = root / "ingest"
        self.blobs_dir = root / "blobs"
        for d in (self.ingest_dir, self.blobs_dir / "sha256"):
            d.mkdir(parents=True, exist_ok=True)

    def path(self, digest: Digest) -> Path:
        return self.blobs_dir / digest.algorithm / digest.hex

    def exists(self, digest: Digest) -> bool:
        return self.path(digest).is_file()

    def info(self, digest: Digest) -> Info:
        try:
            return Info(digest, self.path(digest).stat().st_size)
        except FileNotFoundError:
            raise NotFound(f"no such blob: {digest}") from None

    def open(self, digest: Digest) -> BinaryIO:
        try:
            return open(self.path(digest), "rb")
        except FileNotFoundError:
            raise NotFound(f"no such blob: {digest}") from None

    def read(self, digest: Digest, limit: int = 16 << 20) -> bytes:
        """A small blob (manifest, config) whole; refuses blobs over ``limit``."""
        with self.open(digest) as f:
            data = f.read(limit + 1)
        if len(data) > limit:
            raise InvalidArgument(f"blob {digest}: larger than {limit} bytes")
        return data

    def writer(self, ref: str = "") -> LocalWriter:
        return LocalWriter(self, ref)

    def write(self, data: bytes, expected: Digest | None = None) -> Digest:
        """Store ``data`` (a no-op when the blob is already there)."""
        digest = expected or Digest.of(data)
        if expected is None and self.exists(digest):
            return digest
        with self.writer() as w:
            w.write(data)
            return w.commit(expected, len(data))

    def publish(self, tmp: Path, digest: Digest) -> None:
        """Rename a finished, fsynced ingest file into place (or drop it if present)."""
        dest = self.path(digest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            os.unlink(tmp)
            return
        os.chmod(tmp, 0o444)
        os.rename(tmp, dest)
        fsync_dir(dest.parent)

    def walk(self) -> Iterator[Digest]:
        for alg_dir in sorted(self.blobs_dir.iterdir()):
            for p in sorted(alg_dir.iterdir()):
                try:
                    yield Digest(alg_dir.name, p.name)
                except InvalidArgument:
                    continue  # a stray file; check() reports it

    def delete(self, digest: Digest) -> bool:
        try:
            os.unlink(self.path(digest))
            return True
        except FileNotFoundError:
            return False

    def verify(self, digest: Digest) -> bool:
        """Whether the blob's bytes hash to its name."""
        d = Digester(digest.algorithm)
        with self.open(digest) as f:
            while chunk := f.read(CHUNK):
                d.update(chunk)
        return d.digest() == digest

    def stale_ingests(self) -> list[Path]:
        """Ingest files whose writing process is gone (left by a crash)."""
        out = []
        for p in self.ingest_dir.iterdir():
            pid = p.suffix[1:]
            if not pid.isdigit() or not Path(f"/proc/{pid}").exists():
                out.append(p)
        return out
