"""``exec``: start another process inside a running container.

The process joins the init's namespaces (read from ``/proc/<pid>/ns``, only those that
differ from ours) and its cgroup, then gets the same confinement as an init: rlimits,
user, capabilities, no_new_privs, the container's seccomp filter. Like the init, it
stays non-dumpable until its exec. Unlike the init's, it gets no Landlock domain when
this process runs on a sealed copy of the interpreter (``selfcopy.py``, as the CLI
does), so that it may inspect and trace the init.
"""

from __future__ import annotations

import _socket
import json
import os
from dataclasses import dataclass, field
from typing import Any

from dockyard.errors import Conflict, InvalidArgument, InvalidConfig
from dockyard.runtime import container_state as st
from dockyard.runtime.container_create import (
    Plan,
    load_bundle,
    make_plan,
    serve,
    write_pid_file,
)
from dockyard.runtime.namespaces import PROC_NAMES, Namespaces
from dockyard.runtime.run import wait_exit_code
from dockyard.runtime.spec import validate_config

TYPE_CHECKING = False  # typing itself costs milliseconds per start

if TYPE_CHECKING:
    from dockyard.runtime.container_state import StrPath

__all__ = ["ExecOptions", "exec_process", "process_for"]

_PR_SET_CHILD_SUBREAPER = 36


@dataclass
class ExecOptions:
    """``runc exec``'s options; ``process_file`` (a JSON process) overrides the rest."""

    process_file: str | None = None
    args: list[str] = field(default_factory=list)
    env: list[str] = field(default_factory=list)
    cwd: str | None = None
    user: str | None = None
    additional_gids: list[int] = field(default_factory=list)
    caps: list[str] = field(default_factory=list)
    no_new_privs: bool = False
    tty: bool = False
    detach: bool = False
    pid_file: str | None = None
    console_socket: str | None = None
    preserve_fds: int = 0


def process_for(base: dict[str, Any], opts: ExecOptions) -> dict[str, Any]:
    """The OCI ``process`` object an exec runs, from the container's and the options."""
    if opts.process_file:
        try:
            with open(opts.process_file, "rb") as f:
                proc = json.loads(f.read())
        except (OSError, ValueError) as exc:
            raise InvalidArgument(f"--process: {opts.process_file}: {exc}") from None
        if not isinstance(proc, dict):
            raise InvalidArgument(f"--process: {opts.process_file}: must be a json object")
        return proc
    if not opts.args:
        raise InvalidArgument("exec: no command given")
    proc = dict(base)
    proc["args"] = list(opts.args)
    proc["terminal"] = opts.tty
    proc["env"] = list(base.get("env") or ()) + list(opts.env)
    if opts.cwd:
        proc["cwd"] = opts.cwd
    if opts.user:
        uid, _, gid = opts.user.partition(":")
        if not uid.isdigit() or (gid and not gid.isdigit()):
            raise InvalidArgument(f"--user: must be uid[:gid], not {opts.user!r}")
        proc["user"] = {"uid": int(uid), "gid": int(gid or 0)}
    if opts.additional_gids:
        proc["user"] = dict(proc.get("user") or {}, additionalGids=opts.additional_gids)
    if opts.caps:
        caps = {k: list(v) for k, v in (base.get("capabilities") or {}).items()}
        for kind in ("bounding", "effective", "permitted", "ambient"):
            caps[kind] = sorted(set(caps.get(kind, [])) | set(opts.caps))
        proc["capabilities"] = caps
    if opts.no_new_privs:
        proc["noNewPrivileges"] = True
    return proc


def _join_namespaces(pid: int) -> Namespaces:
    ns = Namespaces()
    try:
        for kind, name in PROC_NAMES.items():
            theirs = os.stat(f"/proc/{pid}/ns/{name}")
            ours = os.stat(f"/proc/self/ns/{name}")
            if (theirs.st_dev, theirs.st_ino) != (ours.st_dev, ours.st_ino):
                ns.join[kind] = os.open(f"/proc/{pid}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC)
    except BaseException:
        ns.close()
        raise
    return ns


def exec_process(state_root: StrPath, container_id: str, opts: ExecOptions) -> int:
    """Run the process; without ``detach`` wait for it and return its exit code."""
    cs = st.load(state_root, container_id)
    status = cs.status()
    if not st.Status.can_exec(status):
        raise Conflict(f"cannot exec in a {status} container: {container_id}")
    config, _ = load_bundle(cs.bundle)
    config = dict(config, process=process_for(config["process"], opts))
    try:
        validate_config(config)
    except InvalidConfig as exc:
        raise InvalidArgument(str(exc).replace("config.json: ", "exec: ")) from None
    config.pop("hooks", None)
    plan: Plan = make_plan(config, cs.rootfs, _join_namespaces(cs.pid), state_root)
    plan.joining = True
    if plan.confine_writes:  # on a sealed copy nothing reachable needs it: selfcopy.py
        from dockyard.runtime.selfcopy import running_sealed

        plan.confine_writes = not running_sealed()
    plan.preserve_fds = opts.preserve_fds
    if not opts.detach:
        from dockyard.runtime.syscalls import prctl

        prctl(_PR_SET_CHILD_SUBREAPER, 1)
    parent, child = _socket.socketpair(_socket.AF_UNIX,
                                       _socket.SOCK_SEQPACKET | _socket.SOCK_CLOEXEC)
    pid = 0
    ours = None
    try:
        if plan.process.get("terminal"):
            if opts.console_socket:
                from dockyard.runtime.console import connect_console_socket

                plan.console = connect_console_socket(opts.console_socket)
            elif opts.detach:
                raise InvalidArgument("exec: -t with --detach needs --console-socket")
            else:  # our own pty, proxied to our stdio as runc does
                ours, plan.console = _socket.socketpair(_socket.AF_UNIX,
                                                        _socket.SOCK_STREAM)
        from dockyard.runtime.init import spawn

        mid, pid = spawn(plan, parent, child)
        child.close()
        pid, _ = serve(plan, parent, mid, cs, _joiner, cs.cgroups_path, pid)
    finally:
        parent.close()
        child.close()
        plan.namespaces.close()
        if plan.console is not None:
            plan.console.close()
    if opts.pid_file:
        write_pid_file(opts.pid_file, pid)
    if opts.detach:
        return 0
    if ours is not None:
        from dockyard.runtime.console import proxy, receive_master

        try:
            master = receive_master(ours)
        finally:
            ours.close()
        proxy(master)
    return wait_exit_code(pid)


def _joiner(cgroups_path: str, container_id: str) -> _Joiner:
    from dockyard.runtime.cgroup_glue import manager

    return _Joiner(manager(cgroups_path, container_id))


class _Joiner:
    """The container's cgroup manager, seen by ``serve`` for an exec: join only."""

    def __init__(self, mgr: Any) -> None:
        self.mgr = mgr

    def create(self) -> None: ...

    def apply(self, resources: Any) -> None: ...

    def add_pid(self, pid: int) -> None:
        self.mgr.add_pid(pid)

    def remove(self) -> None:  # never remove the container's cgroup on a failed exec
        ...
