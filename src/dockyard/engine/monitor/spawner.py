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
as a directly launched one would, reporting on that pipe. Once it has no monitor left
the spawner lingers ``DOCKYARD_SPAWNER_LINGER`` seconds (default 30; 0: leave at once),
so that sequential ``run --rm`` commands do not each pay for a new one, then exits,
holding the lock so no client races its exit; monitors do not depend on it and outlive
it if it is killed. ``{"exit": true}`` (``client.stop_spawner``) ends the lingering: the
spawner leaves as soon as it has no monitor. After each request it forks a *spare*
monitor for the next one, which prepares the built-in runtime's create (see
``prepared``); ``DOCKYARD_MONITOR_PREFORK=0`` turns that off. Requests carry
``protocol.code_version()``: a spawner running older code gives up its socket (the
client starts a new one) and stays only to reap the monitors it forked.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]
import _socket
import gc
import os
import select
import sys
import time

from dockyard.engine.monitor import protocol as P
from dockyard.engine.monitor.prepared import Prepared
from dockyard.engine.monitor.process import load_config, run_monitor

__all__ = ["serve"]

SOCKET = "spawner.sock"
LOCK = "spawner.lock"
PID = "spawner.pid"
LINGER_ENV = "DOCKYARD_SPAWNER_LINGER"
DEFAULT_LINGER = 30.0
_EXIT = -2  # _accept_one: a client asked us to stop lingering
MAX_LINGER = 86400.0
# DOCKYARD_MONITOR_PREFORK=0: no spare monitor, and no prepared runtime child.
_PREFORK = os.environ.get("DOCKYARD_MONITOR_PREFORK", "1") != "0"


def linger_seconds() -> float:
    """How long an idle spawner stays (``DOCKYARD_SPAWNER_LINGER``, default 30 s)."""
    try:
        value = float(os.environ.get(LINGER_ENV, DEFAULT_LINGER))
    except ValueError:
        return DEFAULT_LINGER
    return min(value, MAX_LINGER) if value >= 0 else 0.0  # NaN: not >= 0


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
    spare: _Spare | None = None  # a monitor forked ahead of the next request
    owner = True  # of spawner.sock and spawner.pid, until a newer spawner takes over
    version = P.code_version()
    linger = linger_seconds()
    idle_until: float | None = time.monotonic() + linger  # when childless: leave after
    gc.collect()
    gc.freeze()
    libc.malloc_trim(0)  # type: ignore[attr-defined]  # fewer resident pages to hand down
    ep = select.epoll()
    ep.register(listener.fileno(), select.EPOLLIN)
    ep.register(wake_r, select.EPOLLIN)
    spare_due: float | None = None  # when to fork the next spare
    while True:
        # Idle and childless for the linger period: leave, but only while no client is
        # mid-request (it holds the lock from connecting until its monitor is forked).
        if not children and not owner:
            _drop(spare)
            return 0
        timeout = -1.0
        if children:
            idle_until = None
        else:
            now = time.monotonic()
            if idle_until is None:
                idle_until = now + linger
            if now >= idle_until:
                try:
                    fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    pass
                else:
                    if not _pending(listener):
                        _unlink(SOCKET)
                        _unlink(PID)
                        _drop(spare)
                        return 0
                    fcntl.flock(lock_fd, fcntl.LOCK_UN)
                timeout = 0.05
            else:
                timeout = idle_until - now
        if spare_due is not None:
            wait = max(0.0, spare_due - time.monotonic())
            timeout = wait if timeout < 0 else min(timeout, wait)
        try:
            events = ep.poll(timeout)
        except InterruptedError:
            continue
        if spare_due is not None and time.monotonic() >= spare_due:
            spare_due = None
            if spare is None and owner:
                spare = _make_spare(libc, (listener, wake_r, wake_w, lock_fd, ep))
        for fd, _ in events:
            if fd == wake_r:
                try:
                    while os.read(wake_r, 512):
                        pass
                except BlockingIOError:
                    pass
                spare = _reap(children, spare)
            elif owner:
                own_fds = (listener, wake_r, wake_w, lock_fd, ep)
                pid, spare = _accept_one(listener, libc, version, own_fds, spare)
                if pid > 0:
                    children.add(pid)
                    if linger > 0 and _PREFORK:  # the next request finds a monitor ready
                        spare_due = time.monotonic() + _SPARE_DELAY
                elif pid == _EXIT:  # leave as soon as no monitor is left
                    linger = 0.0
                    idle_until = None
                    _drop(spare)
                    spare = None
                elif pid < 0:  # our code is stale: step aside, keep reaping our monitors
                    ep.unregister(listener.fileno())
                    listener.close()
                    owner = False
                    _drop(spare)
                    spare = None
        spare = _reap(children, spare)


