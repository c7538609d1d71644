"""Terminals: a pty whose master goes to the caller's console socket (runc's protocol).

The init opens ``/dev/ptmx`` inside the container, sends the master over the unix
socket with SCM_RIGHTS, and makes the slave its controlling terminal and stdio.
"""

from __future__ import annotations

import _socket
import fcntl
import os
import socket
import struct
import sys
import termios

from dockyard.errors import InvalidArgument

__all__ = ["connect_console_socket", "open_pty", "receive_pty_master", "send_master",
           "take_terminal"]

_TIOCSPTLCK = 0x40045431
_TIOCGPTN = 0x80045430


def connect_console_socket(path: str) -> socket.socket:
    """Connect to the caller's console socket (before forking, in the runtime)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        sock.connect(path)
    except OSError as exc:
        sock.close()
        raise InvalidArgument(f"--console-socket: {path}: {exc.strerror}") from None
    return sock


def open_pty() -> tuple[int, str]:
    """A new pty in this mount namespace's devpts: (master fd, slave path)."""
    master = os.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    fcntl.ioctl(master, _TIOCSPTLCK, struct.pack("i", 0))
    num = struct.unpack("I", fcntl.ioctl(master, _TIOCGPTN, b"\0\0\0\0"))[0]
    return master, f"/dev/pts/{num}"


def send_master(sock: _socket.socket, master: int, name: str) -> None:
    """Hand the pty master to whoever listens on the console socket."""
    sock.sendmsg([name.encode()], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                     master.to_bytes(4, sys.byteorder))])


def take_terminal(slave_path: str) -> None:
    """New session, the slave as controlling terminal and as fds 0, 1 and 2."""
    os.setsid()
    slave = os.open(slave_path, os.O_RDWR)
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    if slave > 2:
        os.close(slave)


def receive_pty_master(listener: socket.socket) -> int:
    """Accept one connection on a console socket and return the pty master it carries."""
    conn, _ = listener.accept()
    with conn:
        _, fds, _, _ = socket.recv_fds(conn, 1024, 1)
    if not fds:
        raise InvalidArgument("console socket: no descriptor received")
    return fds[0]
