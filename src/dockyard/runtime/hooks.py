"""OCI hooks: each one is run with the container's state JSON on stdin.

``prestart``/``createRuntime`` run in the runtime's namespaces while the init waits,
``createContainer``/``startContainer`` inside the container (the init runs them),
``poststart`` after start and ``poststop`` on delete. A failing hook fails the step,
except ``poststart`` and ``poststop`` whose failures are only reported (as runc).
"""

from __future__ import annotations

import os
import select
import time

from dockyard.errors import SystemFailure
from dockyard.runtime.jsonfast import dumps

TYPE_CHECKING = False  # typing itself costs milliseconds per start

if TYPE_CHECKING:
    from typing import Any

__all__ = ["run_hooks"]


def run_hooks(hooks: dict[str, Any] | None, kind: str, state: dict[str, Any]) -> None:
    """Run every hook of ``kind`` in order; raise ``SystemFailure`` on the first failure."""
    for i, hook in enumerate((hooks or {}).get(kind) or ()):
        _run_one(hook, f"hooks.{kind}[{i}]", dumps(state).encode())


def _run_one(hook: dict[str, Any], name: str, stdin: bytes) -> None:
    path = hook["path"]
    args = hook.get("args") or [path]
    env = dict(e.split("=", 1) for e in hook.get("env") or () if "=" in e)
    timeout = hook.get("timeout")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: stdin from the pipe, everything else as is
        try:
            os.close(w)
            os.dup2(r, 0)
            os.execve(path, args, env)
        except OSError as exc:
            os.write(2, f"{name}: {path}: {exc.strerror}\n".encode())
        os._exit(127)
    os.close(r)
    try:
        os.write(w, stdin)
    except BrokenPipeError:
        pass
    finally:
        os.close(w)
    status = _wait(pid, timeout)
    if status is None:
        os.kill(pid, 9)  # SIGKILL (the signal module would import enum)
        os.waitpid(pid, 0)
        raise SystemFailure(f"{name}: {path}: timed out after {timeout}s")
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemFailure(f"{name}: {path}: exited with status {code}")


def _wait(pid: int, timeout: int | None) -> int | None:
    if not timeout:
        return os.waitpid(pid, 0)[1]
    deadline = time.monotonic() + timeout
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        pidfd = -1
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return status
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if pidfd >= 0:
                select.select([pidfd], [], [], left)
            else:
                time.sleep(min(left, 0.01))
    finally:
        if pidfd >= 0:
            os.close(pidfd)
