"""The runtime side of ``create``: validate, fork the init, serve its requests.

Everything that can be refused is checked before the first fork (config, rootfs,
namespace paths, capabilities, rlimits, seccomp). After it, any failure kills the
init and removes the cgroup and the state directory, so a failed create leaves
nothing behind: the init's mounts die with its mount namespace.
"""

from __future__ import annotations

import _socket
import os
import time

from dockyard.errors import DockyardError, InvalidConfig, NotFound, SystemFailure
from dockyard.runtime import container_state as st
from dockyard.runtime.messages import Kind, error_from, recv, send
from dockyard.runtime.namespaces import Namespaces, plan_namespaces, write_id_maps
from dockyard.runtime.spec import parse_config

TYPE_CHECKING = False  # typing itself costs milliseconds per start

if TYPE_CHECKING:
    from _socket import socket
    from typing import Any

    from dockyard.runtime.container_state import StrPath

__all__ = ["Plan", "create", "load_bundle", "make_plan", "serve", "wait_gone",
           "write_pid_file"]


_SIGKILL = 9


class Plan:
    """Everything the init needs, decided in the runtime before forking."""

    def __init__(self, config: dict[str, Any], rootfs: str, namespaces: Namespaces,
                 env: dict[str, str], rlimits: list[Any] | None = None,
                 seccomp: bytes | None = None, seccomp_flags: int = 0) -> None:
        self.config = config
        self.rootfs = rootfs
        self.namespaces = namespaces
        self.env = env
        self.rlimits = rlimits or []
        self.seccomp = seccomp
        self.seccomp_flags = seccomp_flags
        self.fifo_fd = -1
        self.state_dir_fd = -1
        self.console: socket | None = None
        self.preserve_fds = 0
        self.joining = False  # exec: enter an existing container instead of building one
        self.confine_writes = False  # put the process under runtime/landlock's domain
        self.state_for_hooks: dict[str, Any] = {}
        self.cgroups_unjoined: list[str] = []  # hierarchies the init is not in (_join)

    @property
    def process(self) -> dict[str, Any]:
        return self.config["process"]  # type: ignore[no-any-return]

    @property
    def hooks(self) -> dict[str, Any]:
        return self.config.get("hooks") or {}


