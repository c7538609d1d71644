"""Whether the warm engine's code is still the code on disk.

The engine imported its modules once; a command must not run old code after an
upgrade or an edit. ``SourceWatch`` watches the directories of the imported modules
of the ``dockyard`` package with inotify, so a check costs one non-blocking read
instead of a ``stat`` per module (~300 of them: ~0.5 ms per command); without inotify
it compares every module's mtime and size.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import struct
import sys

__all__ = ["SourceWatch", "imported_sources"]

_IN_MODIFY, _IN_ATTRIB, _IN_MOVED_FROM, _IN_MOVED_TO = 0x2, 0x4, 0x40, 0x80
_IN_CREATE, _IN_DELETE, _IN_DELETE_SELF, _IN_MOVE_SELF = 0x100, 0x200, 0x400, 0x800
_IN_Q_OVERFLOW = 0x4000
_WATCHED = (_IN_MODIFY | _IN_ATTRIB | _IN_MOVED_FROM | _IN_MOVED_TO | _IN_CREATE | _IN_DELETE
            | _IN_DELETE_SELF | _IN_MOVE_SELF)
_IN_NONBLOCK, _IN_CLOEXEC = os.O_NONBLOCK, os.O_CLOEXEC
_EVENT = struct.Struct("iIII")


def imported_sources() -> dict[str, tuple[int, int]]:
    """(mtime, size) of every imported module of the ``dockyard`` package."""
    base = os.path.dirname(sys.modules["dockyard"].__file__ or "")
    found = {}
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if path and path.startswith(base):
            st = os.stat(path)
            found[path] = (st.st_mtime_ns, st.st_size)
    return found


class SourceWatch:
    """Notices a change to a ``.py`` file beside any module imported so far."""

    def __init__(self) -> None:
        self.sources = imported_sources()
        self.changed = False
        self.fd = -1
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        fd = libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        if fd < 0:
            return  # no inotify: stat every time
        for directory in {os.path.dirname(p) for p in self.sources}:
            if libc.inotify_add_watch(fd, os.fsencode(directory), _WATCHED) < 0:
                os.close(fd)
                return
        self.fd = fd

    def stale(self) -> bool:
        """True once any imported module's source may have changed (then for good)."""
        if self.changed:
            return True
        if self.fd < 0:
            self.changed = self._stat_changed()
            return self.changed
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return False
        self.changed = _touches_sources(data)
        return self.changed

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def _stat_changed(self) -> bool:
        for path, stamp in self.sources.items():
            try:
                st = os.stat(path)
            except OSError:
                return True
            if (st.st_mtime_ns, st.st_size) != stamp:
                return True
        return False


def _touches_sources(data: bytes) -> bool:
    """Whether inotify events in ``data`` concern Python sources (not caches, not
    an editor's swap file) or the watched directories themselves."""
    offset = 0
    while offset + _EVENT.size <= len(data):
        _, mask, _, length = _EVENT.unpack_from(data, offset)
        name = data[offset + _EVENT.size:offset + _EVENT.size + length].rstrip(b"\0")
        offset += _EVENT.size + length
        if mask & (_IN_DELETE_SELF | _IN_MOVE_SELF | _IN_Q_OVERFLOW) or name.endswith(b".py"):
            return True
    return False
