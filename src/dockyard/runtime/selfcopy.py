"""Run ``exec`` on a sealed in-memory copy of the interpreter (CVE-2019-5736, exec path).

The process an ``exec`` forks into the container runs the interpreter until its
``execve``; a container process that may trace it could open ``/proc/<pid>/exe`` then,
and a ``#!/proc/self/exe`` script run by ``exec`` gets that very file as its
interpreter. If that file is the host's interpreter, writing through the descriptor
once no process runs it replaces the interpreter every later container start runs as
root. runc's answer, used here for ``exec`` only: before anything else the command
re-executes itself from a memfd holding a copy of the interpreter, sealed against
writes, growing and shrinking (``reexec_sealed``). Then ``/proc/<pid>/exe`` of every
process of the exec is that memfd, which nobody can change and which vanishes with its
last user, so the exec'd process needs no Landlock domain (which would keep it from
reading ``/proc/1/environ`` or tracing the init; see ``landlock.py``). It costs an
interpreter start and a copy of the interpreter per ``exec``; ``create`` and ``run``
keep their Landlock domain and pay neither.
"""

from __future__ import annotations

import fcntl
import os
import sys

__all__ = ["SEALS", "reexec_sealed", "running_sealed", "sealed_copy"]

SEALS = fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE


def running_sealed() -> bool:
    """Whether this process's executable is a memfd carrying every seal of ``SEALS``."""
    try:
        fd = os.open("/proc/self/exe", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return fcntl.fcntl(fd, fcntl.F_GET_SEALS) & SEALS == SEALS
    except OSError:  # EINVAL: a regular file, not a memfd
        return False
    finally:
        os.close(fd)


def sealed_copy(path: str = "/proc/self/exe") -> int:
    """A close-on-exec memfd holding a copy of ``path``, sealed with ``SEALS``."""
    src = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        size = os.fstat(src).st_size
        name = os.path.basename(os.path.realpath(path))
        fd = os.memfd_create(f"dockyard:{name}", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        try:
            done = 0
            while done < size:
                sent = os.sendfile(fd, src, done, size - done)
                if sent == 0:
                    raise OSError(f"{path}: shrank while being copied")
                done += sent
            fcntl.fcntl(fd, fcntl.F_ADD_SEALS, SEALS)
        except BaseException:
            os.close(fd)
            raise
    finally:
        os.close(src)
    return fd


def reexec_sealed() -> None:
    """Replace this process by the same command run from ``sealed_copy()``; return only
    when already running sealed, or where that is impossible (no memfd or seals:
    ``exec`` then confines its process with Landlock as ``create`` does)."""
    if running_sealed():
        return
    try:
        fd = sealed_copy()
    except OSError:
        return
    # argv[0] stays the interpreter's path: Python finds its prefix from it.
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(fd, sys.orig_argv, os.environ)
    except OSError:
        os.close(fd)
