"""The OCI runtimes a container can run on, chosen by name (``HostConfig.Runtime``).

One table maps a name to ``"module:factory"``; the factory takes the runtime state root
(``$RUN/runtime/<name>``) and returns a :class:`Runtime`. The monitor drives create,
start and delete through ``argv`` (a runc-compatible command line); the engine calls
the other verbs here. ``runc`` and ``crun`` are the host's binaries; ``dockyard`` is our
own runtime: the monitor runs its verbs in forked children, the engine calls its library.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from dockyard.engine.monitor.verbs import runtime_error
from dockyard.errors import Conflict, DockyardError, InvalidArgument, NotFound, SystemFailure

T = TypeVar("T")

__all__ = ["DEFAULT_RUNTIME", "RUNTIMES", "CliRuntime", "Runtime", "default_runtime",
           "open_runtime"]

RUNTIMES: dict[str, str] = {
    "dockyard": "dockyard.engine.runtimes:dockyard_runtime",
    "runc": "dockyard.engine.runtimes:runc_runtime",
    "crun": "dockyard.engine.runtimes:crun_runtime",
}
# DOCKYARD_RUNTIME overrides (e.g. runc, to compare against the reference runtime).
DEFAULT_RUNTIME = "dockyard"


def default_runtime() -> str:
    return os.environ.get("DOCKYARD_RUNTIME") or DEFAULT_RUNTIME


class CliRuntime:
    """A runc-compatible command line (runc, crun, ``python -m dockyard.runtime``)."""

    def __init__(self, name: str, command: list[str], state_root: Path) -> None:
        self.name = name
        self.state_root = state_root
        self.argv = [*command, "--root", str(state_root)]

    def _run(self, *args: str, check: bool = True,
             timeout: float = 60) -> subprocess.CompletedProcess[str]:
        try:
            proc = subprocess.run([*self.argv, *args], capture_output=True, text=True,
                                  timeout=timeout, stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            raise SystemFailure(f"runtime {self.name}: {self.argv[0]} is not installed")
        if check and proc.returncode != 0:
            message = runtime_error(proc.stderr) or f"exit status {proc.returncode}"
            low = message.lower()
            if "does not exist" in low or "not exist" in low or "not found" in low:
                raise NotFound(f"runtime {self.name}: {message}")
            if "not running" in low or "paused" in low or "not paused" in low:
                raise Conflict(f"runtime {self.name}: {message}")
            raise SystemFailure(f"runtime {self.name} {args[0]}: {message}")
        return proc

    def state(self, cid: str) -> dict[str, Any] | None:
        proc = self._run("state", cid, check=False)
        if proc.returncode != 0:
            return None
        try:
            return dict(json.loads(proc.stdout))
        except ValueError:
            return None

    def kill(self, cid: str, signal: int, all: bool = False) -> None:
        self._run("kill", *(["--all"] if all else []), cid, str(signal))

    def pause(self, cid: str) -> None:
        self._run("pause", cid)

    def resume(self, cid: str) -> None:
        self._run("resume", cid)

    def knows(self, cid: str) -> bool:
        """Whether the runtime still has state for ``cid`` (cheap: no subprocess)."""
        return (self.state_root / cid).exists()

    def delete(self, cid: str, force: bool = True) -> None:
        if self.knows(cid):
            self._run("delete", *(["--force"] if force else []), cid, check=False)

    def ps(self, cid: str) -> list[int]:
        out = self._run("ps", "--format", "json", cid).stdout
        return [int(p) for p in json.loads(out or "[]")]

    def update(self, cid: str, resources: dict[str, Any], cgroups_path: str = "") -> None:
        """Apply new ``linux.resources`` to a running container."""
        import tempfile

        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            json.dump(resources, f)
            f.flush()
            self._run("update", "--resources", f.name, cid)

    def exec_argv(self, cid: str, process_json: str, tty: bool, detach: bool,
                  pid_file: str | None = None) -> list[str]:
        """The command line that runs an extra process in the container."""
        argv = [*self.argv, "exec", "--process", process_json]
        if detach:
            argv.append("--detach")
        if pid_file:
            argv += ["--pid-file", pid_file]
        return [*argv, cid]


Runtime = CliRuntime


def _binary(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if path is None:
        raise SystemFailure(f"runtime {name}: not installed")
    return path


def runc_runtime(state_root: Path) -> Runtime:
    return CliRuntime("runc", [_binary("runc")], state_root)


# crun 1.8 refuses hybrid hosts (v1 controllers plus a cgroup2 mount listing some
# controller). As PEERS.md describes, it runs when that one file reads empty: each crun
# command runs in a private mount namespace with /dev/null bound over it.
_HYBRID_FILE = "/sys/fs/cgroup/unified/cgroup.controllers"
_HIDE_HYBRID = f'mount --bind /dev/null {_HYBRID_FILE} && exec "$0" "$@"'


def crun_runtime(state_root: Path) -> Runtime:
    crun = _binary("crun")
    if os.path.isdir("/sys/fs/cgroup/memory") and os.path.exists(_HYBRID_FILE):
        with open(_HYBRID_FILE) as f:
            if f.read().strip():
                return CliRuntime("crun", [_binary("unshare"), "-m", "--propagation",
                                           "private", "sh", "-c", _HIDE_HYBRID, crun],
                                  state_root)
    return CliRuntime("crun", [crun], state_root)


class DockyardRuntime(CliRuntime):
    """The built-in runtime. The monitor runs its create, start and delete in a forked
    child (``argv`` is recognised there); the engine calls the other verbs in-process
    through the library, and runs ``exec`` through the fast launcher: no interpreter
    start and no import of the engine per verb."""

    def _call(self, verb: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except (NotFound, Conflict, InvalidArgument) as e:
            raise type(e)(f"runtime {self.name}: {e}") from None
        except DockyardError as e:
            raise SystemFailure(f"runtime {self.name} {verb}: {e}") from None
        except OSError as e:
            raise SystemFailure(f"runtime {self.name} {verb}: {e.strerror or e}") from None

    def state(self, cid: str) -> dict[str, Any] | None:
        from dockyard import runtime

        try:
            return runtime.state(self.state_root, cid)
        except (DockyardError, OSError):
            return None

    def kill(self, cid: str, signal: int, all: bool = False) -> None:
        from dockyard import runtime

        self._call("kill", lambda: runtime.kill(self.state_root, cid, signal, all=all))

    def pause(self, cid: str) -> None:
        from dockyard import runtime

        self._call("pause", lambda: runtime.pause(self.state_root, cid))

    def resume(self, cid: str) -> None:
        from dockyard import runtime

        self._call("resume", lambda: runtime.resume(self.state_root, cid))

    def delete(self, cid: str, force: bool = True) -> None:
        from dockyard import runtime

        if self.knows(cid):
            with contextlib.suppress(NotFound):
                self._call("delete", lambda: runtime.delete(self.state_root, cid, force=force))

    def ps(self, cid: str) -> list[int]:
        from dockyard import runtime

        return self._call("ps", lambda: runtime.ps(self.state_root, cid))

    def update(self, cid: str, resources: dict[str, Any], cgroups_path: str = "") -> None:
        from dockyard.runtime.cgroups import manager_for

        manager_for(cgroups_path or None, cid).apply(resources)

    def exec_argv(self, cid: str, process_json: str, tty: bool, detach: bool,
                  pid_file: str | None = None) -> list[str]:
        launcher = [str(self._launcher()), "--root", str(self.state_root)]
        return [*launcher, *super().exec_argv(cid, process_json, tty, detach,
                                              pid_file)[len(self.argv):]]

    def _launcher(self) -> Path:
        """``<runtime state>/dockyard-runtime``, (re)written when missing or stale."""
        from dockyard.runtime.launcher import launcher_text, write_launcher

        path = self.state_root.parent / "dockyard-runtime"
        try:
            if path.read_text() == launcher_text():
                return path
        except OSError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_launcher(path)


def dockyard_runtime(state_root: Path) -> Runtime:
    return DockyardRuntime("dockyard", [sys.executable, "-m", "dockyard.runtime"],
                           state_root)


def open_runtime(name: str, runtime_state: Path) -> Runtime:
    """The runtime called ``name``, with its state under ``runtime_state/<name>``."""
    spec = RUNTIMES.get(name)
    if spec is None:
        raise InvalidArgument(f"unknown or invalid runtime name: {name}")
    module, _, factory = spec.partition(":")
    made = getattr(importlib.import_module(module), factory)(runtime_state / name)
    assert isinstance(made, CliRuntime)
    return made
