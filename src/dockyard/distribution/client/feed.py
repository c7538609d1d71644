"""A blob's bytes as they arrive, for a reader in another thread: the download writes
the ingest file and says how far it got; the reader follows the file, waiting for more,
and sees its end only once the download has verified the blob (so nothing built from
the bytes is kept unless the blob's digest matched)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import BinaryIO

from dockyard.errors import DockyardError, SystemFailure

__all__ = ["Feed", "FeedReader"]


class Feed:
    """Where a blob is being written and how much of it is readable. The writer calls
    :meth:`start`, :meth:`grew` (after flushing), then :meth:`finish` or :meth:`fail`."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._cond = threading.Condition()
        self._path: Path | None = None
        self._size = 0
        self._state: bool | DockyardError | None = None  # True: verified; error: failed

    def start(self, path: Path, size: int = 0) -> None:
        with self._cond:
            self._path, self._size = path, size
            self._cond.notify_all()

    def grew(self, size: int) -> None:
        with self._cond:
            self._size = size
            self._cond.notify_all()

    def finish(self, path: Path, size: int) -> None:
        """The blob is verified and now lives at ``path`` (the ingest file renamed);
        a no-op once failed (its readers have given up)."""
        with self._cond:
            if self._state is not None:
                return
            self._path, self._size, self._state = path, size, True
            self._cond.notify_all()

    def fail(self, err: BaseException | None = None) -> None:
        """The download stopped; a reader raises (a no-op once finished)."""
        with self._cond:
            if self._state is True:
                return
            self._state = err if isinstance(err, DockyardError) else SystemFailure(
                f"{self.what}: download stopped before the end")
            self._cond.notify_all()

    @property
    def done(self) -> bool:
        return self._state is True

    def _wait(self, pos: int) -> tuple[Path, int]:
        """Block until bytes past ``pos`` are readable or the blob is complete."""
        with self._cond:
            while True:
                if isinstance(self._state, DockyardError):
                    raise self._state
                if self._path is not None and (self._size > pos or self._state is True):
                    return self._path, self._size
                self._cond.wait()

    def reader(self) -> FeedReader:
        return FeedReader(self)


class FeedReader:
    """A read-only stream over a :class:`Feed` (use from one thread, then close)."""

    def __init__(self, feed: Feed) -> None:
        self.feed = feed
        self.pos = 0
        self._file: BinaryIO | None = None

    def _open(self) -> BinaryIO:
        while self._file is None:
            path, _ = self.feed._wait(self.pos)
            try:
                self._file = open(path, "rb")  # noqa: SIM115 - closed by close()
            except FileNotFoundError:  # renamed into blobs/ just now: finish() tells where
                with self.feed._cond:
                    if self.feed._path == path and self.feed._state is None:
                        self.feed._cond.wait(1)
        return self._file

    def read(self, n: int = -1) -> bytes:
        f = self._open()
        _, size = self.feed._wait(self.pos)
        want = size - self.pos if n is None or n < 0 else min(n, size - self.pos)
        if want <= 0:
            return b""  # _wait returned with nothing new: the blob is complete
        data = f.read(want)
        self.pos += len(data)
        return data

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> FeedReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
