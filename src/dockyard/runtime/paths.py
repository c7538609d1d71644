"""Resolve paths inside a container's rootfs so that no symlink can lead out of it.

Every lookup goes through ``openat2(RESOLVE_IN_ROOT)`` on a descriptor of the rootfs:
the kernel treats the rootfs as ``/`` for ``..`` and absolute symlinks alike. Mounts
then target ``/proc/self/fd/N`` of the O_PATH descriptor we got, so nothing can swap
the path between the check and the mount (CVE-2021-30465, CVE-2024-21626).
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat

from dockyard.runtime.syscalls import RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS, openat2

__all__ = ["fd_path", "mkdir_in_root", "open_in_root"]

_RESOLVE = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS


def fd_path(fd: int) -> str:
    """The magic-link path that names an open descriptor."""
    return f"/proc/self/fd/{fd}"


def open_in_root(root_fd: int, path: str, flags: int = os.O_PATH) -> int:
    """Open ``path`` as seen with ``root_fd`` as ``/``."""
    return openat2(root_fd, path.lstrip("/") or ".", flags, 0, _RESOLVE)


def mkdir_in_root(root_fd: int, path: str, *, file: bool = False, mode: int = 0o755,
                  _depth: int = 0) -> int:
    """Open ``path`` inside the root, creating missing directories (and, with ``file``,
    an empty final file) on the way; return an O_PATH descriptor of it.

    A dangling symlink on the way is followed inside the root and its target created
    there, as runc's MkdirAllInRoot does: nothing is ever created outside the root."""
    try:
        return open_in_root(root_fd, path)
    except FileNotFoundError:
        pass
    if _depth > 40:
        raise OSError(errno.ELOOP, "too many levels of symbolic links", path)
    parts = [p for p in posixpath.normpath("/" + path).split("/") if p]
    for i, name in enumerate(parts):
        prefix = "/".join(parts[: i + 1])
        try:
            fd = open_in_root(root_fd, prefix)
        except FileNotFoundError:
            # O_PATH descriptors work as dirfd: create right where the rooted walk ended.
            parent = open_in_root(root_fd, "/".join(parts[:i]))
            try:
                if not stat.S_ISDIR(os.fstat(parent).st_mode):
                    raise NotADirectoryError(errno.ENOTDIR, "not a directory", path) from None
                try:
                    if i == len(parts) - 1 and file:
                        os.close(os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY
                                         | os.O_CLOEXEC, 0o644, dir_fd=parent))
                    else:
                        os.mkdir(name, mode, dir_fd=parent)
                except FileExistsError:  # a dangling symlink: create its target, rooted
                    target = os.readlink(name, dir_fd=parent)
                    base = "" if target.startswith("/") else "/".join(parts[:i])
                    os.close(mkdir_in_root(root_fd, f"{base}/{target}",
                                           file=file and i == len(parts) - 1,
                                           mode=mode, _depth=_depth + 1))
            finally:
                os.close(parent)
            fd = open_in_root(root_fd, prefix)
        if i == len(parts) - 1:
            return fd
        os.close(fd)
    return open_in_root(root_fd, path)