# The next spare is forked this long after a request, not at once: on two cores its
# fork and its prepared child's imports competed with the container being started
# (run --rm measured ~3 ms slower); back-to-back commands still find it ready.
_SPARE_DELAY = 0.03


def _pending(listener: _socket.socket) -> bool:
    """Whether a connection waits in the backlog (accepting would block otherwise)."""
    ready, _, _ = select.select([listener.fileno()], [], [], 0)
    return bool(ready)


def _reap(children: set[int], spare: _Spare | None) -> _Spare | None:
    """Reap exited children; returns the spare, or None if it was among them."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            children.clear()
            return None
        if pid == 0:
            return spare
        children.discard(pid)
        if spare is not None and pid == spare.pid:
            spare.sock.close()
            spare = None


class _Spare:
    """A monitor forked ahead of time, waiting on ``sock`` for its request."""

    __slots__ = ("pid", "sock")

    def __init__(self, pid: int, sock: _socket.socket) -> None:
        self.pid, self.sock = pid, sock


def _make_spare(libc: object, close_in_child: tuple[object, ...]) -> _Spare | None:
    """Fork a monitor that prepares its runtime child now and waits for a request.

    Its fork and the runtime's imports then happen between requests, not in one."""
    try:
        ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
    except OSError:
        return None
    try:
        pid = os.fork()
    except OSError:
        ours.close()
        theirs.close()
        return None
    if pid == 0:
        ours.close()
        _spare_child(theirs, libc, close_in_child)
    theirs.close()
    return _Spare(pid, ours)


def _drop(spare: _Spare | None) -> None:
    """Send a spare away (it exits when its socket closes) and reap it."""
    if spare is not None:
        spare.sock.close()
        try:
            os.waitpid(spare.pid, 0)
        except ChildProcessError:
            pass


def _hand_to_spare(spare: _Spare, cfg_path: str, sync_fd: int) -> bool:
    """Give the request to the spare; False if it is gone."""
    msg = (P.dumps({"config": cfg_path}) + "\n").encode()
    try:
        spare.sock.sendmsg([msg], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS,
                                    sync_fd.to_bytes(4, sys.byteorder))])
    except OSError:
        return False
    spare.sock.close()
    return True