def load_bundle(bundle: StrPath) -> tuple[dict[str, Any], str]:
    """The validated config of ``bundle`` and its rootfs's absolute path."""
    bundle = os.path.abspath(bundle)
    try:
        with open(os.path.join(bundle, "config.json"), "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise NotFound(f"{bundle}/config.json: no such file") from None
    except OSError as exc:
        raise InvalidConfig(f"{bundle}/config.json: {exc.strerror}") from None
    config = parse_config(raw)
    rootfs = os.path.join(bundle, config["root"]["path"])
    if not os.path.isdir(rootfs):
        raise InvalidConfig(f"config.json: root.path: {rootfs}: no such directory")
    return config, os.path.realpath(rootfs)


def make_plan(config: dict[str, Any], rootfs: str,
              namespaces: Namespaces | None = None, state_root: StrPath | None = None) -> Plan:
    """Check what can be checked before forking and gather it for the init.

    Compiled seccomp filters are cached under ``<state_root>/.seccomp`` when given."""
    proc = config["process"]
    env = dict(e.split("=", 1) if "=" in e else (e, "") for e in proc.get("env") or ())
    linux = config.get("linux") or {}
    from dockyard.runtime.capabilities import check_process_capabilities

    sets = check_process_capabilities(proc.get("capabilities"))
    rlimits: list[Any] = []
    if proc.get("rlimits"):
        from dockyard.runtime.rlimits import check_rlimits

        rlimits = check_rlimits(proc["rlimits"])
    seccomp = None
    flags = 0
    if linux.get("seccomp"):
        from dockyard.runtime.seccomp import compile_filter, filter_flags

        cache = None
        if state_root is not None:
            os.makedirs(state_root, mode=0o700, exist_ok=True)
            cache = os.path.join(state_root, ".seccomp")  # no container id starts with a dot
        seccomp = compile_filter(linux["seccomp"], cache_dir=cache)
        flags = filter_flags(linux["seccomp"])
    from dockyard.runtime.mounts import parse_options

    for i, m in enumerate(config.get("mounts") or ()):
        parse_options(list(m.get("options") or ()), f"mounts[{i}].options")
    ns = namespaces if namespaces is not None else plan_namespaces(linux)
    plan = Plan(config, rootfs, ns, env, rlimits=rlimits, seccomp=seccomp,
                seccomp_flags=flags)
    plan.confine_writes = not sets["bounding"] >> 21 & 1  # no CAP_SYS_ADMIN: landlock.py
    return plan


def create(state_root: StrPath, container_id: str, bundle: StrPath, *,
           pid_file: str | None = None, console_socket: str | None = None,
           preserve_fds: int = 0, console: socket | None = None,
           loaded: tuple[dict[str, Any], str] | None = None) -> st.ContainerState:
    """Create the container: its init waits in ``exec.fifo`` for ``start``.

    The init inherits this process's stdio unless the config asks for a terminal.
    Call from a process that reaps orphans (a subreaper) to be the init's parent.
    ``console`` is a connected socket to send the pty master on, instead of a path;
    ``loaded`` is what ``load_bundle(bundle)`` returned, when the caller has it."""
    st.check_id(container_id)
    bundle = os.path.abspath(bundle)
    config, rootfs = loaded or load_bundle(bundle)
    if (config.get("linux") or {}).get("cgroupsPath", "").count(":") == 2:
        raise InvalidConfig("config.json: linux.cgroupsPath: systemd cgroups are not "
                            "supported (drop --systemd-cgroup)")
    plan = make_plan(config, rootfs, state_root=state_root)
    try:
        directory = st.reserve(state_root, container_id)
    except BaseException:
        plan.namespaces.close()
        raise
    manager: Any = None
    init_pid = 0
    parent, child = _socket.socketpair(_socket.AF_UNIX,
                                       _socket.SOCK_SEQPACKET | _socket.SOCK_CLOEXEC)
    try:
        fifo = os.path.join(directory, st.FIFO)
        os.mkfifo(fifo, 0o622)
        os.chmod(fifo, 0o622)  # past the umask: a mapped or non-root init must open it
        plan.fifo_fd = os.open(fifo, os.O_PATH | os.O_CLOEXEC)
        plan.state_dir_fd = os.open(directory, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        plan.preserve_fds = preserve_fds
        if config["process"].get("terminal"):
            if console is not None:  # run's own pty proxy
                plan.console = console
            elif not console_socket:
                raise InvalidConfig("config.json: process.terminal: needs --console-socket")
            else:
                from dockyard.runtime.console import connect_console_socket

                plan.console = connect_console_socket(console_socket)
        from dockyard.runtime.cgroup_glue import default_cgroups_path
        from dockyard.runtime.cgroup_glue import manager as cg_manager

        cgroups_path = default_cgroups_path(config, container_id)
        state = st.ContainerState(
            id=container_id, pid=0, bundle=bundle, rootfs=rootfs,
            created=_now(), start_time=0,
            cgroups_path=cgroups_path, annotations=config.get("annotations") or {},
            hooks=config.get("hooks") or {}, oci_version=config["ociVersion"],
            directory=directory)
        from dockyard.runtime.init import spawn

        mid, init_pid = spawn(plan, parent, child)
        child.close()
        init_pid, manager = serve(plan, parent, mid, state, cg_manager, cgroups_path,
                                  init_pid)
        state.pid = init_pid
        state.start_time = st.process_start_time(init_pid) or 0
        state.save()
        if pid_file:
            write_pid_file(pid_file, init_pid)
        return state
    except BaseException:
        _cleanup(init_pid, manager, directory)
        raise
    finally:
        parent.close()
        child.close()
        plan.namespaces.close()
        for fd in (plan.fifo_fd, plan.state_dir_fd):
            if fd >= 0:
                os.close(fd)
        if plan.console is not None:
            plan.console.close()


def serve(plan: Plan, sock: socket, mid: int, state: st.ContainerState,
          cg_manager: Any, cgroups_path: str, init_pid: int = 0) -> tuple[int, Any]:
    """Answer the intermediate's and the init's messages until the init is ready.

    The cgroup is created and configured here while the children set up their
    namespaces and mounts (the two cores work in parallel); the init only waits for
    ``CGROUP_JOINED`` where it needs to be inside (cgroup mount, cgroup namespace,
    hooks, and in any case before it reports ``READY``)."""
    linux = plan.config.get("linux") or {}
    manager = None
    try:
        manager = cg_manager(cgroups_path, state.id)
        manager.create()
        manager.apply(with_default_devices(linux.get("resources") or {}))
        if init_pid:  # no user namespace: the init can move itself (see _join)
            _join(sock, manager, state, init_pid, linux.get("resources"),
                  self_join=not plan.joining)
        while True:
            kind, payload = recv(sock)
            if kind == Kind.USERNS_READY:
                write_id_maps(payload["pid"], linux)
                _send_or_raise(sock, Kind.MAPS_WRITTEN)
            elif kind == Kind.INIT_PID:
                init_pid = payload["pid"]
                os.waitpid(mid, 0)
                mid = 0
                _join(sock, manager, state, init_pid)
            elif kind == Kind.RUN_HOOKS:
                from dockyard.runtime.hooks import run_hooks

                hook_state = dict(state.to_oci(), status="creating", pid=init_pid)
                run_hooks(plan.hooks, "prestart", hook_state)
                run_hooks(plan.hooks, "createRuntime", hook_state)
                _send_or_raise(sock, Kind.HOOKS_DONE)
            elif kind == Kind.READY:
                return init_pid, manager
            elif kind == Kind.ERROR:
                raise error_from(payload)
    except BaseException:
        sock.close()  # an init still waiting for us sees the end of the socket and exits
        if init_pid:
            _kill(init_pid)
        if manager is not None:
            _remove_cgroup(manager)
        raise
    finally:
        if mid:
            try:
                os.kill(mid, _SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(mid, 0)


def _join(sock: socket, manager: Any, state: st.ContainerState, init_pid: int,
          resources: Any = None, self_join: bool = False) -> None:
    """Put the init into its cgroup and tell it so (with the state hooks will see).

    With ``self_join`` and v1 hierarchies, the init moves itself instead, writing "0"
    to the ``tasks`` files it is sent: unlike a cgroup.procs write, that takes no
    global lock and waits for no RCU grace period (~12 ms). A user-namespaced init
    could not write there; the hybrid layout's unified side is joined here, and only
    when a resource needs it (runc does not join it); ``unjoined`` names it then."""
    files: list[str] = []
    unjoined: list[str] = []
    if self_join and hasattr(manager, "self_join_files"):
        files = manager.self_join_files()
        if hasattr(manager, "needs_v2"):
            if manager.needs_v2(resources):
                manager.add_pid_v2(init_pid)
            else:
                unjoined.append(manager.unified_mount)
    else:
        manager.add_pid(init_pid)
    state.pid = init_pid
    _send_or_raise(sock, Kind.CGROUP_JOINED, join=files, unjoined=unjoined,
                   state=dict(state.to_oci(), status="creating", pid=init_pid))


def _send_or_raise(sock: socket, kind: str, **payload: Any) -> None:
    """Send, or raise the error the child queued before it went away."""
    try:
        send(sock, kind, **payload)
    except OSError:
        kind, payload = recv(sock)
        raise error_from(payload if kind == Kind.ERROR else
                         {"message": "container init exited during setup"}) from None


# The device nodes every container gets (runc's AllowedDevices): allowed after the
# config's own rules, so that /dev/null and friends work under a deny-all rule.
_DEFAULT_DEVICE_RULES = [
    {"allow": True, "type": t, "major": ma, "minor": mi, "access": "rwm"}
    for t, ma, mi in (("c", 1, 3), ("c", 1, 5), ("c", 1, 7), ("c", 1, 8), ("c", 1, 9),
                      ("c", 5, 0), ("c", 5, 1), ("c", 5, 2), ("c", 136, None),
                      ("c", 10, 200))
]


def with_default_devices(resources: dict[str, Any]) -> dict[str, Any]:
    """``resources`` with the default device nodes allowed after its own rules."""
    rules = list(resources.get("devices") or ())
    return dict(resources, devices=rules + [{k: v for k, v in r.items() if v is not None}
                                           for r in _DEFAULT_DEVICE_RULES])


def _kill(pid: int) -> None:
    try:
        os.kill(pid, _SIGKILL)
    except ProcessLookupError:
        return
    wait_gone(pid)


def wait_gone(pid: int, timeout: float = 10.0) -> None:
    """Wait until ``pid`` is dead (reaping it if it is our child)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                return
        except ChildProcessError:
            if st.process_start_time(pid) is None:
                return
        time.sleep(0.002)
    raise SystemFailure(f"process {pid} did not exit")


def _remove_cgroup(manager: Any) -> None:
    try:
        manager.remove()
    except DockyardError:
        pass


def _now() -> str:
    """RFC 3339 UTC with nanoseconds, as runc writes ``created``."""
    ns = time.time_ns()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + f".{ns % 10**9:09d}Z"


def _cleanup(init_pid: int, manager: Any, directory: str) -> None:
    if init_pid:
        _kill(init_pid)
    if manager is not None:
        _remove_cgroup(manager)
    import shutil

    shutil.rmtree(directory, ignore_errors=True)


def write_pid_file(path: str, pid: int) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(str(pid))
    os.rename(tmp, path)
