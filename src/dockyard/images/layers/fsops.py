"""Filesystem steps of layer apply, relative to directory fds: names, stat, xattrs,
copies. Nothing here follows a symlink in a name it is given."""

from __future__ import annotations

import errno
import os
import shutil
import stat
from pathlib import Path

from dockyard.errors import Forbidden

__all__ = ["clean_name", "clone", "listxattr", "lstat_at", "setxattr_at"]

_CHUNK = 1 << 20


def clean_name(name: str, entry: str | None = None) -> str:
    """``name`` as a relative path without ``.`` parts; ``""`` is the root itself.

    Absolute names and any ``..`` part are refused: a layer names paths inside itself.
    """
    who = entry if entry is not None else name
    if name.startswith("/"):
        raise Forbidden(f"layer entry {who}: absolute path {name}")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise Forbidden(f"layer entry {who}: path {name} contains '..'")
    return "/".join(parts)


def lstat_at(fd: int | None, name: str) -> os.stat_result | None:
    if fd is None:
        return None
    try:
        return os.lstat(name, dir_fd=fd)
    except FileNotFoundError:
        return None


def listxattr(path: Path) -> list[str]:
    try:
        return os.listxattr(path, follow_symlinks=False)
    except OSError:
        return []


def setxattr_at(pfd: int, name: str, key: str, value: bytes) -> None:
    try:
        os.setxattr(f"/proc/self/fd/{pfd}/{name}", key, value, follow_symlinks=False)
    except OSError as e:
        if e.errno not in (errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM):
            raise


def clone(src: Path, st: os.stat_result, dfd: int, name: str) -> None:
    """A copy of ``src`` (not a directory) at ``dfd/name`` with its metadata and xattrs."""
    if stat.S_ISREG(st.st_mode):
        _copy_file(src, dfd, name)
    elif stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(src), name, dir_fd=dfd)
    else:
        os.mknod(name, st.st_mode, st.st_rdev, dir_fd=dfd)
    os.chown(name, st.st_uid, st.st_gid, dir_fd=dfd, follow_symlinks=False)
    if not stat.S_ISLNK(st.st_mode):
        os.chmod(name, stat.S_IMODE(st.st_mode), dir_fd=dfd)
        for key in listxattr(src):
            if not key.startswith("trusted.overlay."):
                setxattr_at(dfd, name, key, os.getxattr(src, key, follow_symlinks=False))
    os.utime(name, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=dfd, follow_symlinks=False)


def _copy_file(src: Path, dfd: int, name: str) -> None:
    with open(src, "rb") as fin:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600, dir_fd=dfd)
        with open(fd, "wb") as fout:
            shutil.copyfileobj(fin, fout, _CHUNK)
