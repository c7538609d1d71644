"""The engine's side of the monitor: launch it, start, wait, resize, query.

Launch contract: the caller fills a ``MonitorConfig``; ``start_monitor`` writes it to
``$RUN/containers/<id>/monitor.json`` and hands the path and the write end of a pipe
to the spawner (``$RUN/monitor/``, started on demand; see ``spawner``), which forks
the monitor. Without a spawner (``DOCKYARD_MONITOR_SPAWNER=0``, or if it cannot be
started) it runs ``<python> -S -s -E boot.py monitor.json <fd>`` instead. Either way
the monitor detaches, runs ``<runtime...> create`` (and ``start`` if ``autostart``),
then writes one JSON line to the pipe: ``{"ok": true, "pid": N}`` or ``{"ok": false,
"error": "..."}``. Its own messages go to ``monitor.log`` in the run dir; its pid is
in ``monitor.pid`` while it runs.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import time
from contextlib import closing
from typing import NotRequired, TypedDict

from dockyard.errors import CommandNotFound, Conflict, DockyardError, ExecFailed, SystemFailure

from ..logs.options import LogConfig
from .protocol import code_version
from .records import error_exit_code, read_state, write_json_atomic

__all__ = [
    "MonitorConfig",
    "connect",
    "monitor_pid",
    "monitor_python",
    "request",
    "resize",
    "start_container",
    "start_monitor",
    "state",
    "stop_spawner",
    "wait_exit",
]

BOOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "boot.py")


class MonitorConfig(TypedDict):
    """The launch file (``monitor.json``) the engine hands the monitor."""

    id: str
    bundle: str  # OCI bundle dir holding config.json
    runtime: list[str]  # runc-compatible command and global options, e.g. runc --root DIR
    container_dir: str  # $ROOT/containers/<id>: state.json and logs
    run_dir: str  # $RUN/containers/<id>: socket, pid files, monitor.log
    tty: bool  # the spec has process.terminal: a pty comes over --console-socket
    stdin: bool  # -i: keep a pipe to the container's stdin
    stdin_once: bool  # close the container's stdin when the first attached client ends
    log: LogConfig
    autostart: bool  # start right after create (False: wait for start_container)
    cgroups_path: NotRequired[str]  # the spec's linux.cgroupsPath, for the OOM count
    dns: NotRequired[dict[str, object]]  # user networks: dockyard.network.dns.monitor_config
    restart: NotRequired[dict[str, object]]  # HostConfig.RestartPolicy
    health: NotRequired[dict[str, object]]  # see engine.health.monitor_health
    events: NotRequired[str]  # the event log to append container events to
    event_attrs: NotRequired[dict[str, str]]  # the events' Actor.Attributes (image, name...)
    stop_signal: NotRequired[int]  # for --health-on-failure=stop
    stop_timeout: NotRequired[int]
    # {"root", "run_root"}: tidy after the end (unmount, --rm) as the poststop hook would
    tidy: NotRequired[dict[str, str]]
    # False: state.json is written without fsync (a --rm container need not survive a
    # power loss; a rename still makes each write whole against kill -9)
    durable: NotRequired[bool]
    attach: NotRequired[dict[str, object]]  # attach.AttachPoint.spec: connect before create


def monitor_python() -> str:
    """The interpreter monitors run on (``DOCKYARD_MONITOR_PYTHON`` overrides)."""
    return os.environ.get("DOCKYARD_MONITOR_PYTHON") or sys.executable


def _raise_for(message: str, container_id: str) -> None:
    code = error_exit_code(message)
    cls: type[DockyardError] = {127: CommandNotFound, 126: ExecFailed}.get(code, SystemFailure)
    raise cls(f"container {container_id}: {message}")


def start_monitor(cfg: MonitorConfig, *, timeout: float = 30.0) -> int:
    """Launch the monitor of a container and return its init's pid once created.

    Raises CommandNotFound/ExecFailed when the runtime could not run the command,
    SystemFailure for any other failure; the monitor has then already cleaned up.
    """
    run_dir = cfg["run_dir"]
    os.makedirs(run_dir, exist_ok=True)
    os.makedirs(cfg["container_dir"], exist_ok=True)
    cfg_path = os.path.join(run_dir, "monitor.json")
    write_json_atomic(cfg_path, dict(cfg), durable=False)  # $RUN does not outlive a boot
    r, w = os.pipe2(os.O_CLOEXEC)
    try:
        spawner = None
        if os.environ.get("DOCKYARD_MONITOR_SPAWNER", "1") != "0":
            spawner = _spawner_dir(run_dir)
        if spawner is None or not _via_spawner(spawner, cfg_path, w, timeout):
            _launch_direct(run_dir, cfg_path, w)
        os.close(w)
        w = -1
        line = _read_line(r, timeout)
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)
    if not line:
        raise SystemFailure(f"monitor of {cfg['id']} exited before reporting: "
                            f"{_last_log_line(run_dir) or 'no message'}")
    try:
        reply = json.loads(line)
    except json.JSONDecodeError:
        raise SystemFailure(f"monitor of {cfg['id']}: bad report {line[:200]!r}") from None
    if not reply.get("ok"):
        _raise_for(str(reply.get("error", "unknown error")), cfg["id"])
    return int(reply["pid"])


def _env() -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")}
    for name in ("DOCKYARD_SPAWNER_LINGER", "DOCKYARD_MONITOR_PREFORK"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def _launch_direct(run_dir: str, cfg_path: str, sync_w: int) -> None:
    """A fresh interpreter for this one monitor (no spawner)."""
    with open(os.path.join(run_dir, "monitor.log"), "ab") as log:
        proc = subprocess.Popen(
            [monitor_python(), "-S", "-s", "-E", BOOT, cfg_path, str(sync_w)],
            pass_fds=(sync_w,), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            cwd=run_dir, env=_env(), start_new_session=True, close_fds=True)
    proc.wait()  # the launcher forks the real monitor and exits at once


def _spawner_dir(run_dir: str) -> str:
    """``$RUN/monitor``, from ``$RUN/containers/<id>``."""
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(run_dir))), "monitor")


def _connect_in(directory: str | os.PathLike[str], name: str,
                timeout: float | None) -> socket.socket | None:
    """Connect to the unix socket ``name`` in ``directory``; None if nobody listens.
    Through /proc/self/fd: sun_path holds 108 bytes, run dirs may be longer."""
    dfd = os.open(directory, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(f"/proc/self/fd/{dfd}/{name}")
    except (FileNotFoundError, ConnectionRefusedError):
        sock.close()
        return None
    except BaseException:
        sock.close()
        raise
    finally:
        os.close(dfd)
    return sock


def _connect_spawner(directory: str) -> socket.socket | None:
    return _connect_in(directory, "spawner.sock", 10.0)


def _start_spawner(directory: str, timeout: float) -> None:
    r, w = os.pipe2(os.O_CLOEXEC)
    try:
        with open(os.path.join(directory, "spawner.log"), "ab") as log:
            proc = subprocess.Popen(
                [monitor_python(), "-S", "-s", "-E", BOOT, "--spawner", directory, str(w)],
                pass_fds=(w,), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                cwd=directory, env=_env(), start_new_session=True, close_fds=True)
        os.close(w)
        w = -1
        proc.wait()
        if _read_line(r, timeout) != "ok":
            raise SystemFailure(f"monitor spawner in {directory} did not start")
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


def _via_spawner(directory: str, cfg_path: str, sync_w: int, timeout: float) -> bool:
    """Have the spawner fork the monitor; False if no spawner could be had."""
    import array
    import fcntl

    try:
        os.makedirs(directory, exist_ok=True)
        lock = os.open(os.path.join(directory, "spawner.lock"),
                       os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        return False
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the spawner cannot exit while we hold this
        request = json.dumps({"config": cfg_path, "version": code_version()}).encode() + b"\n"
        for _ in range(2):  # a second time after a stale spawner stepped aside
            sock = _connect_spawner(directory)
            if sock is None:
                try:
                    _start_spawner(directory, timeout)
                except (OSError, SystemFailure):
                    return False
                sock = _connect_spawner(directory)
                if sock is None:
                    return False
            with closing(sock):
                sock.sendmsg([request], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                          array.array("i", [sync_w]))])
                data = b""
                while b"\n" not in data:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            reply = json.loads(data.split(b"\n", 1)[0] or b"{}")
            if reply.get("ok"):
                return True
            if not reply.get("stale"):
                raise SystemFailure(f"monitor spawner: {reply.get('error', 'no reply')}")
        return False
    finally:
        os.close(lock)  # closing drops the lock


def stop_spawner(run_root: str | os.PathLike[str], timeout: float = 5.0) -> bool:
    """Ask the monitor spawner of ``run_root`` to stop lingering; wait until it has left.

    A spawner with live monitors leaves once the last one has (this does not wait for
    that). Returns whether no spawner of ``run_root`` is running on return.
    """
    directory = os.path.join(os.fspath(run_root), "monitor")
    try:
        with open(os.path.join(directory, "spawner.pid")) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return True
    try:
        sock = _connect_in(directory, "spawner.sock", timeout)
    except OSError:
        sock = None
    if sock is not None:
        with closing(sock):
            try:
                sock.sendall(b'{"exit": true}\n')
                sock.recv(4096)
            except OSError:
                pass
    deadline = time.monotonic() + timeout
    while _is_spawner(pid, directory):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _is_spawner(pid: int, directory: str) -> bool:
    """Whether ``pid`` is a live (not zombie) spawner serving ``directory``."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().split(b"\0")
        with open(f"/proc/{pid}/stat", "rb") as f:
            if f.read().rsplit(b") ", 1)[1][:1] == b"Z":
                return False
    except (OSError, IndexError):
        return False
    return b"--spawner" in args and os.fsencode(directory) in args


