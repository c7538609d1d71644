"""The few Linux system calls the runtime needs that ``os`` lacks (Python 3.11), via
``_ctypes`` (``runtime/cabi``: the ``ctypes`` package costs milliseconds to import).

Every wrapper raises ``OSError`` with the errno and the object it was about, so callers
can turn it into a one-line ``dockyard.errors`` message. x86_64 and aarch64 numbers.
"""

from __future__ import annotations

import os

from dockyard.runtime.cabi import (
    U64,
    CharP,
    Long,
    Structure,
    ULong,
    array,
    byref,
    check,
    libc,
    sizeof,
)

__all__ = [
    "CLONE_NEWCGROUP", "CLONE_NEWIPC", "CLONE_NEWNET", "CLONE_NEWNS", "CLONE_NEWPID",
    "CLONE_NEWUSER", "CLONE_NEWUTS", "MNT_DETACH", "MS_BIND", "MS_NODEV", "MS_NOEXEC",
    "MS_NOSUID", "MS_PRIVATE", "MS_RDONLY", "MS_REC", "MS_REMOUNT", "MS_SHARED",
    "MS_SLAVE", "MS_UNBINDABLE", "PROC_SUPER_MAGIC", "RESOLVE_IN_ROOT",
    "RESOLVE_NO_MAGICLINKS", "fs_type", "mount", "mount_setattr_rdonly", "openat2",
    "pivot_root", "prctl",
    "setdomainname", "sethostname", "setns", "umount2", "unshare",
]

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_UNBINDABLE = 1 << 17
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MNT_DETACH = 2

RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_IN_ROOT = 0x10

_NR = {
    "x86_64": {"pivot_root": 155, "openat2": 437, "mount_setattr": 442},
    "aarch64": {"pivot_root": 41, "openat2": 437, "mount_setattr": 442},
}[os.uname().machine]

_mount = libc("mount", argtypes=(CharP, CharP, CharP, ULong, CharP))
_umount2 = libc("umount2")
_syscall = libc("syscall", Long)
_unshare = libc("unshare")
_setns = libc("setns")
_sethostname = libc("sethostname")
_setdomainname = libc("setdomainname")
_prctl = libc("prctl", argtypes=(ULong, ULong, ULong, ULong, ULong))
_fstatfs = libc("fstatfs")
_check = check


def _b(s: str | None) -> bytes | None:
    return None if s is None else os.fsencode(s)


def mount(source: str | None, target: str, fstype: str | None, flags: int,
          data: str | None = None) -> None:
    """mount(2); ``target`` is usually ``/proc/self/fd/N`` of an O_PATH descriptor."""
    _check(_mount(_b(source), _b(target), _b(fstype), flags, _b(data)), target)


def umount2(target: str, flags: int = 0) -> None:
    _check(_umount2(_b(target), flags), target)


def pivot_root(new_root: str, put_old: str) -> None:
    _check(_syscall(Long(_NR["pivot_root"]), _b(new_root), _b(put_old)), new_root)


def unshare(flags: int) -> None:
    _check(_unshare(flags), "unshare")


def setns(fd: int, nstype: int = 0) -> None:
    _check(_setns(fd, nstype), "setns")


def sethostname(name: str) -> None:
    raw = name.encode()
    _check(_sethostname(raw, len(raw)), "sethostname")


def setdomainname(name: str) -> None:
    raw = name.encode()
    _check(_setdomainname(raw, len(raw)), "setdomainname")


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    return _check(_prctl(option, arg2, arg3, arg4, arg5), "prctl")


class _OpenHow(Structure):  # type: ignore[misc]
    _fields_ = [("flags", U64), ("mode", U64), ("resolve", U64)]


def openat2(dirfd: int, path: str, flags: int, mode: int = 0, resolve: int = 0) -> int:
    """openat2(2): open ``path`` under ``dirfd`` with ``RESOLVE_*`` restrictions."""
    how = _OpenHow(flags | os.O_CLOEXEC, mode, resolve)
    return _check(_syscall(Long(_NR["openat2"]), Long(dirfd), _b(path), byref(how),
                           Long(sizeof(how))), path)


PROC_SUPER_MAGIC = 0x9FA0


def fs_type(fd: int) -> int:
    """``f_type`` of fstatfs(2): which filesystem an open descriptor is on."""
    buf = array(Long, 32)  # struct statfs is 120 bytes on 64-bit; f_type comes first
    _check(_fstatfs(fd, buf), f"fd {fd}")
    return int(buf[0])


class _MountAttr(Structure):  # type: ignore[misc]
    _fields_ = [("attr_set", U64), ("attr_clr", U64), ("propagation", U64),
                ("userns_fd", U64)]


def mount_setattr_rdonly(fd: int) -> None:
    """mount_setattr(2) ``MOUNT_ATTR_RDONLY`` on the mount ``fd`` names and every mount
    below it (``AT_RECURSIVE``): a recursive read-only bind mount."""
    attr = _MountAttr(1, 0, 0, 0)  # MOUNT_ATTR_RDONLY
    flags = 0x1000 | 0x8000  # AT_EMPTY_PATH | AT_RECURSIVE
    _check(_syscall(Long(_NR["mount_setattr"]), Long(fd), b"", Long(flags), byref(attr),
                    Long(sizeof(attr))), f"fd {fd}")
