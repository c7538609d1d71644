"""The monitor process: one per running container (started by ``client.start_monitor``).

It detaches (fork, setsid), becomes a child subreaper so the container's init is
reparented to it when the runtime's ``create`` exits, holds the container's stdio
(pipes, or the pty master received over ``--console-socket``), writes the logs,
serves ``monitor.sock`` and records the container's State into
``$ROOT/containers/<id>/state.json`` at each change. When init ends it records the
exit code, OOM kill and FinishedAt, runs the runtime's ``delete``, answers waiters
and exits.

Memory matters (one per container): only the standard library's light C modules
are imported (``_socket``, ``select``, ``_signal``, ``_json``), one epoll loop, no threads.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # the C module: signal imports enum
import _socket
import os
import select
import sys
import time

from dockyard.engine.logs.timefmt import ZERO_TIME, format_nano
from dockyard.engine.logs.writer import LineSplitter, LogWriter, open_writer
from dockyard.engine.monitor import protocol as P
from dockyard.engine.monitor.records import error_exit_code, oom_kill_count, write_json_atomic
from dockyard.engine.monitor.supervise import RESTARTING, Supervision
from dockyard.engine.monitor.verbs import is_builtin, run_verb, runtime_error, status_code

TYPE_CHECKING = False  # not typing's: importing typing would cost memory
if TYPE_CHECKING:
    from collections.abc import Callable

    from dockyard.engine.monitor.prepared import Prepared

__all__ = ["main", "run_monitor"]

SOCKET = "monitor.sock"
CONSOLE = "console.sock"
DRAIN_SECONDS = 2.0  # how long to keep reading output once init has exited
MAX_CLIENT_BACKLOG = 8 << 20
MAX_STDIN_BACKLOG = 1 << 20


class _Client:
    __slots__ = ("attached", "fd", "frames", "inbuf", "out", "sock", "streams", "waiting")

    def __init__(self, sock: _socket.socket) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.inbuf = b""
        self.out = bytearray()
        self.attached = False
        self.waiting = False
        self.streams: tuple[bool, bool] = (False, False)
        self.frames: P.FrameReader | None = None


class Monitor(Supervision):
    """State and event loop of one monitor (restarts and health: ``Supervision``)."""

    def __init__(self, cfg: dict[str, object], sync_fd: int) -> None:
        self.cfg = cfg
        self.id = str(cfg["id"])
        self.runtime = [str(a) for a in cfg["runtime"]]  # type: ignore[attr-defined]
        self.run_dir = str(cfg["run_dir"])
        self.container_dir = str(cfg["container_dir"])
        self.tty = bool(cfg.get("tty"))
        self.stdin_once = bool(cfg.get("stdin_once"))
        self.durable = cfg.get("durable", True) is not False
        self.sync_fd = sync_fd
        self.state: dict[str, object] = {
            "Status": "created", "Running": False, "Paused": False, "Restarting": False,
            "OOMKilled": False, "Dead": False, "Pid": 0, "ExitCode": 0, "Error": "",
            "StartedAt": ZERO_TIME, "FinishedAt": ZERO_TIME,
        }
        self.pid = 0
        self.prepared: Prepared | None = None  # a child ready for create (spare monitors)
        self.started_by_create = False
        self.exit_status: int | None = None
        self.stdin_fd = -1
        self.outputs: dict[int, str] = {}  # fd -> stream name
        self.splitters = {"stdout": LineSplitter(), "stderr": LineSplitter()}
        self.clients: dict[int, _Client] = {}
        self.stdin_pending = b""
        log_cfg = cfg.get("log") or {}
        assert isinstance(log_cfg, dict)
        self.log: LogWriter | None = open_writer(self.container_dir, self.id, log_cfg)
        self.ep = select.epoll()
        self.log_failed = False
        self._init_supervision(cfg)
        self.state["RestartCount"] = 0

    # -- records -----------------------------------------------------------------
    def record(self, **changes: object) -> None:
        self.state.update(changes)
        write_json_atomic(os.path.join(self.container_dir, "state.json"), self.state,
                          durable=self.durable)

    def report(self, msg: dict[str, object]) -> None:
        """Tell the process that started us how creation went (once)."""
        if self.sync_fd >= 0:
            try:
                os.write(self.sync_fd, (P.dumps(msg) + "\n").encode())
            except OSError:
                pass
            os.close(self.sync_fd)
            self.sync_fd = -1

    # -- runtime -----------------------------------------------------------------
    def create(self, start: bool = False) -> str | None:
        """Run the runtime's create; on failure return its error message.

        ``start`` with the built-in runtime: its start runs in the same child right
        after (``start()`` then only records it)."""
        null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        child_fds = [null, err_w]
        argv = [*self.runtime, "create", "--bundle", str(self.cfg["bundle"]),
                "--pid-file", os.path.join(self.run_dir, "init.pid")]
        console: _socket.socket | None = None
        then = [*self.runtime, "start", self.id] if start and is_builtin(self.runtime) else None
        if self.tty:
            console = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
            console.bind(CONSOLE)  # relative to run_dir: long tmp paths overflow sun_path
            console.listen(1)
            # runc resolves relative paths from the bundle; our cwd via /proc stays short.
            argv += ["--console-socket", f"/proc/{os.getpid()}/cwd/{CONSOLE}"]
            pid = self._run_create([*argv, self.id], null, null, err_w, then)
        else:
            if self.cfg.get("stdin"):
                in_r, self.stdin_fd = os.pipe2(os.O_CLOEXEC)
                child_fds.append(in_r)
            else:
                in_r = null
            out_r, out_w = os.pipe2(os.O_CLOEXEC)
            child_fds.append(out_w)
            self.outputs = {out_r: "stdout", err_r: "stderr"}
            pid = self._run_create([*argv, self.id], in_r, out_w, err_w, then)
        for fd in child_fds:
            os.close(fd)
        _, status = os.waitpid(pid, 0)
        if console is not None:
            master = self._receive_console(console) if status == 0 else -1
            console.close()
            _unlink(CONSOLE)
            if master >= 0:
                self.stdin_fd = master
                self.outputs = {master: "stdout"}
        if status != 0 or (self.tty and not self.outputs):
            os.set_blocking(err_r, False)
            try:
                text = os.read(err_r, 65536).decode("utf-8", "replace")
            except BlockingIOError:
                text = ""
            os.close(err_r)
            if status == 0:
                return "runtime created the container but sent no terminal on the console socket"
            return runtime_error(text) or f"runtime create exited with status {status}"
        if self.tty:
            os.close(err_r)
        with open(os.path.join(self.run_dir, "init.pid")) as f:
            self.pid = int(f.read().strip())
        self.started_by_create = then is not None
        return None

    def _run_create(self, argv: list[str], stdin: int, stdout: int, stderr: int,
                    then: list[str] | None) -> int:
        """The create verb's child: the prepared one if there is one (built-in runtime)."""
        prepared, self.prepared = self.prepared, None
        if prepared is not None:
            if is_builtin(argv):
                try:
                    return prepared.run(argv[3:], then[3:] if then else None,
                                        stdin, stdout, stderr)
                except OSError as e:
                    sys.stderr.write(f"monitor: prepared runtime child: {e}\n")
            else:
                prepared.discard()
        return run_verb(argv, stdin, stdout, stderr, then)

    def _receive_console(self, console: _socket.socket) -> int:
        console.settimeout(5.0)
        try:
            conn = _socket.socket(fileno=console._accept()[0])  # type: ignore[attr-defined]
        except OSError:
            return -1
        try:
            conn.settimeout(5.0)
            _, anc, _, _ = conn.recvmsg(4096, _socket.CMSG_SPACE(4))
        finally:
            conn.close()
        for level, kind, data in anc:
            if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
                fd = int.from_bytes(data[:4], sys.byteorder)
                os.set_inheritable(fd, False)
                return fd
        return -1

    def start(self) -> str | None:
        """Run the runtime's start; on failure return its error message."""
        if self.state["Status"] != "created":
            return f"container {self.id} is already {self.state['Status']}"
        if self.started_by_create:  # create's child has run the start too
            self.started_by_create = False
        else:
            null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
            err_r, err_w = os.pipe2(os.O_CLOEXEC)
            pid = run_verb([*self.runtime, "start", self.id], null, null, err_w)
            os.close(null)
            os.close(err_w)
            _, status = os.waitpid(pid, 0)
            text = os.read(err_r, 65536).decode("utf-8", "replace") if status else ""
            os.close(err_r)
            if status != 0:
                return runtime_error(text) or f"runtime start exited with status {status}"
        now = time.time_ns()
        self._started(now)
        self.record(Status="running", Running=True, Restarting=False, Pid=self.pid,
                    StartedAt=format_nano(now), FinishedAt=ZERO_TIME, ExitCode=0,
                    OOMKilled=False, Error="")
        self.emit("start")
        return None

    def delete(self, last: bool = False) -> None:
        """Run the runtime's ``delete --force``. ``last`` (the monitor exits next): the
        built-in runtime's runs in this process, saving a fork; its imports no
        longer matter to our memory."""
        if last and is_builtin(self.runtime):
            try:
                from dockyard.runtime.cli.main import main as runtime_main

                runtime_main([*self.runtime[3:], "delete", "--force", self.id])
            except SystemExit:
                pass
            except Exception as e:
                sys.stderr.write(f"monitor: runtime delete: {type(e).__name__}: {e}\n")
            return
        null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        try:
            pid = run_verb([*self.runtime, "delete", "--force", self.id], null, null, 2)
            os.waitpid(pid, 0)
        except OSError as e:
            sys.stderr.write(f"monitor: runtime delete: {e}\n")
        finally:
            os.close(null)

    def dial_attach(self) -> None:
        """``run``/``start -a``: connect to the command's ``AttachPoint`` before the
        container exists, as its first attached client (docker's client attaches before
        it starts), so all the output reaches it, whatever the log driver keeps."""
        spec = self.cfg.get("attach")
        if not isinstance(spec, dict):
            return
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            sock.connect("\0" + str(spec.get("socket")))
        except OSError as e:  # the command is gone already: nobody to attach
            sys.stderr.write(f"monitor: attach: {e}\n")
            sock.close()
            return
        client = _Client(sock)
        self.clients[client.fd] = client
        self.ep.register(client.fd, select.EPOLLIN)
        self._request(client, {"op": "attach", "stdout": spec.get("stdout", True),
                               "stderr": spec.get("stderr", True)}, b"")

    # -- event loop ----------------------------------------------------------------
    def listen(self) -> _socket.socket:
        """Bind ``monitor.sock`` (before reporting, so clients find it at once)."""
        listener = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        _unlink(SOCKET)
        listener.bind(SOCKET)
        listener.listen(16)
        listener.setblocking(False)
        return listener

    def serve(self, listener: _socket.socket) -> None:
        wake_r, wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        _signal.set_wakeup_fd(wake_w)
        _signal.signal(_signal.SIGCHLD, lambda *_: None)
        self.ep.register(wake_r, select.EPOLLIN)
        self.ep.register(listener.fileno(), select.EPOLLIN)
        for fd in self.outputs:
            os.set_blocking(fd, False)
            self.ep.register(fd, select.EPOLLIN)
        if self.stdin_fd >= 0 and self.stdin_fd not in self.outputs:
            os.set_blocking(self.stdin_fd, False)
        deadline: float | None = None
        self._reap()
        while True:
            if self.finish_now:
                break
            if self.exit_status is not None:
                if deadline is None:
                    deadline = time.monotonic() + DRAIN_SECONDS
                if not self.outputs or time.monotonic() >= deadline:
                    if not self._exited():
                        break
                    deadline = None
            if self.restart_at is not None and time.monotonic() >= self.restart_at \
                    and not self._restart():
                break
            self._timers()
            timeout = 0.05 if (self.stdin_pending or deadline is not None) else -1
            timeout = self._timer_timeout(timeout)
            try:
                events = self.ep.poll(timeout)
            except InterruptedError:
                continue
            for fd, ev in events:
                if fd == wake_r:
                    try:
                        while os.read(wake_r, 512):
                            pass
                    except BlockingIOError:
                        pass
                    self._reap()
                elif fd == listener.fileno():
                    self._accept(listener)
                elif fd in self.outputs:
                    self._read_output(fd)
                elif self.probe is not None and fd == self.probe.fd:
                    if not self.probe.read():
                        self.ep.unregister(fd)
                        self.probe.close()
                elif fd in self.clients:
                    client = self.clients[fd]
                    try:
                        self._client_event(client, ev)
                    except Exception as e:  # one bad client must not take the container down
                        sys.stderr.write(f"monitor: client: {type(e).__name__}: {e}\n")
                        self._drop(client)
            if self.stdin_pending:
                self._write_stdin(b"")
        self._finish(listener)

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.pid and self.exit_status is None:
                self.exit_status = status_code(status)
            elif self.probe is not None and pid == self.probe.pid:
                self.probe.status = status
                self._probe_done()

    def _accept(self, listener: _socket.socket) -> None:
        while True:
            try:
                fd, _ = listener._accept()  # type: ignore[attr-defined]
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:  # EMFILE and the like: refuse this client, keep running
                sys.stderr.write(f"monitor: accept: {e}\n")
                return
            sock = _socket.socket(fileno=fd)
            sock.setblocking(False)
            client = _Client(sock)
            self.clients[client.fd] = client
            self.ep.register(client.fd, select.EPOLLIN)

    def _read_output(self, fd: int) -> None:
        stream = self.outputs[fd]
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:  # EIO: the pty's other side is closed
            data = b""
        if not data:
            self.ep.unregister(fd)
            del self.outputs[fd]
            if fd != self.stdin_fd:
                os.close(fd)
            self._log(stream, self.splitters[stream].flush())
            return
        self._log(stream, self.splitters[stream].feed(data))
        frame = P.encode_frame(P.STDOUT if stream == "stdout" else P.STDERR, data)
        for c in list(self.clients.values()):
            if c.attached and c.streams[0 if stream == "stdout" else 1]:
                self._send(c, frame)

    def _log(self, stream: str, messages: list[bytes]) -> None:
        if self.log is not None and messages:
            now = time.time_ns()
            try:
                for m in messages:
                    self.log.write(stream, m, now)
            except OSError as e:  # e.g. a full disk: keep the container, drop its logs
                if not self.log_failed:
                    sys.stderr.write(f"monitor: writing logs: {e}\n")
                self.log_failed = True

    def _send(self, c: _Client, data: bytes) -> None:
        if not c.out:
            try:
                n = c.sock.send(data)
            except BlockingIOError:
                n = 0
            except OSError:
                self._drop(c)
                return
            data = data[n:]
            if not data:
                return
            self.ep.modify(c.fd, select.EPOLLIN | select.EPOLLOUT)
        c.out += data
        if len(c.out) > MAX_CLIENT_BACKLOG:
            self._drop(c)  # a client that does not read must not grow us without bound

    def _drop(self, c: _Client) -> None:
        if self.clients.pop(c.fd, None) is not None:
            self.ep.unregister(c.fd)
            c.sock.close()

    def _client_event(self, c: _Client, ev: int) -> None:
        if ev & select.EPOLLOUT and c.out:
            try:
                n = c.sock.send(c.out)
                del c.out[:n]
            except BlockingIOError:
                pass
            except OSError:
                self._drop(c)
                return
            if not c.out:
                self.ep.modify(c.fd, select.EPOLLIN)
        if not ev & (select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR):
            return
        try:
            data = c.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            if c.attached and self.stdin_once:
                self._close_stdin()
            self._drop(c)
            return
        if c.frames is not None:
            self._attached_input(c, data)
            return
        c.inbuf += data
        if b"\n" not in c.inbuf:
            if len(c.inbuf) > 65536:
                self._drop(c)
            return
        line, _, rest = c.inbuf.partition(b"\n")
        try:
            req = P.loads(line)
            if not isinstance(req, dict):
                raise ValueError("request is not an object")
        except ValueError as e:
            self._send(c, (P.dumps({"ok": False, "error": f"bad request: {e}"}) + "\n").encode())
            return
        self._request(c, req, rest)

    def _request(self, c: _Client, req: dict[str, object], rest: bytes) -> None:
        op = req.get("op")
        reply: dict[str, object]
        if op == "start" and self.state["Status"] != "created":
            reply = {"ok": False, "conflict": True,
                     "error": f"container {self.id} is already {self.state['Status']}"}
        elif op == "start":
            err = self.start()
            reply = {"ok": True, "pid": self.pid} if err is None else {"ok": False, "error": err}
        elif op == "state":
            reply = dict(self.state)
        elif op == "wait":
            c.waiting = True
            return
        elif op == "stopping":
            self.stopping()
            reply = {"ok": True}
        elif op == "policy":  # ``update --restart`` on a running container
            self.set_policy(req.get("restart"))
            reply = {"ok": True}
        elif op == "resize":
            reply = self._resize(req.get("height"), req.get("width"))
        elif op == "attach":
            c.attached = True
            c.streams = (bool(req.get("stdout", True)), bool(req.get("stderr", True)))
            c.frames = P.FrameReader()
            self._send(c, (P.dumps({"ok": True, "tty": self.tty}) + "\n").encode())
            if rest:
                self._attached_input(c, rest)
            return
        else:
            reply = {"ok": False, "error": f"unknown op: {op!r}"}
        self._send(c, (P.dumps(reply) + "\n").encode())

    def _attached_input(self, c: _Client, data: bytes) -> None:
        assert c.frames is not None
        try:
            frames = c.frames.feed(data)
        except ValueError:
            self._drop(c)
            return
        for kind, payload in frames:
            if kind == P.STDIN:
                self._write_stdin(payload)
            elif kind == P.STDIN_CLOSE and self.stdin_once:
                self._close_stdin()
            elif kind == P.RESIZE:
                rows, _, cols = payload.decode().partition(" ")
                self._resize(rows, cols)

    def _write_stdin(self, data: bytes) -> None:
        if self.stdin_fd < 0:
            return
        if len(self.stdin_pending) + len(data) > MAX_STDIN_BACKLOG:
            # The container is not reading: keep our memory bounded, like a full pipe.
            sys.stderr.write(f"monitor: stdin backlog full, dropped {len(data)} bytes\n")
            data = b""
        self.stdin_pending += data
        try:
            n = os.write(self.stdin_fd, self.stdin_pending)
            self.stdin_pending = self.stdin_pending[n:]
        except BlockingIOError:
            pass
        except OSError:
            self.stdin_pending = b""

    def _close_stdin(self) -> None:
        if self.stdin_fd >= 0 and not self.tty:
            self._write_stdin(b"")
            os.close(self.stdin_fd)
            self.stdin_fd = -1
            self.stdin_pending = b""

    def _resize(self, rows: object, cols: object) -> dict[str, object]:
        try:
            h, w = int(str(rows)), int(str(cols))
            if not (0 < h < 65536 and 0 < w < 65536):
                raise ValueError
        except ValueError:
            return {"ok": False, "error": f"invalid size: {rows}x{cols}"}
        if not self.tty or self.stdin_fd < 0:
            return {"ok": False, "error": f"container {self.id} has no tty"}
        import fcntl
        import termios

        fcntl.ioctl(self.stdin_fd, termios.TIOCSWINSZ,
                    h.to_bytes(2, sys.byteorder) + w.to_bytes(2, sys.byteorder) + bytes(4))
        return {"ok": True}

    def _finish(self, listener: _socket.socket) -> None:
        self._stop_probe()
        code = self.exit_status if self.exit_status is not None else 255
        if self.finish_now and self.exit_status is None:  # stopped while restarting
            code = int(str(self.state.get("ExitCode", 0)))
        for stream, splitter in self.splitters.items():
            self._log(stream, splitter.flush())
        if self.log is not None:
            self.log.close()
        try:
            if self.exit_status is not None:
                oom = oom_kill_count(self.cfg) > 0
                if oom:
                    self.emit("oom")
                self.emit("die", exitCode=str(code))
            else:
                oom = bool(self.state.get("OOMKilled"))
            self.record(Status="exited", Running=False, Restarting=False, Pid=0,
                        ExitCode=code, OOMKilled=oom, FinishedAt=format_nano(time.time_ns()))
        except Exception as e:  # still delete the container and answer waiters
            sys.stderr.write(f"monitor: recording the exit: {type(e).__name__}: {e}\n")
        self.delete(last=True)
        _unlink(RESTARTING)
        listener.close()
        _unlink(SOCKET)
        _unlink(os.path.join(self.run_dir, "monitor.pid"))
        _unlink(os.path.join(self.run_dir, "init.pid"))
        self.release_clients(code, every=True)

    def release_clients(self, code: int, every: bool = False) -> None:
        """Answer waiters and end attached streams with the exit code (at a restart too,
        as docker's waiters and attach streams end at each exit); close them, and with
        ``every`` all other clients."""
        done = (P.dumps({"StatusCode": code, "Error": None}) + "\n").encode()
        exit_frame = P.encode_frame(P.EXIT, str(code).encode())
        leaving = []
        for c in list(self.clients.values()):
            if c.waiting:
                self._send(c, done)
            elif c.attached:
                self._send(c, exit_frame)
            elif not every:
                continue
            leaving.append(c)
        end = time.monotonic() + 2.0
        for c in leaving:
            if self.clients.pop(c.fd, None) is not None and not every:
                self.ep.unregister(c.fd)
            c.sock.setblocking(True)
            c.sock.settimeout(max(0.01, end - time.monotonic()))
            try:
                c.sock.sendall(bytes(c.out))
            except OSError:
                pass
            c.sock.close()


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def load_config(path: str) -> dict[str, object]:
    with open(path, "rb") as f:
        cfg = P.loads(f.read())
    if not isinstance(cfg, dict):
        raise ValueError(f"{path}: not a json object")
    return cfg


