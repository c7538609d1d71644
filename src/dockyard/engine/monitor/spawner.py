"""The monitor spawner: a warm interpreter that forks monitors, so they share its pages.

A fresh interpreter per monitor costs ~9 MiB RSS and ~4 MiB PSS, nearly all of it
interpreter start-up that every monitor repeats. Forked from one process that has
already imported the monitor's code (then ``gc.freeze()`` so the collector does not
touch, and so copy, the shared objects), a monitor keeps only what it writes itself.

One spawner per run root, in ``$RUN/monitor/`` (``spawner.sock``, ``spawner.pid``,
``spawner.log``, ``spawner.lock``). Clients hold ``spawner.lock`` while they talk to it
and start it when it is not there. A request is one JSON line ``{"config": path}``
with the caller's sync pipe attached (SCM_RIGHTS); the reply is ``{"ok": true, "pid":
N}``. The forked child detaches (setsid, child subreaper) and runs the monitor exactly
as a directly launched one would, reporting on that pipe. The spawner exits as soon as
it has no monitor left, holding the lock so no client races its exit; monitors do not
depend on it and outlive it if it is killed. Requests carry ``protocol.code_version()``:
a spawner running older code gives up its socket (the client starts a new one) and
stays only to reap the monitors it forked.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]
import _socket
import gc
import os
import select
import sys

from dockyard.engine.monitor import protocol as P
from dockyard.engine.monitor.process import load_config, run_monitor

__all__ = ["serve"]

SOCKET = "spawner.sock"
LOCK = "spawner.lock"
PID = "spawner.pid"


def _unlink(name: str) -> None:
    try:
        os.unlink(name)
    except FileNotFoundError:
        pass


def serve(directory: str, ready_fd: int) -> int:
    """Run the spawner in ``directory`` (boot.py has detached us); ``ready_fd`` gets "ok"."""
    import fcntl

    from .libc import Libc

    libc = Libc()  # loaded before forking: shared by children
    os.chdir(directory)
    log_fd = os.open("spawner.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(null)
    os.close(log_fd)
    for sig in (_signal.SIGHUP, _signal.SIGINT, _signal.SIGPIPE):
        _signal.signal(sig, _signal.SIG_IGN)
    listener = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    _unlink(SOCKET)
    listener.bind(SOCKET)
    listener.listen(64)
    with open(PID + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.rename(PID + ".tmp", PID)
    wake_r, wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
    _signal.set_wakeup_fd(wake_w)
    _signal.signal(_signal.SIGCHLD, lambda *_: None)
    os.write(ready_fd, b"ok\n")
    os.close(ready_fd)
    lock_fd = os.open(LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    children: set[int] = set()
    served = False
    owner = True  # of spawner.sock and spawner.pid, until a newer spawner takes over
    version = P.code_version()
    gc.collect()
    gc.freeze()
    libc.malloc_trim(0)  # type: ignore[attr-defined]  # fewer resident pages to hand down
    ep = select.epoll()
    ep.register(listener.fileno(), select.EPOLLIN)
    ep.register(wake_r, select.EPOLLIN)
    while True:
        # Idle and childless: leave, but only while no client is mid-request.
        if not children and not owner:
            return 0
        if not children:
            try:
                fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pass
            else:
                if not _pending(listener):
                    _unlink(SOCKET)
                    _unlink(PID)
                    return 0
                fcntl.flock(lock_fd, fcntl.LOCK_UN)
        try:
            events = ep.poll(-1 if children else (5.0 if not served else 0.05))
        except InterruptedError:
            continue
        for fd, _ in events:
            if fd == wake_r:
                try:
                    while os.read(wake_r, 512):
                        pass
                except BlockingIOError:
                    pass
                _reap(children)
            elif owner:
                pid = _accept_one(listener, libc, version,
                                  (listener, wake_r, wake_w, lock_fd, ep))
                if pid > 0:
                    children.add(pid)
                    served = True
                elif pid < 0:  # our code is stale: step aside, keep reaping our monitors
                    ep.unregister(listener.fileno())
                    listener.close()
                    owner = False
        _reap(children)


def _pending(listener: _socket.socket) -> bool:
    """Whether a connection waits in the backlog (accepting would block otherwise)."""
    ready, _, _ = select.select([listener.fileno()], [], [], 0)
    return bool(ready)


def _reap(children: set[int]) -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            children.clear()
            return
        if pid == 0:
            return
        children.discard(pid)


def _accept_one(listener: _socket.socket, libc: object, version: str,
                close_in_child: tuple[object, ...]) -> int:
    """Serve one request; return the forked monitor's pid, 0 if the request was bad, or
    -1 if the client runs newer code (then the socket and pid file are already gone)."""
    try:
        fd, _ = listener._accept()  # type: ignore[attr-defined]
    except OSError:
        return 0
    conn = _socket.socket(fileno=fd)
    sync_fd = -1
    try:
        conn.settimeout(5.0)
        data, anc, _, _ = conn.recvmsg(65536, _socket.CMSG_SPACE(4), _socket.MSG_CMSG_CLOEXEC)
        for level, kind, payload in anc:
            if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS and len(payload) >= 4:
                sync_fd = int.from_bytes(payload[:4], sys.byteorder)
        req = P.loads(data.split(b"\n", 1)[0])
        if not isinstance(req, dict) or not isinstance(req.get("config"), str) or sync_fd < 0:
            raise ValueError("expected {\"config\": path} with a sync fd")
        if req.get("version") != version:
            _unlink(SOCKET)
            _unlink(PID)
            conn.sendall((P.dumps({"ok": False, "stale": True}) + "\n").encode())
            return -1
        cfg_path = str(req["config"])
        pid = os.fork()
        if pid == 0:
            _child(cfg_path, sync_fd, libc, conn, close_in_child)
        conn.sendall((P.dumps({"ok": True, "pid": pid}) + "\n").encode())
        return pid
    except (OSError, ValueError) as e:
        try:
            conn.sendall((P.dumps({"ok": False, "error": str(e)}) + "\n").encode())
        except OSError:
            pass
        return 0
    finally:
        conn.close()
        if sync_fd >= 0:
            os.close(sync_fd)


def _child(cfg_path: str, sync_fd: int, libc: object, conn: _socket.socket,
           close_in_child: tuple[object, ...]) -> None:
    """The forked monitor: shed the spawner's state, detach, run; never returns."""
    code = 1
    try:
        _signal.set_wakeup_fd(-1)
        _signal.signal(_signal.SIGCHLD, _signal.SIG_DFL)
        conn.close()
        for obj in close_in_child:
            if isinstance(obj, int):
                os.close(obj)
            else:
                obj.close()  # type: ignore[attr-defined]
        os.setsid()
        if libc.prctl(36, 1, 0, 0, 0) != 0:  # type: ignore[attr-defined]  # CHILD_SUBREAPER
            raise OSError("prctl(PR_SET_CHILD_SUBREAPER) failed")
        code = run_monitor(load_config(cfg_path), sync_fd,
                           idle=lambda: libc.malloc_trim(0))  # type: ignore[attr-defined]
    except BaseException as e:
        try:
            os.write(sync_fd, (P.dumps({"ok": False, "error": f"monitor failed: {e}"})
                               + "\n").encode())
        except OSError:
            pass
    finally:
        os._exit(code)