def _accept_one(listener: _socket.socket, libc: object, version: str,
                close_in_child: tuple[object, ...], spare: _Spare | None
                ) -> tuple[int, _Spare | None]:
    """Serve one request; return the monitor's pid, 0 if the request was bad, -1 if
    the client runs newer code (then the socket and pid file are already gone), or
    ``_EXIT`` if it asked us to stop lingering; and the spare still unused."""
    try:
        fd, _ = listener._accept()  # type: ignore[attr-defined]
    except OSError:
        return 0, spare
    conn = _socket.socket(fileno=fd)
    sync_fd = -1
    try:
        conn.settimeout(5.0)
        data, anc, _, _ = conn.recvmsg(65536, _socket.CMSG_SPACE(4), _socket.MSG_CMSG_CLOEXEC)
        for level, kind, payload in anc:
            if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS and len(payload) >= 4:
                sync_fd = int.from_bytes(payload[:4], sys.byteorder)
        req = P.loads(data.split(b"\n", 1)[0])
        if isinstance(req, dict) and req.get("exit") is True:
            conn.sendall((P.dumps({"ok": True}) + "\n").encode())
            return _EXIT, spare
        if not isinstance(req, dict) or not isinstance(req.get("config"), str) or sync_fd < 0:
            raise ValueError("expected {\"config\": path} with a sync fd")
        if req.get("version") != version:
            _unlink(SOCKET)
            _unlink(PID)
            conn.sendall((P.dumps({"ok": False, "stale": True}) + "\n").encode())
            return -1, spare
        cfg_path = str(req["config"])
        if spare is not None and _hand_to_spare(spare, cfg_path, sync_fd):
            pid, spare = spare.pid, None
        else:
            _drop(spare)
            spare = None
            pid = os.fork()
            if pid == 0:
                _child(cfg_path, sync_fd, libc, conn, close_in_child)
        conn.sendall((P.dumps({"ok": True, "pid": pid}) + "\n").encode())
        return pid, spare
    except (OSError, ValueError) as e:
        try:
            conn.sendall((P.dumps({"ok": False, "error": str(e)}) + "\n").encode())
        except OSError:
            pass
        return 0, spare
    finally:
        conn.close()
        if sync_fd >= 0:
            os.close(sync_fd)


def _child(cfg_path: str, sync_fd: int, libc: object, conn: _socket.socket,
           close_in_child: tuple[object, ...]) -> None:
    """The forked monitor: shed the spawner's state, detach, run; never returns."""
    code = 1
    try:
        conn.close()
        _detach(libc, close_in_child)
        code = run_monitor(load_config(cfg_path), sync_fd,
                           idle=lambda: libc.malloc_trim(0))  # type: ignore[attr-defined]
    except BaseException as e:
        _report(sync_fd, e)
    finally:
        os._exit(code)


def _spare_child(sock: _socket.socket, libc: object, close_in_child: tuple[object, ...]
                 ) -> None:
    """A spare monitor: detach, prepare the runtime's child, wait for the request (or
    for the spawner to let us go), then run like ``_child``; never returns."""
    code = 0
    sync_fd = -1
    prepared: Prepared | None = None
    try:
        _detach(libc, close_in_child)
        prepared = Prepared()
        data, anc, _, _ = sock.recvmsg(65536, _socket.CMSG_SPACE(4), _socket.MSG_CMSG_CLOEXEC)
        for level, kind, payload in anc:
            if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS and len(payload) >= 4:
                sync_fd = int.from_bytes(payload[:4], sys.byteorder)
        sock.close()
        req = P.loads(data.split(b"\n", 1)[0]) if data else None
        if sync_fd < 0 or not isinstance(req, dict) or not isinstance(req.get("config"), str):
            if prepared is not None:
                prepared.discard()
            os._exit(0)  # let go unused
        code = 1
        code = run_monitor(load_config(str(req["config"])), sync_fd,
                           idle=lambda: libc.malloc_trim(0),  # type: ignore[attr-defined]
                           prepared=prepared)
    except BaseException as e:
        if sync_fd >= 0:
            _report(sync_fd, e)
        code = 1
    finally:
        os._exit(code)


def _detach(libc: object, close_in_child: tuple[object, ...]) -> None:
    """In a forked monitor: drop the spawner's signal handling and descriptors, leave
    its session, become a child subreaper."""
    _signal.set_wakeup_fd(-1)
    _signal.signal(_signal.SIGCHLD, _signal.SIG_DFL)
    for obj in close_in_child:
        if isinstance(obj, int):
            os.close(obj)
        else:
            obj.close()  # type: ignore[attr-defined]
    os.setsid()
    if libc.prctl(36, 1, 0, 0, 0) != 0:  # type: ignore[attr-defined]  # CHILD_SUBREAPER
        raise OSError("prctl(PR_SET_CHILD_SUBREAPER) failed")


def _report(sync_fd: int, e: BaseException) -> None:
    try:
        os.write(sync_fd, (P.dumps({"ok": False, "error": f"monitor failed: {e}"})
                           + "\n").encode())
    except OSError:
        pass