def main(argv: list[str]) -> int:
    """``<launch.json> <sync fd>`` (boot.py has detached us): create, maybe start, serve."""
    cfg_path, sync_fd = argv[0], int(argv[1])
    try:
        cfg = load_config(cfg_path)
    except (OSError, ValueError) as e:
        _report_failure(sync_fd, e)
        return 1
    return run_monitor(cfg, sync_fd)


def _start_dns(dns: object) -> None:
    """User networks: the embedded DNS (threads bound in the container's namespace)."""
    if not isinstance(dns, dict):
        return
    try:
        from dockyard.network.dns import start_from_config

        start_from_config(dns, P.loads)
    except Exception as e:  # the container still runs; its names just do not resolve
        sys.stderr.write(f"monitor: embedded dns: {e}\n")


def _tidy(where: object, container_id: str) -> None:
    """The built-in runtime's containers: what their poststop hook would start (see
    ``dockyard.engine.tidy``), done here once everything else of ours is finished."""
    if not isinstance(where, dict):
        return
    try:
        from dockyard.engine.tidy import after_monitor

        after_monitor(str(where["root"]), str(where["run_root"]), container_id)
    except Exception as e:
        sys.stderr.write(f"monitor: tidy: {type(e).__name__}: {e}\n")


def _report_failure(sync_fd: int, e: BaseException) -> None:
    try:
        os.write(sync_fd, (P.dumps({"ok": False, "error": f"monitor failed: {e}"}) + "\n").encode())
    except OSError:
        pass


