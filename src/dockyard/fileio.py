"""Files every layer writes the same way: atomically replaced, and locked.

Standard library only, and light: the runtime and the monitor import it too (the
monitor keeps ``collections``, ``contextlib`` and ``typing`` out of its memory).
"""

from __future__ import annotations

import fcntl
import os

__all__ = ["atomic_write", "fsync_dir", "locked_file"]


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """fsync a directory, so a rename inside it survives a crash."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike[str], data: bytes, mode: int = 0o600,
                 sync_dir: bool = True, sync: bool = True) -> None:
    """Write ``data`` to ``path`` through a unique temporary file (created with ``mode``,
    less the umask), fsync it and rename it over ``path``: a crash leaves the old
    file or the new, never half. ``sync_dir`` also makes the rename durable;
    ``sync=False`` skips both fsyncs, for state that a killed process must find whole
    but that means nothing after a reboot."""
    path = os.fspath(path)
    head, name = os.path.split(path)
    tmp = os.path.join(head, f".{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        try:
            os.write(fd, data)
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if sync_dir and sync:
        fsync_dir(head or ".")


class locked_file:  # lower case: used like a function, ``with locked_file(path):``
    """Hold an exclusive ``flock`` on ``path`` (created 0600 if missing) for the block;
    closing the descriptor releases it, also when the holder dies."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = path
        self.fd = -1

    def __enter__(self) -> None:
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(self.fd)
            raise

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)
