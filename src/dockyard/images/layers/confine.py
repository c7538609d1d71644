"""Open directories strictly beneath a root: no symlinks followed, no escape.

``openat2(2)`` with ``RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`` does it in one call; on
kernels without it we walk the path one component at a time with ``O_NOFOLLOW``. Either
way a symlink anywhere in the path fails with ``ELOOP`` and ``..`` cannot climb out.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct

__all__ = ["open_beneath"]

_SYS_OPENAT2 = 437  # same number on x86_64 and aarch64
_RESOLVE_NO_MAGICLINKS = 0x02
_RESOLVE_NO_SYMLINKS = 0x04
_RESOLVE_BENEATH = 0x08
# No O_NOFOLLOW: with it a symlink as the last part gives ENOTDIR, not ELOOP;
# RESOLVE_NO_SYMLINKS already refuses every symlink, the last one included.
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_have_openat2 = True


def _openat2(dir_fd: int, path: str, flags: int) -> int:
    how = struct.pack("QQQ", flags, 0,
                      _RESOLVE_BENEATH | _RESOLVE_NO_SYMLINKS | _RESOLVE_NO_MAGICLINKS)
    buf = ctypes.create_string_buffer(how)
    fd = _libc.syscall(_SYS_OPENAT2, ctypes.c_int(dir_fd), os.fsencode(path),
                       buf, ctypes.c_size_t(len(how)))
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), path)
    return int(fd)


def _walk(dir_fd: int, path: str, flags: int) -> int:
    fd = os.dup(dir_fd)
    try:
        for part in path.split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                raise OSError(errno.EXDEV, "path climbs out of its root", path)
            try:
                nxt = os.open(part, flags | os.O_NOFOLLOW, dir_fd=fd)
            except NotADirectoryError:
                if os.path.islink(f"/proc/self/fd/{fd}/{part}"):
                    raise OSError(errno.ELOOP, "path goes through a symlink", path)
                raise
            os.close(fd)
            fd = nxt
        return fd
    except BaseException:
        os.close(fd)
        raise


def open_beneath(root_fd: int, path: str) -> int:
    """A directory fd for ``path`` (relative, ``""`` for the root itself) under ``root_fd``.

    Raises ``OSError``: ``ELOOP`` when a component is a symlink, ``ENOTDIR`` when one is
    not a directory, ``ENOENT`` when one is missing, ``EXDEV`` on an escape attempt.
    """
    global _have_openat2
    if not path:
        return os.dup(root_fd)
    if _have_openat2:
        try:
            return _openat2(root_fd, path, _DIR_FLAGS)
        except OSError as e:
            if e.errno not in (errno.ENOSYS, errno.EPERM):
                raise
            _have_openat2 = False  # seccomp or an old kernel: walk instead
    return _walk(root_fd, path, _DIR_FLAGS)
