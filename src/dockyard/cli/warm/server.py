"""The warm engine: one process per run root that has imported the CLI and the engine
once, and forks a worker per ``dockyard`` command (see ``client.py``).

``python -P -m dockyard.cli.warm.server RUN_ROOT [LOCK_FD]`` — the client starts it, in
its own session, holding ``$RUN/warm/engine.lock`` for its whole life (so there is
never a second one). It listens on ``$RUN/warm/engine.sock`` and, per request:

- checks the caller: the same uid, namespaces, root directory, capabilities,
  no-new-privileges and seccomp state as its own (read from ``/proc/<pid>``, not taken
  from the client), and the same interpreter and ``dockyard`` package; and that none of
  its imported sources changed since it loaded them. Otherwise it answers ``R`` and the
  client runs the command itself; on changed code it also stops, so the next command
  starts a fresh engine;
- forks a worker that takes the client's stdio, working directory, umask, environment
  and argv, runs ``cli.main`` and exits with its code (``worker.py``);
- reports the worker's pid and then its wait status (a worker that ends normally
  reports its exit code itself, just before it exits); kills it (SIGKILL) if the
  client goes away first, as killing a command kills its process.

It exits after ``DOCKYARD_WARM_IDLE`` seconds (default 300) without a command, or on
SIGTERM once its running workers have ended.
"""

from __future__ import annotations

import fcntl
import gc
import importlib
import os
import pkgutil
import select
import signal
import socket
import struct
import sys
import time

from dockyard.cli.warm import wire
from dockyard.cli.warm.sources import SourceWatch

__all__ = ["serve", "stop"]

# Packages imported before serving: everything a command may need but the API server,
# the registry server and the heavy libraries (those stay lazy, as in a cold command).
_WARM_PACKAGES = ("dockyard.cli", "dockyard.engine", "dockyard.images", "dockyard.network",
                  "dockyard.volumes", "dockyard.build", "dockyard.oci", "dockyard.runtime")
_SKIP = ("__main__", "dockyard.engine.monitor.boot", "dockyard.cli.warm.server")
_STATUS_KEYS = (b"CapInh:", b"CapPrm:", b"CapEff:", b"CapBnd:", b"CapAmb:", b"NoNewPrivs:",
                b"Seccomp:")
_NAMESPACES = ("mnt", "net", "pid", "ipc", "uts", "user", "cgroup")


def _warm_up() -> None:
    """Import the CLI with every command registered, and the engine below it."""
    from dockyard.cli import main

    main._register_commands()
    for name in _WARM_PACKAGES:
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, name + "."):
            if not info.name.endswith(_SKIP) and info.name not in _SKIP:
                importlib.import_module(info.name)


def _identity(pid: int | str) -> tuple[object, ...]:
    """What a command's process may do: namespaces, root, credentials' limits."""
    proc = f"/proc/{pid}"
    namespaces = tuple(os.readlink(f"{proc}/ns/{ns}") for ns in _NAMESPACES)
    root = os.stat(f"{proc}/root")
    with open(f"{proc}/status", "rb") as f:
        status = tuple(line for line in f if line.startswith(_STATUS_KEYS))
    return namespaces, (root.st_dev, root.st_ino), status


