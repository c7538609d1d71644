"""Attaching a terminal (or any fds) to a container through its monitor.

The caller's input goes through the detach-key filter to the container's stdin;
output frames go to the caller's stdout/stderr. With a tty the local terminal is put
in raw mode and SIGWINCH sends the new size, as ``docker attach`` does.

:func:`attach` connects to a running container's monitor. To attach *before* a start
(as docker's client does for ``run`` and ``start -a``), the command opens an
:class:`AttachPoint`, hands its ``spec`` to the start (``MonitorConfig["attach"]``): the
new monitor connects to it before the container exists, so the first byte of output
reaches the command whatever the log driver keeps. Then :func:`relay` serves it.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys
from collections.abc import Callable

from . import protocol as P
from .client import connect
from .detachkeys import DEFAULT_DETACH_KEYS, DetachFilter

__all__ = ["AttachPoint", "attach", "relay"]


class AttachPoint:
    """An abstract unix socket the monitor of the container being started connects to
    (nothing on disk to clean up; a killed command just drops the monitor's client)."""

    def __init__(self, stdout: bool = True, stderr: bool = True) -> None:
        import secrets

        name = f"dockyard-attach-{secrets.token_hex(16)}"
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        self._listener.bind("\0" + name)
        self._listener.listen(1)
        self._listener.setblocking(False)
        self.spec: dict[str, object] = {"socket": name, "stdout": stdout, "stderr": stderr}

    def accept(self) -> socket.socket | None:
        """The monitor's connection, once the start returned; None when no monitor
        came (the container was running already, so no new monitor was made)."""
        while True:
            try:
                sock, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return None
            creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
            if int.from_bytes(creds[4:8], sys.byteorder) == os.geteuid():  # ucred's uid
                sock.setblocking(True)
                return sock
            sock.close()  # not a monitor of ours

    def close(self) -> None:
        self._listener.close()

    def __enter__(self) -> AttachPoint:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _terminal_size(fd: int) -> tuple[int, int] | None:
    import fcntl
    import termios

    try:
        raw = fcntl.ioctl(fd, termios.TIOCGWINSZ, bytes(8))
    except OSError:
        return None
    rows, cols = int.from_bytes(raw[0:2], "little"), int.from_bytes(raw[2:4], "little")
    return (rows, cols) if rows and cols else None


def _set_handler(sig: int, handler: object) -> None:
    signal.signal(sig, handler)  # type: ignore[arg-type]


def _recv(sock: socket.socket) -> bytes:
    """The next bytes from the monitor; b"" once it is gone (reset at its exit too)."""
    try:
        return sock.recv(65536)
    except ConnectionError:
        return b""


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def attach(run_dir: str | os.PathLike[str], *, stdin: int | None = 0, stdout: int = 1,
           stderr: int = 2, detach_keys: bytes = DEFAULT_DETACH_KEYS,
           on_attached: Callable[[], object] | None = None) -> int | None:
    """Relay between the given fds and the container until it exits or we detach.

    Returns the container's exit code, or None when the user typed the detach keys
    (or the monitor went away). ``on_attached`` runs once the monitor has accepted the
    attach (to print what was logged before it).
    """
    sock = connect(run_dir, timeout=None)
    try:
        sock.sendall(json.dumps({"op": "attach", "stdin": stdin is not None,
                                 "stdout": True, "stderr": True}).encode() + b"\n")
    except BaseException:
        sock.close()
        raise
    return relay(sock, stdin=stdin, stdout=stdout, stderr=stderr, detach_keys=detach_keys,
                 on_attached=on_attached)


def relay(sock: socket.socket, *, stdin: int | None = 0, stdout: int = 1, stderr: int = 2,
          detach_keys: bytes = DEFAULT_DETACH_KEYS,
          on_attached: Callable[[], object] | None = None) -> int | None:
    """Serve an attach the monitor accepted (its reply line is next on ``sock``) until
    the container exits (its exit code) or we detach (None); closes ``sock``."""
    restore: list[Callable[[], None]] = []
    try:
        data = b""
        while b"\n" not in data:
            chunk = _recv(sock)
            if not chunk:
                return None
            data += chunk
        line, _, rest = data.partition(b"\n")
        tty = bool(json.loads(line).get("tty"))
        frames = P.FrameReader()
        wake_r = wake_w = -1
        if tty and stdin is not None and os.isatty(stdin):
            import termios
            import tty as ttymod

            saved = termios.tcgetattr(stdin)
            ttymod.setraw(stdin)
            restore.append(lambda: termios.tcsetattr(stdin, termios.TCSADRAIN, saved))
            wake_r, wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
            old = signal.signal(signal.SIGWINCH, lambda *_: os.write(wake_w, b"w"))
            restore.append(lambda: _set_handler(signal.SIGWINCH, old))
            restore.append(lambda: os.close(wake_r))
            restore.append(lambda: os.close(wake_w))
            size = _terminal_size(stdin)
            if size:
                sock.sendall(P.encode_frame(P.RESIZE, f"{size[0]} {size[1]}".encode()))
        if on_attached is not None:
            on_attached()
        keys = DetachFilter(detach_keys)
        reading_stdin = stdin is not None
        pending = rest
        while True:
            if pending:
                for kind, payload in frames.feed(pending):
                    if kind == P.STDOUT:
                        _write_all(stdout, payload)
                    elif kind == P.STDERR:
                        _write_all(stderr, payload)
                    elif kind == P.EXIT:
                        return int(payload or b"0")
                pending = b""
            fds = [sock.fileno()] + ([stdin] if reading_stdin and stdin is not None else [])
            if wake_r >= 0:
                fds.append(wake_r)
            try:
                ready, _, _ = select.select(fds, [], [])
            except InterruptedError:
                continue
            if sock.fileno() in ready:
                pending = _recv(sock)
                if not pending:
                    return None
            if wake_r >= 0 and wake_r in ready:
                try:
                    os.read(wake_r, 64)
                except BlockingIOError:
                    pass
                assert stdin is not None
                size = _terminal_size(stdin)
                if size:
                    sock.sendall(P.encode_frame(P.RESIZE, f"{size[0]} {size[1]}".encode()))
            if stdin is not None and reading_stdin and stdin in ready:
                data = os.read(stdin, 65536)
                if not data:
                    reading_stdin = False
                    sock.sendall(P.encode_frame(P.STDIN_CLOSE))
                    continue
                forward, detached = keys.feed(data)
                if forward:
                    sock.sendall(P.encode_frame(P.STDIN, forward))
                if detached:
                    return None
    finally:
        for undo in reversed(restore):
            undo()
        sock.close()
