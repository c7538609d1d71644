"""Terminals: a pty whose master goes to the caller's console socket (runc's protocol).

The init opens ``/dev/ptmx`` inside the container, sends the master over the unix
socket with SCM_RIGHTS, and makes the slave its controlling terminal and stdio.
"""

from __future__ import annotations

import _socket
import fcntl
import os
import signal
import socket
import struct
import sys
import termios
from typing import Any

from dockyard.errors import InvalidArgument

__all__ = ["connect_console_socket", "copy_window_size", "open_pty", "proxy",
           "receive_master", "receive_pty_master", "send_master", "take_terminal"]

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
        return receive_master(conn)


def receive_master(conn: _socket.socket) -> int:
    """The pty master sent (SCM_RIGHTS) on a connected socket."""
    _, ancdata, _, _ = conn.recvmsg(1024, socket.CMSG_SPACE(4))
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS and len(data) >= 4:
            return int.from_bytes(data[:4], sys.byteorder)
    raise InvalidArgument("console socket: no descriptor received")


def proxy(master: int) -> None:
    """Copy our stdin to the pty and the pty to our stdout until the container's side
    closes (``run`` with a terminal and no console socket, as runc does)."""
    import select
    import tty

    saved = None
    old_winch: Any = None
    if os.isatty(0):
        saved = termios.tcgetattr(0)
        tty.setraw(0, termios.TCSANOW)  # not TCSAFLUSH: keep what was typed already
        copy_window_size(0, master)
        old_winch = signal.signal(signal.SIGWINCH, lambda *_: copy_window_size(0, master))
    watch = [master, 0]
    try:
        while True:
            try:
                ready, _, _ = select.select(watch, [], [])
            except InterruptedError:
                continue
            if master in ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: every slave descriptor is closed
                    break
                if not data:
                    break
                os.write(1, data)
            if 0 in ready:
                data = os.read(0, 65536)
                if data:
                    os.write(master, data)
                else:
                    watch.remove(0)
    finally:
        if saved is not None:
            signal.signal(signal.SIGWINCH, old_winch)
            termios.tcsetattr(0, termios.TCSADRAIN, saved)
        os.close(master)


def copy_window_size(src: int, dst: int) -> None:
    """Give terminal ``dst`` the rows and columns of terminal ``src`` (if it has any)."""
    try:
        size = fcntl.ioctl(src, termios.TIOCGWINSZ, b"\0" * 8)
        fcntl.ioctl(dst, termios.TIOCSWINSZ, size)
    except OSError:  # not a terminal, or the pty is already gone
        pass
