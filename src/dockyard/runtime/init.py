"""The container side of ``create``: runs in the forked child and ends in exec.

The intermediate process enters the user and pid namespaces and forks the init (PID 1
of a new pid namespace); the init unshares the rest, asks the runtime to put it into
its cgroup and run the runtime hooks, builds the rootfs, pivots, sets up the process
and reports ``READY``. It then blocks opening ``exec.fifo`` for writing until
``start`` opens it for reading, and execs. It stays non-dumpable until the exec, so
nothing in the container can reach the runtime's own executable or memory through
/proc (CVE-2019-5736).
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # signal's C half: no enum
import os
import sys

from dockyard.errors import CommandNotFound, ExecFailed, Forbidden, SystemFailure
from dockyard.runtime import syscalls as sc
from dockyard.runtime.messages import Kind, recv, send, send_error
from dockyard.runtime.namespaces import FLAGS, ORDER

TYPE_CHECKING = False  # typing itself costs milliseconds per start

if TYPE_CHECKING:
    from _socket import socket
    from typing import Any

    from dockyard.runtime.container_create import Plan

__all__ = ["intermediate_main", "spawn"]

_PR_SET_DUMPABLE = 4
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_PDEATHSIG = 1


def spawn(plan: Plan, parent: socket, child: socket) -> tuple[int, int]:
    """Fork the container's process; (intermediate pid, init pid), one of them 0.

    Without a user namespace the runtime itself enters the pid namespace for its
    children (unshare or setns), forks the init directly, and returns to its own pid
    namespace for later children. With one, an intermediate process is needed: the
    user namespace must exist (with its maps) before the pid namespace it will own."""
    ns = plan.namespaces
    if ns.wants("user"):
        mid = os.fork()
        if mid == 0:
            parent.close()
            intermediate_main(plan, child)
        return mid, 0
    own = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    mount = None
    try:
        if plan.joining and "mount" in ns.join:
            from dockyard.runtime.namespaces import enter_mount

            _import_needed(plan)  # the child's imports would resolve in the container
            mount = enter_mount(ns.join["mount"])
        if "pid" in ns.join:
            sc.setns(ns.join["pid"], sc.CLONE_NEWPID)
        elif "pid" in ns.kinds:
            sc.unshare(sc.CLONE_NEWPID)
        pid = os.fork()
        if pid == 0:
            parent.close()
            if mount is not None:  # born in the container's mount namespace and root
                for fd in (*mount, own, ns.join.pop("mount")):
                    os.close(fd)
                plan.rootfs = "/"
            try:
                sc.prctl(_PR_SET_DUMPABLE, 0)
                _preload(plan)
            except BaseException as exc:
                _report(child, exc)
                os._exit(1)
            _init_main(plan, child)
        return 0, pid
    finally:  # (the child never gets here: it ends in exec or _exit)
        sc.setns(own, sc.CLONE_NEWPID)  # our next children are in our own pid namespace
        os.close(own)
        if mount is not None:
            from dockyard.runtime.namespaces import leave_mount

            leave_mount(mount)


def intermediate_main(plan: Plan, sock: socket) -> None:
    """First child: user namespace (with the parent writing the maps), pid namespace,
    then fork the init and report its pid. Never returns."""
    try:
        sc.prctl(_PR_SET_DUMPABLE, 0)
        _preload(plan)
        ns = plan.namespaces
        if "user" in ns.join:
            sc.setns(ns.join["user"], sc.CLONE_NEWUSER)
        elif "user" in ns.kinds:
            sc.unshare(sc.CLONE_NEWUSER)
            send(sock, Kind.USERNS_READY, pid=os.getpid())
            kind, _ = recv(sock)
            if kind != Kind.MAPS_WRITTEN:
                os._exit(1)
        if ns.wants("user"):
            os.setresgid(0, 0, 0)
            os.setresuid(0, 0, 0)
        if "pid" in ns.join:
            sc.setns(ns.join["pid"], sc.CLONE_NEWPID)
        elif "pid" in ns.kinds:
            sc.unshare(sc.CLONE_NEWPID)
        pid = os.fork()
        if pid == 0:
            _init_main(plan, sock)
        send(sock, Kind.INIT_PID, pid=pid)
        os._exit(0)
    except BaseException as exc:  # report anything: the parent turns it into its error
        _report(sock, exc)
        os._exit(1)


def _preload(plan: Plan) -> None:
    """Import now everything the init may need later, then forbid further imports.

    After pivot_root (or setns into the container's mount namespace) every path on
    ``sys.path`` resolves inside the container: an import there would fail, or run
    Python code the container planted under the same path, as root."""
    _import_needed(plan)
    sys.path[:] = []
    sys.path_importer_cache.clear()


def _import_needed(plan: Plan) -> None:
    import dockyard.runtime.capabilities
    import dockyard.runtime.paths
    import dockyard.runtime.rootfs

    if plan.process.get("terminal"):
        import dockyard.runtime.console
    if plan.hooks.get("createContainer") or plan.hooks.get("startContainer"):
        import dockyard.runtime.hooks  # only those two run in the init
    if plan.confine_writes:
        import dockyard.runtime.landlock
    if plan.rlimits:
        import dockyard.runtime.rlimits
    if plan.seccomp is not None:
        import dockyard.runtime.seccomp
    if any(m.get("type") == "cgroup" for m in plan.config.get("mounts") or ()):
        import dockyard.runtime.cgroup_glue  # noqa: F401


def _report(sock: socket, exc: BaseException) -> None:
    try:
        if isinstance(exc, OSError):
            exc = SystemFailure(f"{exc.filename or 'init'}: {(exc.strerror or '').lower()}")
        send_error(sock, exc)
    except OSError:
        pass


def _init_main(plan: Plan, sock: socket) -> None:
    try:
        path = _join_setup(plan, sock) if plan.joining else _setup(plan, sock)
        send(sock, Kind.READY)
        sock.close()
    except BaseException as exc:
        _report(sock, exc)
        os._exit(1)
    if plan.joining:
        try:
            _reset_signals()
            os.execve(path, plan.process["args"], plan.env)
        except OSError as exc:
            sys.stderr.write(f"dockyard-runtime: exec {path}: {exc.strerror}\n")
            os._exit(127 if isinstance(exc, FileNotFoundError) else 126)
    try:
        _wait_for_start(plan)
        if plan.hooks.get("startContainer"):
            from dockyard.runtime.hooks import run_hooks

            run_hooks(plan.hooks, "startContainer", plan.state_for_hooks)
        proc = plan.process
        _reset_signals()
        os.execve(path, proc["args"], plan.env)
    except BaseException as exc:
        sys.stderr.write(f"dockyard-runtime: exec {plan.process['args'][0]}: {exc}\n")
        os._exit(127 if isinstance(exc, FileNotFoundError) else 126)


# Every catchable signal but glibc's internal 32 and 33.
_CATCHABLE = tuple(n for n in range(1, _signal.NSIG) if n not in (9, 19, 32, 33))


def _reset_signals() -> None:
    """Give the container's process the signal state of a fresh one, as runc does.

    Ignored dispositions and the blocked mask survive execve: whatever the caller of the
    runtime ignored or blocked (Python ignores SIGPIPE and SIGXFSZ; a monitor or
    ``nohup`` ignores SIGTERM or SIGHUP) would otherwise reach PID 1, whose
    ``trap ... TERM`` then never runs."""
    for n in _CATCHABLE:
        try:
            _signal.signal(n, _signal.SIG_DFL)
        except (OSError, ValueError):
            pass
    _signal.pthread_sigmask(_signal.SIG_SETMASK, ())


def _setup(plan: Plan, sock: socket) -> str:
    config = plan.config
    linux = config.get("linux") or {}
    ns = plan.namespaces
    for kind in ORDER:
        if kind in ns.join and kind not in ("user", "pid", "cgroup"):
            sc.setns(ns.join[kind], FLAGS[kind])
    sc.unshare(ns.unshare_flags(("ipc", "uts", "network", "mount")))
    if "oomScoreAdj" in plan.process:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(str(plan.process["oomScoreAdj"]))
    if "hostname" in config or "domainname" in config:
        if not ns.wants("uts"):
            raise Forbidden("config.json: hostname: needs a uts namespace")
        if config.get("hostname"):
            sc.sethostname(config["hostname"])
        if config.get("domainname"):
            sc.setdomainname(config["domainname"])
    from dockyard.runtime.rootfs import finish_rootfs, pivot, prepare_rootfs

    def cgroup_paths() -> dict[str, str]:
        from dockyard.runtime.cgroup_glue import container_cgroup_paths

        _wait_cgroup(plan, sock)
        return {mnt: path for mnt, path in container_cgroup_paths().items()
                if mnt not in plan.cgroups_unjoined}

    prepare_rootfs(config, plan.rootfs, cgroup_paths, ns.wants("user"))
    _wait_cgroup(plan, sock)
    if "cgroup" in ns.join:
        sc.setns(ns.join["cgroup"], sc.CLONE_NEWCGROUP)
    elif "cgroup" in ns.kinds:
        sc.unshare(sc.CLONE_NEWCGROUP)
    hooks = plan.hooks
    if hooks.get("prestart") or hooks.get("createRuntime"):
        send(sock, Kind.RUN_HOOKS)
        kind, _ = recv(sock)
        if kind != Kind.HOOKS_DONE:
            os._exit(1)
    if hooks.get("createContainer"):
        from dockyard.runtime.hooks import run_hooks

        run_hooks(hooks, "createContainer", plan.state_for_hooks)
    pivot(plan.rootfs)
    finish_rootfs(config)
    proc = plan.process
    if proc.get("terminal"):
        _terminal(plan)
    path = _find_executable(proc["args"][0], plan.env)
    _confine(plan, linux)
    return path


def _wait_cgroup(plan: Plan, sock: socket) -> None:
    """Block until the runtime has put this process into the container's cgroup."""
    if plan.state_for_hooks:
        return
    kind, payload = recv(sock)
    if kind != Kind.CGROUP_JOINED:
        os._exit(1)
    for path in payload.get("join") or ():  # see container_create._join
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, b"0")
        finally:
            os.close(fd)
    plan.cgroups_unjoined = payload.get("unjoined") or []
    plan.state_for_hooks = payload["state"]