class _Engine:
    def __init__(self, run_root: str, lock_fd: int, idle: float) -> None:
        self.directory = wire.warm_dir(run_root)
        self.lock_fd = lock_fd
        self.idle = idle
        self.sources = SourceWatch()
        self.identity = _identity("self")
        self.uid = os.getuid()
        self.code = wire.code_key(sys.executable)
        self.dir_fd = os.open(self.directory, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        self.path = f"/proc/self/fd/{self.dir_fd}/{wire.SOCKET_NAME}"
        self.listener: socket.socket | None = None
        self.poll = select.epoll()
        self.wake_r, self.wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.clients: dict[int, socket.socket] = {}  # socket fd → connection
        self.workers: dict[int, socket.socket | None] = {}  # pid → its client's connection
        self.spare: tuple[int, socket.socket] | None = None  # a worker waiting for work
        self.stopping = False
        self.last_used = time.monotonic()

    # -- life ---------------------------------------------------------------------
    def listen(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            listener.bind(self.path)
        finally:
            os.umask(old)
        listener.listen(128)
        self.listener = listener
        self.poll.register(listener.fileno(), select.EPOLLIN)
        self.poll.register(self.wake_r, select.EPOLLIN)
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGTERM, lambda *_: self.stop_listening())
        with open(os.path.join(self.directory, wire.PID_NAME), "w") as f:
            f.write(f"{os.getpid()}\n")
        self.fork_spare()

    def stop_listening(self) -> None:
        """Take no more commands; the loop ends once the running workers have."""
        self.stopping = True
        if self.spare is not None:
            self.spare[1].close()  # the spare reads the end of its link and exits
            self.spare = None
        if self.listener is not None:
            self.poll.unregister(self.listener.fileno())
            self.listener.close()
            self.listener = None
            for name in (wire.SOCKET_NAME, wire.PID_NAME):
                try:
                    os.unlink(os.path.join(self.directory, name))
                except FileNotFoundError:
                    pass

    def run(self) -> None:
        while not (self.stopping and not self.workers):
            timeout = 1.0
            if not self.workers and not self.stopping:
                left = self.last_used + self.idle - time.monotonic()
                if left <= 0:
                    self.stop_listening()
                    continue
                timeout = min(timeout, left)
            for fd, _ in self.poll.poll(timeout):
                if self.listener is not None and fd == self.listener.fileno():
                    self.accept()
                elif fd == self.wake_r:
                    self.reap()
                elif fd in self.clients:
                    self.client_gone(fd)
        self.stop_listening()

    # -- commands -------------------------------------------------------------------
    def accept(self) -> None:
        assert self.listener is not None
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        fds: list[int] = []
        try:
            conn.settimeout(2.0)
            body, fds = self.receive(conn)
            req = wire.decode_request(body)
            refusal = self.refusal(conn, req)
            if refusal:
                conn.sendall(f"R {refusal}\n".encode())
                conn.close()
                return
            pid = self.hand_to_spare(body, fds, conn)
            if pid is None:
                pid = os.fork()
                if pid == 0:
                    self.become_worker(conn, req, fds)
                _own_group(pid)
            self.last_used = time.monotonic()
            conn.sendall(f"P {pid}\n".encode())
            conn.setblocking(False)
            self.workers[pid] = conn
            self.clients[conn.fileno()] = conn
            self.poll.register(conn.fileno(), select.EPOLLIN | select.EPOLLRDHUP)
        except (OSError, ValueError) as err:
            print(f"warm engine: request dropped: {err}", file=sys.stderr, flush=True)
            conn.close()
        finally:
            for fd in fds:
                os.close(fd)

    def receive(self, conn: socket.socket) -> tuple[bytes, list[int]]:
        """The request's body and its four descriptors."""
        data, ancdata, _, _ = conn.recvmsg(65536, socket.CMSG_SPACE(4 * 4))
        fds = _received_fds(ancdata)
        try:
            if len(data) < 4 or len(fds) != 4:
                raise ValueError("a request needs its length and four descriptors")
            size = int.from_bytes(data[:4], "little")
            body = data[4:]
            while len(body) < size:
                more = conn.recv(min(size - len(body), 1 << 20))
                if not more:
                    raise ValueError("request cut short")
                body += more
            return body, fds
        except BaseException:
            for fd in fds:
                os.close(fd)
            raise

    def refusal(self, conn: socket.socket, req: wire.Request) -> str:
        """Why this engine must not run the command ("" when it may)."""
        if self.stopping:
            return "stopping"
        pid, uid, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET,
                                                            socket.SO_PEERCRED, 12))
        if uid != self.uid:
            return "another user"
        try:
            if _identity(pid) != self.identity:
                return "other namespaces or privileges"
        except OSError:
            return "caller not readable"
        if req.code != self.code or self.sources.stale():
            self.stop_listening()  # a newer engine will start for the new code
            return "other code"
        return ""

    def fork_spare(self) -> None:
        """Fork the worker for the next command ahead of it (fork is off its path)."""
        if self.spare is not None or self.stopping:
            return
        link, child_link = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:
            link.close()
            self.become_spare(child_link)
        _own_group(pid)
        child_link.close()
        self.spare = (pid, link)

    def hand_to_spare(self, body: bytes, fds: list[int], conn: socket.socket) -> int | None:
        """Pass a command to the spare worker: its pid, or None if there is none."""
        if self.spare is None:
            return None
        pid, link = self.spare
        self.spare = None
        try:
            link.sendmsg([body], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                   _fd_bytes([*fds, conn.fileno()]))])
        except OSError:
            return None  # it died: fork one now; its exit is reaped as nobody's
        finally:
            link.close()
        return pid

    def become_spare(self, link: socket.socket) -> None:
        code = 1
        try:
            self.shed()
            _name_process(b"dockyard-spare")
            body, ancdata, _, _ = link.recvmsg(1 << 20, socket.CMSG_SPACE(5 * 4))
            fds = _received_fds(ancdata)
            if not body or len(fds) != 5:
                code = 0  # the engine is stopping: no command comes
                return
            link.close()
            code = self.work(socket.socket(fileno=fds[4]), wire.decode_request(body), fds[:4])
        finally:
            os._exit(code)

    def become_worker(self, conn: socket.socket, req: wire.Request,
                      fds: list[int]) -> None:
        code = 1
        try:
            self.shed()
            code = self.work(conn, req, fds)
        finally:
            os._exit(code)

    def shed(self) -> None:
        """In a forked child: lead a process group of its own (the client signals it:
        a resize reaches a runtime child as the terminal's would), and drop the
        engine's signal handlers and descriptors."""
        _own_group(0)
        signal.set_wakeup_fd(-1)
        for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for other in self.clients.values():
            other.close()
        if self.listener is not None:
            self.listener.close()
        if self.spare is not None:
            self.spare[1].close()
        self.poll.close()
        self.sources.close()
        for fd in (self.wake_r, self.wake_w, self.dir_fd, self.lock_fd):
            os.close(fd)

    @staticmethod
    def work(conn: socket.socket, req: wire.Request, fds: list[int]) -> int:
        """Run the command; report its code to the client; return it."""
        from dockyard.cli.warm.worker import run_command

        _name_process(b"dockyard-worker")
        code = run_command(req, fds)
        # Tell the client now: tearing down this process's memory takes a millisecond
        # or two that it need not wait for. Its stdio goes first, so that a reader of
        # the client's output sees the end of it no later than the client's exit.
        for fd in (0, 1, 2):
            os.close(fd)
        conn.sendall(f"X {(code & 0xFF) << 8}\n".encode())
        return code

    def reap(self) -> None:
        try:
            while os.read(self.wake_r, 512):
                pass
        except BlockingIOError:
            pass
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            conn = self.workers.pop(pid, None)
            if conn is not None:
                try:
                    conn.setblocking(True)
                    conn.sendall(f"X {status}\n".encode())
                except OSError:
                    pass
                self.forget(conn)
            self.last_used = time.monotonic()
        # The next command's worker: forked once a command has ended, not while one
        # runs (on two cores the fork would compete with it), and never while this
        # process holds a client's descriptors (a spare holding a command's stdout
        # kept a reader of the client's output from seeing its end).
        self.fork_spare()

    def client_gone(self, fd: int) -> None:
        conn = self.clients[fd]
        try:
            if conn.recv(64, socket.MSG_PEEK):
                return  # a client never writes after its request; ignore noise
        except BlockingIOError:
            return
        except OSError:
            pass
        for pid, owner in self.workers.items():
            if owner is conn:
                # The command was killed: so is the process that ran it.
                os.kill(pid, signal.SIGKILL)
                self.workers[pid] = None
        self.forget(conn)

    def forget(self, conn: socket.socket) -> None:
        fd = conn.fileno()
        if fd in self.clients:
            del self.clients[fd]
            self.poll.unregister(fd)
        conn.close()


