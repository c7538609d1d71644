"""Perform the mounts a snapshotter returns, and undo them.

The kernel copies legacy mount options into one page (4 KiB): an overlay of 128 layers
under a long root path overflows it. When the option string is too long, every
``lowerdir``/``upperdir``/``workdir`` path is made relative to their common parent
directory, and the mount is done by a forked child that ``chdir``\\ s there first (the
kernel resolves relative overlay paths against the caller's working directory). The
snapshotter's short numeric directory names keep each relative entry to a few bytes.
"""

from __future__ import annotations

import ctypes
import errno
import os
from collections.abc import Sequence
from pathlib import Path

from dockyard.errors import InvalidArgument, SystemFailure
from dockyard.oci.mount import Mount

__all__ = ["MAX_OPTIONS", "mount", "unmount"]

MAX_OPTIONS = 4095  # one page minus the terminating NUL

_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC = 32, 4096, 16384
_MNT_DETACH = 2
_FLAGS = {"ro": _MS_RDONLY, "nosuid": _MS_NOSUID, "nodev": _MS_NODEV, "noexec": _MS_NOEXEC,
          "bind": _MS_BIND, "rbind": _MS_BIND | _MS_REC}
_IGNORED = {"rw", "suid", "dev", "exec", "defaults"}
_PATH_OPTIONS = ("lowerdir=", "upperdir=", "workdir=")

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]


def _sys_mount(source: str, target: str, fstype: str | None, flags: int,
               data: str | None) -> int:
    """0 or the errno."""
    rc = _libc.mount(os.fsencode(source), os.fsencode(target),
                     None if fstype is None else fstype.encode(), flags,
                     None if data is None else os.fsencode(data))
    return 0 if rc == 0 else ctypes.get_errno()


def _split_options(options: Sequence[str]) -> tuple[int, list[str]]:
    flags, data = 0, []
    for opt in options:
        if opt in _FLAGS:
            flags |= _FLAGS[opt]
        elif opt not in _IGNORED:
            data.append(opt)
    return flags, data


def _relative(data: list[str]) -> tuple[str, list[str]]:
    """(common dir, options with their paths made relative to it)."""
    paths = [p for opt in data if opt.startswith(_PATH_OPTIONS)
             for p in opt.split("=", 1)[1].split(":")]
    base = os.path.commonpath(paths) if paths else "/"
    out = []
    for opt in data:
        if opt.startswith(_PATH_OPTIONS):
            key, value = opt.split("=", 1)
            rel = ":".join(os.path.relpath(p, base) for p in value.split(":"))
            out.append(f"{key}={rel}")
        else:
            out.append(opt)
    return base, out


def _mount_in(cwd: str, source: str, target: str, fstype: str, flags: int, data: str) -> int:
    """Mount from a child process whose working directory is ``cwd``; 0 or the errno."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 255
        try:
            os.chdir(cwd)
            code = _sys_mount(source, target, fstype, flags, data)
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def _mount_one(m: Mount, target: str) -> None:
    flags, data = _split_options(m.options)
    if m.type == "bind" or flags & _MS_BIND:
        err = _sys_mount(m.source, target, None, _MS_BIND | (flags & _MS_REC), None)
        if not err and flags & ~(_MS_BIND | _MS_REC):
            err = _sys_mount("", target, None, _MS_REMOUNT | _MS_BIND | flags, None)
            if err:
                _libc.umount2(os.fsencode(target), _MNT_DETACH)
    else:
        text = ",".join(data)
        if len(text.encode()) <= MAX_OPTIONS:
            err = _sys_mount(m.source, target, m.type, flags, text or None)
        else:
            base, rel = _relative(data)
            text = ",".join(rel)
            if len(text.encode()) > MAX_OPTIONS:
                raise InvalidArgument(f"mount {target}: {m.type} options too long even "
                                      f"relative to {base} ({len(text)} bytes)")
            err = _mount_in(base, m.source, target, m.type, flags, text)
    if err:
        raise SystemFailure(f"mount {m.type} on {target}: {os.strerror(err)}")


def mount(mounts: Sequence[Mount], target: str | Path) -> None:
    """Mount each of ``mounts`` on ``target`` (an existing directory), in order."""
    target = os.path.abspath(target)
    done = 0
    try:
        for m in mounts:
            _mount_one(m, target)
            done += 1
    except BaseException:
        for _ in range(done):
            _libc.umount2(os.fsencode(target), _MNT_DETACH)
        raise


def unmount(target: str | Path, *, detach: bool = False) -> None:
    """Unmount everything stacked on ``target``; a target not mounted is left alone."""
    path = os.fsencode(os.path.abspath(target))
    for _ in range(64):
        if _libc.umount2(path, _MNT_DETACH if detach else 0) != 0:
            err = ctypes.get_errno()
            if err == errno.EINVAL:  # not (or no longer) a mount point
                return
            raise SystemFailure(f"unmount {os.fsdecode(path)}: {os.strerror(err)}")
    raise SystemFailure(f"unmount {os.fsdecode(path)}: still mounted after 64 unmounts")