def _read_line(fd: int, timeout: float) -> str:
    data = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            raise SystemFailure(f"monitor did not report within {timeout:g}s")
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        data += chunk
    return data.split(b"\n", 1)[0].decode("utf-8", "replace")


def _last_log_line(run_dir: str) -> str:
    try:
        with open(os.path.join(run_dir, "monitor.log"), "rb") as f:
            lines = f.read().decode("utf-8", "replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1] if lines else ""


def monitor_pid(run_dir: str | os.PathLike[str]) -> int | None:
    """The pid of the live monitor of this run dir, or None if there is none."""
    try:
        with open(os.path.join(run_dir, "monitor.pid")) as f:
            pid = int(f.read().strip())
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if b"boot.py" not in f.read():
                return None  # the pid was reused by something else
    except (OSError, ValueError):
        return None
    return pid


def connect(run_dir: str | os.PathLike[str], timeout: float | None = 10.0) -> socket.socket:
    """A connection to the monitor's socket; NotFound-like Conflict if it is gone."""
    try:
        sock = _connect_in(run_dir, "monitor.sock", timeout)
    except FileNotFoundError:
        sock = None
    if sock is None:
        raise Conflict(f"container is not running: no monitor in {os.fspath(run_dir)}")
    return sock


def request(run_dir: str | os.PathLike[str], req: dict[str, object],
            timeout: float | None = 30.0) -> dict[str, object]:
    """Send one request and return the one-line reply."""
    gone = Conflict(f"container is not running: monitor in {os.fspath(run_dir)} closed")
    with closing(connect(run_dir, timeout)) as sock:
        data = b""
        try:
            sock.sendall(json.dumps(req).encode() + b"\n")
            while b"\n" not in data:
                chunk = sock.recv(65536)
                if not chunk:
                    raise gone
                data += chunk
        except ConnectionError:
            raise gone from None
    reply = json.loads(data.split(b"\n", 1)[0])
    assert isinstance(reply, dict)
    return reply


def start_container(run_dir: str | os.PathLike[str], container_id: str) -> int:
    """Start a container created with ``autostart=False``; return its init pid."""
    reply = request(run_dir, {"op": "start"})
    if reply.get("conflict"):
        raise Conflict(str(reply.get("error")))
    if not reply.get("ok"):
        _raise_for(str(reply.get("error")), container_id)
    return _int(reply["pid"])


def state(run_dir: str | os.PathLike[str]) -> dict[str, object]:
    """The State record as the live monitor holds it."""
    return request(run_dir, {"op": "state"})


def resize(run_dir: str | os.PathLike[str], height: int, width: int) -> None:
    """Set the container's terminal size (TIOCSWINSZ on the pty master)."""
    reply = request(run_dir, {"op": "resize", "height": height, "width": width})
    if not reply.get("ok"):
        raise Conflict(str(reply.get("error")))


def _int(value: object) -> int:
    if isinstance(value, int | str):
        return int(value)
    raise SystemFailure(f"monitor sent a bad number: {value!r}")


def wait_exit(run_dir: str | os.PathLike[str], container_dir: str | os.PathLike[str],
              timeout: float | None = None) -> int:
    """Block until the container ends; return its exit code (Docker's StatusCode)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        with closing(connect(run_dir, timeout)) as sock:
            sock.settimeout(timeout)
            sock.sendall(b'{"op": "wait"}\n')
            data = b""
            try:
                while b"\n" not in data:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except TimeoutError:
                raise SystemFailure(f"container did not exit within {timeout:g}s") from None
            if b"\n" in data:
                return int(json.loads(data.split(b"\n", 1)[0])["StatusCode"])
    except (Conflict, ConnectionError):
        pass
    # No monitor (or it closed on us while finishing): the record has the answer.
    while True:
        st = read_state(container_dir) or {}
        alive = monitor_pid(run_dir) is not None
        if st.get("Status") == "exited" and not alive:  # the monitor has finished cleaning up
            return _int(st.get("ExitCode", 0))
        if not alive:
            raise SystemFailure(f"monitor of {os.fspath(container_dir)} is gone "
                                "and recorded no exit")
        if deadline is not None and time.monotonic() > deadline:
            raise SystemFailure(f"container did not exit within {timeout:g}s")
        time.sleep(0.02)
