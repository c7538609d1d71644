"""Entering a network namespace from one thread (Python 3.11 has no ``os.setns``).

``setns(CLONE_NEWNET)`` moves only the calling thread; sockets created while inside
stay in that namespace after the thread goes back. That is how the embedded DNS
binds 127.0.0.11 in a container's namespace from the monitor, and how tests make
sockets inside the namespaces they create.
"""

from __future__ import annotations

import _thread
import ctypes
import os

from dockyard.errors import NotFound, SystemFailure

TYPE_CHECKING = False  # not typing's: the monitor imports this module
if TYPE_CHECKING:
    import socket

__all__ = ["in_netns", "netns_socket"]

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise SystemFailure(f"setns: {os.strerror(err)}")


class in_netns:  # lower case: used like a function, ``with in_netns(path):``
    """Run the body in the network namespace at ``path`` (``/proc/PID/ns/net``,
    ``/run/netns/NAME``); the thread returns to its own namespace afterwards.
    A class, not contextlib's decorator: contextlib costs the monitor a megabyte."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._home = -1

    def __enter__(self) -> None:
        try:
            target = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise NotFound(f"no such network namespace: {self.path}") from None
        try:
            own = f"/proc/self/task/{_thread.get_native_id()}/ns/net"
            self._home = os.open(own, os.O_RDONLY | os.O_CLOEXEC)
            _setns(target)
        except BaseException:
            if self._home >= 0:
                os.close(self._home)
                self._home = -1
            raise
        finally:
            os.close(target)

    def __exit__(self, *exc: object) -> None:
        try:
            _setns(self._home)
        finally:
            os.close(self._home)
            self._home = -1


def netns_socket(path: str, family: int = 2, kind: int = 1) -> socket.socket:
    """A new socket (AF_INET, SOCK_STREAM unless told) in the namespace at ``path``."""
    import socket

    with in_netns(path):
        return socket.socket(family, kind)
