"""Entering a network namespace from one thread (Python 3.11 has no ``os.setns``).

``setns(CLONE_NEWNET)`` moves only the calling thread; sockets created while inside
stay in that namespace after the thread goes back. That is how the embedded DNS
binds 127.0.0.11 in a container's namespace from the monitor, and how tests make
sockets inside the namespaces they create.
"""

from __future__ import annotations

import _thread
import contextlib
import ctypes
import os

from dockyard.errors import NotFound, SystemFailure

TYPE_CHECKING = False  # not typing's: the monitor imports this module
if TYPE_CHECKING:
    import socket
    from collections.abc import Iterator

__all__ = ["in_netns", "netns_socket"]

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise SystemFailure(f"setns: {os.strerror(err)}")


@contextlib.contextmanager
def in_netns(path: str) -> Iterator[None]:
    """Run the body in the network namespace at ``path`` (``/proc/PID/ns/net``,
    ``/run/netns/NAME``); the thread returns to its own namespace afterwards."""
    try:
        target = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise NotFound(f"no such network namespace: {path}") from None
    own = f"/proc/self/task/{_thread.get_native_id()}/ns/net"
    home = os.open(own, os.O_RDONLY | os.O_CLOEXEC)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(target)
        os.close(home)


def netns_socket(path: str, family: int = 2, kind: int = 1) -> socket.socket:
    """A new socket (AF_INET, SOCK_STREAM unless told) in the namespace at ``path``."""
    import socket

    with in_netns(path):
        return socket.socket(family, kind)