def _received_fds(ancdata: list[tuple[int, int, bytes]]) -> list[int]:
    fds: list[int] = []
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds += [int.from_bytes(payload[i:i + 4], sys.byteorder)
                    for i in range(0, len(payload) - len(payload) % 4, 4)]
    return fds


def _fd_bytes(fds: list[int]) -> bytes:
    return b"".join(fd.to_bytes(4, sys.byteorder) for fd in fds)


def _own_group(pid: int) -> None:
    """Make ``pid`` (0: this process) lead its own process group; both the engine and
    the child call it, so the group exists before either goes on (as shells do)."""
    try:
        os.setpgid(pid, 0)
    except OSError:
        pass  # already done by the other side, or the child has already exited


def _name_process(name: bytes) -> None:
    """Set the process's name as ps shows it (``comm``): spare or worker."""
    try:
        with open("/proc/self/comm", "wb") as f:
            f.write(name[:15])
    except OSError:
        pass


def serve(run_root: str, lock_fd: int | None = None) -> int:
    """Warm up, then serve commands for ``run_root`` until idle or told to stop."""
    directory = wire.warm_dir(run_root)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    if lock_fd is None:
        lock_fd = os.open(os.path.join(directory, wire.LOCK_NAME),
                          os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    os.set_inheritable(lock_fd, False)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return 0  # another engine serves this run root
    os.chdir("/")
    _warm_up()
    gc.collect()
    gc.freeze()  # workers then leave the warm objects' pages shared
    engine = _Engine(run_root, lock_fd, float(os.environ.get("DOCKYARD_WARM_IDLE", "300")))
    engine.listen()
    engine.run()
    return 0


def stop(run_root: str, timeout: float = 5.0) -> bool:
    """Stop the warm engine of ``run_root`` (SIGTERM, then SIGKILL); True if one ran."""
    path = os.path.join(wire.warm_dir(run_root), wire.PID_NAME)
    try:
        with open(path) as f:
            pid = int(f.read().strip() or 0)
    except (OSError, ValueError):
        return False
    if pid <= 0 or not _is_engine(pid, run_root):
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _is_engine(pid, run_root):
            return True
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    return True


def _is_engine(pid: int, run_root: str) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().split(b"\0")
        with open(f"/proc/{pid}/stat", "rb") as f:
            if f.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                return False
    except OSError:
        return False
    return b"dockyard.cli.warm.server" in args and os.fsencode(run_root) in args


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else None))
