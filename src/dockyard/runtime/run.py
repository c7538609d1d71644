"""``run``: create, start, wait for the init, delete, and exit with its status.

The runtime makes itself a child subreaper first, so the init (orphaned when the
intermediate process exits) becomes its child and can be waited for; signals the
runtime receives are forwarded to the container, as runc does.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # signal's C half: no enum
import os

from dockyard.runtime import container_create as cr
from dockyard.runtime.container_delete import delete
from dockyard.runtime.container_start import start
from dockyard.runtime.container_state import check_id
from dockyard.runtime.syscalls import prctl

TYPE_CHECKING = False  # typing itself costs milliseconds per start

if TYPE_CHECKING:
    from dockyard.runtime.container_state import StrPath

__all__ = ["run", "wait_exit_code"]

_PR_SET_CHILD_SUBREAPER = 36
_FORWARD = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP, _signal.SIGQUIT,
            _signal.SIGUSR1, _signal.SIGUSR2, _signal.SIGWINCH)


def run(state_root: StrPath, container_id: str, bundle: StrPath, *,
        pid_file: str | None = None, console_socket: str | None = None,
        preserve_fds: int = 0, detach: bool = False, keep: bool = False) -> int:
    """Run the container to completion; its exit status (128+N when killed by signal N)."""
    prctl(_PR_SET_CHILD_SUBREAPER, 1)
    ours = None
    check_id(container_id)  # before the config, as create checks them
    loaded = cr.load_bundle(bundle)
    if not console_socket and not detach and loaded[0]["process"].get("terminal"):
        import _socket

        ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        cs = cr.create(state_root, container_id, bundle, pid_file=pid_file,
                       console_socket=console_socket, preserve_fds=preserve_fds,
                       console=theirs if ours is not None else None, loaded=loaded)
    finally:
        if ours is not None:
            theirs.close()
    pid = cs.pid
    try:
        for sig in _FORWARD:
            _signal.signal(sig, lambda n, _f: _forward(pid, n))
        master = -1
        if ours is not None:
            from dockyard.runtime.console import receive_master

            master = receive_master(ours)
            ours.close()
        start(state_root, container_id)
        if detach:
            return 0
        if master >= 0:
            from dockyard.runtime.console import proxy

            proxy(master)
        code = wait_exit_code(pid)
    except BaseException:
        delete(state_root, container_id, force=True)
        raise
    if not keep:
        delete(state_root, container_id, force=True)
    return code


def _forward(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def wait_exit_code(pid: int) -> int:
    """Reap children until ``pid`` exits; its shell-style exit code (128+N if killed)."""
    while True:
        try:
            done, status = os.waitpid(-1, 0)
        except InterruptedError:
            continue
        except ChildProcessError:
            return 255
        if done == pid:
            return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) \
                else 128 + os.WTERMSIG(status)