def _join_setup(plan: Plan, sock: socket) -> str:
    """``exec``: enter a running container's namespaces and cgroup, then confine."""
    ns = plan.namespaces
    for kind in ORDER:
        if kind in ns.join and kind not in ("user", "pid", "cgroup", "mount"):
            sc.setns(ns.join[kind], FLAGS[kind])
    _wait_cgroup(plan, sock)
    if "cgroup" in ns.join:
        sc.setns(ns.join["cgroup"], sc.CLONE_NEWCGROUP)
    if "mount" in ns.join:
        sc.setns(ns.join["mount"], sc.CLONE_NEWNS)
    elif plan.rootfs != "/":
        os.chroot(plan.rootfs)
    os.chdir("/")
    if plan.process.get("terminal"):
        _terminal(plan)
    path = _find_executable(plan.process["args"][0], plan.env)
    _confine(plan, plan.config.get("linux") or {})
    return path


def _terminal(plan: Plan) -> None:
    from dockyard.runtime.console import open_pty, send_master, take_terminal

    if plan.console is None:
        raise SystemFailure("process.terminal is set but no --console-socket was given")
    master, slave = open_pty()
    send_master(plan.console, master, slave)
    plan.console.close()
    os.close(master)
    take_terminal(slave)


def _find_executable(name: str, env: dict[str, str]) -> str:
    """Look ``name`` up in the container (now ``/``) the way execvp would."""
    if "/" in name:
        candidates = [name]
    else:
        search = env.get("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        candidates = [os.path.join(d or ".", name) for d in search.split(":")]
    for path in candidates:
        if os.path.isfile(path):
            if not os.access(path, os.X_OK):
                raise ExecFailed(f"exec: {name}: permission denied")
            return path
    if "/" in name:
        raise CommandNotFound(f"exec: {name}: no such file or directory")
    raise CommandNotFound(f"exec: {name}: executable file not found in $PATH")


def _confine(plan: Plan, linux: dict[str, Any]) -> None:
    """Landlock, rlimits, user, capabilities, no_new_privs, seccomp, cwd, umask,
    descriptors."""
    proc = plan.process
    user = proc.get("user") or {}
    if plan.confine_writes:
        _confine_writes(plan)
    if plan.rlimits:
        from dockyard.runtime.rlimits import apply_rlimits

        apply_rlimits(plan.rlimits)
    nnp = bool(proc.get("noNewPrivileges"))
    if plan.seccomp is not None and not nnp:
        _load_seccomp(plan)  # needs CAP_SYS_ADMIN without no_new_privs: before dropping

    def switch_user() -> None:
        uid, gid = user.get("uid", 0), user.get("gid", 0)
        groups = list(user.get("additionalGids") or ())
        os.setgroups(groups)
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)

    from dockyard.runtime.capabilities import apply_process_capabilities

    apply_process_capabilities(proc.get("capabilities"), switch_user)
    if nnp:
        sc.prctl(_PR_SET_NO_NEW_PRIVS, 1)
    if "umask" in proc:
        os.umask(proc["umask"])
    from dockyard.runtime.paths import open_in_root

    root = os.open("/", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        cwd = open_in_root(root, proc["cwd"], os.O_PATH | os.O_DIRECTORY)
    except OSError as exc:
        raise Forbidden(f"config.json: process.cwd: {proc['cwd']}: "
                        f"{(exc.strerror or '').lower()}") from None
    finally:
        os.close(root)
    os.fchdir(cwd)
    os.close(cwd)
    _close_descriptors(plan.preserve_fds)
    if plan.seccomp is not None and nnp:
        _load_seccomp(plan)


def _confine_writes(plan: Plan) -> None:
    """Writes only beneath the container's root (now ``/``), its stdio and preserved
    descriptors, and exec.fifo, which the init still opens for writing."""
    from dockyard.runtime.landlock import confine_writes

    fds = list(range(3 + plan.preserve_fds))
    if plan.fifo_fd >= 0:
        fds.append(plan.fifo_fd)
    root = os.open("/", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        confine_writes(root, fds)
    finally:
        os.close(root)


def _load_seccomp(plan: Plan) -> None:
    from dockyard.runtime.seccomp import load_filter

    assert plan.seccomp is not None
    load_filter(plan.seccomp, plan.seccomp_flags)


def _close_descriptors(preserve: int) -> None:
    """Mark every descriptor past 0-2 and the preserved ones close-on-exec."""
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        fds = list(range(3, 1024))
    for fd in fds:
        if fd < 3 + preserve:
            continue
        try:
            os.set_inheritable(fd, False)
        except OSError:
            pass


def _wait_for_start(plan: Plan) -> None:
    """Block until ``start`` opens exec.fifo for reading, then tell it we go."""
    try:
        fd = os.open(f"/proc/self/fd/{plan.fifo_fd}", os.O_WRONLY | os.O_CLOEXEC)
    except FileNotFoundError:  # no /proc in the container: reach it from the state dir
        fd = os.open("exec.fifo", os.O_WRONLY | os.O_CLOEXEC, dir_fd=plan.state_dir_fd)
    try:
        os.write(fd, b"0")
    finally:
        os.close(fd)
    os.close(plan.fifo_fd)
