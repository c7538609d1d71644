"""A child made ahead of time for the built-in runtime's first verb (``create``).

Forking a child and importing the runtime into it (some 40 modules) costs a container's
start ~8 ms. The spawner keeps one *spare* monitor forked ahead of the next request
(see ``spawner``); the spare makes a ``Prepared`` child at once, which imports the
runtime and waits. When the spare becomes a container's monitor, its ``create`` hands
the child the command line, the working directory and the three stdio descriptors
(SCM_RIGHTS) instead of forking one: the child is the monitor's own, so the
container's init, orphaned when it exits, is reparented to the monitor as before.

The monitor process itself never imports the runtime (its memory stays small): only
the child does. A child whose monitor goes away (or discards it) sees its socket close
and exits.
"""

from __future__ import annotations

import _socket
import os
import sys

from dockyard.engine.monitor import protocol as P
from dockyard.engine.monitor.verbs import builtin_child

__all__ = ["Prepared"]

# What create, the init and start import, warmed before the request comes.
_WARM = (
    "dockyard.runtime.cli.main", "dockyard.runtime.cli.verbs",
    "dockyard.runtime.container_create", "dockyard.runtime.container_start",
    "dockyard.runtime.cgroup_glue", "dockyard.runtime.init",
    "dockyard.runtime.capabilities", "dockyard.runtime.paths", "dockyard.runtime.rootfs",
    "dockyard.runtime.rlimits", "dockyard.runtime.seccomp", "dockyard.runtime.mounts",
    "dockyard.runtime.namespaces", "dockyard.runtime.cgroups.factory",
    "dockyard.runtime.cgroups.hybrid", "dockyard.runtime.cgroups.devices_rules",
    "dockyard.runtime.cgroups.v1.manager", "dockyard.runtime.cgroups.v1.cpuset",
    "dockyard.runtime.cgroups.v1.devices", "dockyard.runtime.cgroups.v1.memory",
    "dockyard.runtime.cgroups.v1.pids", "dockyard.runtime.cgroups.v2.manager", "zlib",
)


class Prepared:
    """A forked child that has imported the built-in runtime and waits for its verb."""

    def __init__(self) -> None:
        ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
        pid = os.fork()
        if pid == 0:
            ours.close()
            _wait_and_run(theirs)
        theirs.close()
        self.pid = pid
        self.sock: _socket.socket | None = ours

    def run(self, args: list[str], then: list[str] | None, stdin: int, stdout: int,
            stderr: int) -> int:
        """Have the child run ``args`` (then ``then``) with this stdio; its pid, to
        wait for like a forked verb's. OSError if the child is gone."""
        if self.sock is None:
            raise OSError("prepared runtime child already used")
        sock, self.sock = self.sock, None
        msg = (P.dumps({"args": args, "then": then, "cwd": os.getcwd()}) + "\n").encode()
        try:
            fds = b"".join(fd.to_bytes(4, sys.byteorder) for fd in (stdin, stdout, stderr))
            sock.sendmsg([msg], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])
        except OSError:
            self._reap()
            raise
        finally:
            sock.close()
        return self.pid

    def discard(self) -> None:
        """Let the child go unused and reap it (killed: it holds nothing of value, and
        may still be importing)."""
        if self.sock is not None:
            self.sock.close()
            self.sock = None
            try:
                os.kill(self.pid, 9)
            except ProcessLookupError:
                pass
            self._reap()

    def _reap(self) -> None:
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


def _wait_and_run(sock: _socket.socket) -> None:
    """The child: import the runtime, wait for the verb, run it; never returns."""
    try:
        for name in _WARM:
            __import__(name)
        from dockyard.runtime.cgroups import detect_mode  # type: ignore[attr-defined]

        detect_mode()  # cached: the host's cgroup layout does not change
    except BaseException as e:  # the verb will import what it needs itself
        sys.stderr.write(f"monitor: preparing the runtime: {type(e).__name__}: {e}\n")
    try:
        data, anc, _, _ = sock.recvmsg(65536, _socket.CMSG_SPACE(3 * 4),
                                       _socket.MSG_CMSG_CLOEXEC)
        fds: list[int] = []
        for level, kind, payload in anc:
            if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
                fds += [int.from_bytes(payload[i:i + 4], sys.byteorder)
                        for i in range(0, len(payload) - 3, 4)]
        req = P.loads(data.split(b"\n", 1)[0]) if data else None
        if not isinstance(req, dict) or len(fds) != 3:
            os._exit(0)  # discarded (or the monitor went away)
        sock.close()
        os.chdir(str(req["cwd"]))
    except BaseException:
        os._exit(1)
    then = req.get("then")
    builtin_child([str(a) for a in req["args"]],
                  [str(a) for a in then] if isinstance(then, list) else None,
                  fds[0], fds[1], fds[2])