def run_monitor(cfg: dict[str, object], sync_fd: int,
                idle: Callable[[], object] | None = None,
                prepared: Prepared | None = None) -> int:
    """Everything after detaching: own stdio and signals, create, report, serve.
    ``prepared``: a child ready to run the built-in runtime's create (see ``prepared``)."""
    os.set_inheritable(sync_fd, False)  # the runtime must not hold our report pipe
    run_dir = str(cfg["run_dir"])
    os.chdir(run_dir)
    log_fd = os.open("monitor.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(null)
    os.close(log_fd)
    for sig in (_signal.SIGHUP, _signal.SIGINT, _signal.SIGTERM, _signal.SIGPIPE):
        _signal.signal(sig, _signal.SIG_IGN)
    mon: Monitor | None = None
    try:
        with open("monitor.pid.tmp", "w") as f:
            f.write(str(os.getpid()))
        os.rename("monitor.pid.tmp", "monitor.pid")
        mon = Monitor(cfg, sync_fd)
        mon.prepared, prepared = prepared, None
        _start_dns(cfg.get("dns"))
        mon.dial_attach()
        err = mon.create(start=bool(cfg.get("autostart")))
        if err is None and cfg.get("autostart"):
            err = mon.start()
        if err is not None:
            mon.record(Status="exited" if cfg.get("autostart") else "created", Error=err,
                       ExitCode=error_exit_code(err), Pid=0)
            mon.delete()
            _unlink("monitor.pid")
            mon.report({"ok": False, "error": err})
            return 1
        if not cfg.get("autostart"):
            mon.record(Pid=mon.pid)
        listener = mon.listen()
        mon.report({"ok": True, "pid": mon.pid})
        if idle is not None:
            idle()  # give back what creating the container needed, before settling down
        mon.serve(listener)
        _tidy(cfg.get("tidy"), mon.id)
        return 0
    except BaseException as e:
        sys.stderr.write(f"monitor: {type(e).__name__}: {e}\n")
        for unused in (prepared, mon.prepared if mon is not None else None):
            if unused is not None:
                unused.discard()
        if mon is not None:
            mon.report({"ok": False, "error": f"monitor failed: {e}"})
        else:
            _report_failure(sync_fd, e)
        raise
