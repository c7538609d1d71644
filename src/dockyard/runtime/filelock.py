"""An exclusive ``flock`` on a lock file, for the stores of every layer above.

Standard library only, so the engine's store (which the monitor imports), the network
and volume stores can all share it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator

__all__ = ["locked_file"]


@contextlib.contextmanager
def locked_file(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created 0600 if missing) for the block;
    closing the descriptor releases it, also when the holder dies."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
