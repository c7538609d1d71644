"""The ``dockyard`` command's entry point: hand the command to the warm engine.

The warm engine (``server.py``) is a process per run root that has imported the whole
CLI once and forks a worker per command. This client connects to it, passes argv, the
environment, the umask, its stdio and its working directory, forwards the signals it
gets to the worker, and exits as the worker did. It costs about an interpreter start,
where the cold path spends ~100 ms importing click and the engine.

It falls back to running the command itself (``cli.main``) when there is no engine
yet (and then starts one in the background), when the engine refuses (other code, other
namespaces or privileges), with ``DOCKYARD_WARM=0``, and for ``serve``.
"""

from __future__ import annotations

import posix  # not os: see wire.py
import sys

from dockyard.cli.warm import wire

__all__ = ["main"]

# Signals passed on to the worker, as a shell's child would have received them. Those
# a terminal sends go to the worker's process group (its children, e.g. a runtime's
# `exec -t`, got them from the terminal when the command ran cold); the others, which
# come from kill(1) and the like, to the worker alone.
_FORWARDED = (1, 2, 3, 10, 12, 15, 28)  # HUP INT QUIT USR1 USR2 TERM WINCH
_TO_GROUP = (2, 3, 28)  # INT QUIT WINCH
_COLD_VERBS = {"serve"}  # long-lived servers keep their own process (also ``registry serve``)


def main(python: str | None = None) -> None:
    """Run ``dockyard`` with ``sys.argv``; exits with the command's code.

    ``python`` is the interpreter with Dockyard's dependencies, for the engine and for
    a command that runs cold; the launcher passes it, as it runs this client on another
    interpreter without ``site``. By default it is this one.
    """
    python = python or sys.executable
    argv = sys.argv[1:]
    if wire.environ("DOCKYARD_WARM") != "0" and not _cold_verb(argv):
        code = _run_warm(argv, python)
        if code is not None:
            sys.stdout.flush()
            posix._exit(code)
    if python != sys.executable:  # this interpreter lacks click and the rest
        sys.stdout.flush()
        posix.execv(python, [python, "-P", "-m", "dockyard.cli.main", *argv])
    from dockyard.cli.main import main as cold_main

    sys.exit(cold_main(argv))


def _cold_verb(argv: list[str]) -> bool:
    words: list[str] = []
    value_of = ""
    for arg in argv:
        if value_of:
            value_of = ""  # the value of --root or --run-root
        elif arg in ("--root", "--run-root"):
            value_of = arg
        elif not arg.startswith("-"):
            words.append(arg)
    return bool(_COLD_VERBS.intersection(words[:2]))


def _run_warm(argv: list[str], python: str) -> int | None:
    """The command's exit code from the warm engine, or None to run it here."""
    import _socket

    run_root = wire.run_root_of(argv)
    try:
        dir_fd = posix.open(wire.warm_dir(run_root), posix.O_PATH | posix.O_DIRECTORY)
    except OSError:
        _start_engine(run_root, python)
        return None
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        try:
            sock.connect(f"/proc/self/fd/{dir_fd}/{wire.SOCKET_NAME}")
        except OSError:
            _start_engine(run_root, python)
            return None
        try:
            for fd in (0, 1, 2):
                posix.fstat(fd)
        except OSError:
            return None  # a closed stdio descriptor cannot be passed on
        cwd = posix.open(".", posix.O_PATH | posix.O_DIRECTORY)
        umask = posix.umask(0o22)
        posix.umask(umask)
        body = wire.encode_request(wire.code_key(python), sys.argv[0], argv,
                                   dict(posix.environ), umask)
        rights = b"".join(fd.to_bytes(4, sys.byteorder) for fd in (0, 1, 2, cwd))
        sock.sendmsg([body], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, rights)])
        posix.close(cwd)
        return _await_worker(sock)
    finally:
        sock.close()
        posix.close(dir_fd)


def _await_worker(sock: object) -> int | None:
    """Forward signals to the worker until the engine reports how it ended."""
    import _signal  # type: ignore[import-not-found]  # signal.py would import enum

    recv = sock.recv  # type: ignore[attr-defined]
    worker = [0]
    pending: list[int] = []

    def forward(signum: int, frame: object) -> None:
        if worker[0]:
            _send(worker[0], signum)
        else:
            pending.append(signum)

    for signum in _FORWARDED:
        _signal.signal(signum, forward)
    buf = b""
    while True:
        try:
            chunk = recv(256)
        except InterruptedError:
            continue
        if not chunk:
            if worker[0]:
                sys.stderr.write("Error: the warm engine went away while running "
                                 "the command\n")
                return 125
            return None  # refused before forking (e.g. the engine is stopping)
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            kind, _, value = line.decode().partition(" ")
            if kind == "R":
                return None
            if kind == "P":
                worker[0] = int(value)
                for signum in pending:
                    _send(worker[0], signum)
            elif kind == "X":
                return _exit_code(int(value))


def _send(worker: int, signum: int) -> None:
    try:
        posix.kill(-worker if signum in _TO_GROUP else worker, signum)
    except OSError:
        pass  # it has just ended


def _exit_code(status: int) -> int:
    """The shell's view of a wait status: the code, or 128 + the signal."""
    if posix.WIFSIGNALED(status):
        return 128 + posix.WTERMSIG(status)
    return posix.waitstatus_to_exitcode(status)


def _start_engine(run_root: str, python: str) -> None:
    """Start the warm engine for ``run_root`` in the background, unless one is starting.

    The lock is taken here and handed to the engine (it inherits the descriptor), so
    two clients never start two engines and an engine never starts twice.
    """
    if wire.environ("DOCKYARD_WARM_AUTOSTART") == "0":
        return
    import fcntl
    import os

    directory = wire.warm_dir(run_root)
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        lock = os.open(os.path.join(directory, wire.LOCK_NAME),
                       os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        return
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return  # an engine holds it: it is starting, running or stopping
        os.set_inheritable(lock, True)
        log = os.path.join(directory, "engine.log")
        actions = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                   (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
                   (os.POSIX_SPAWN_OPEN, 2, log, os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                    0o600)]
        os.posix_spawn(python,
                       [python, "-P", "-m", "dockyard.cli.warm.server", run_root,
                        str(lock)],
                       dict(os.environ), file_actions=actions, setsid=True)
    except OSError:
        pass
    finally:
        os.close(lock)
