"""Build the container's filesystem view inside its new mount namespace.

Order, as runc (1.1): give ``/`` (in the new mount namespace) ``rootfsPropagation``, by
default rslave, so nothing leaks back to the host; make the mount holding the rootfs
private if it is still shared; bind the rootfs onto itself, mount the config's mounts
in order, populate ``/dev``, pivot_root, then masked and read-only paths and a
read-only root. Like runc 1.1, the value is not applied again after pivot_root. Every
destination is opened with ``paths.mkdir_in_root`` and mounted through its descriptor.
"""

from __future__ import annotations

import os
import stat

from dockyard.errors import Forbidden, InvalidConfig, SystemFailure
from dockyard.runtime import syscalls as sc
from dockyard.runtime.mounts import MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, parse_options
from dockyard.runtime.paths import fd_path, mkdir_in_root, open_in_root

TYPE_CHECKING = False  # typing itself costs milliseconds per start

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["finish_rootfs", "prepare_rootfs"]

_DEVICES = (("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8),
            ("urandom", 1, 9), ("tty", 5, 0))
_LINKS = (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
          ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"), ("ptmx", "pts/ptmx"))
_PROP = {"private": sc.MS_PRIVATE, "rprivate": sc.MS_PRIVATE | sc.MS_REC,
         "slave": sc.MS_SLAVE, "rslave": sc.MS_SLAVE | sc.MS_REC,
         "shared": sc.MS_SHARED, "rshared": sc.MS_SHARED | sc.MS_REC,
         "unbindable": sc.MS_UNBINDABLE, "runbindable": sc.MS_UNBINDABLE | sc.MS_REC}
_LOCKED = ((os.ST_NOSUID, MS_NOSUID), (os.ST_NODEV, MS_NODEV), (os.ST_NOEXEC, MS_NOEXEC),
           (os.ST_RDONLY, MS_RDONLY))


def _locked_flags(path: str) -> int:
    """Flags a bind remount must keep (the kernel refuses to drop them in a user ns)."""
    f = os.statvfs(path).f_flag
    return sum(ms for st, ms in _LOCKED if f & st and ms != MS_RDONLY)


def _remount_ro(path: str, flags: int = 0) -> None:
    sc.mount(None, path, None, sc.MS_REMOUNT | sc.MS_BIND | MS_RDONLY | flags
             | _locked_flags(path))


def prepare_rootfs(config: dict[str, Any], rootfs: str,
                   cgroup_paths: Callable[[], dict[str, str]], userns: bool) -> None:
    """Everything up to (not including) pivot_root. Runs in the new mount namespace.

    ``cgroup_paths`` is called (it may wait for the runtime) at the first cgroup mount."""
    linux = config.get("linux") or {}
    prop = linux.get("rootfsPropagation") or ""
    if prop and prop not in _PROP:
        raise InvalidConfig(f"config.json: linux.rootfsPropagation: unknown value {prop!r}")
    flags = _PROP[prop] if prop else sc.MS_REC | sc.MS_SLAVE
    sc.mount(None, "/", None, flags)
    if flags & sc.MS_REC == 0 or flags & sc.MS_SHARED:
        _parent_private(rootfs)  # after rslave or rprivate, nothing is shared any more
    sc.mount(rootfs, rootfs, None, sc.MS_BIND | sc.MS_REC)
    root_fd = os.open(rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        dev_bound = False
        for i, m in enumerate(config.get("mounts") or ()):
            field = f"mounts[{i}]"
            if m.get("destination") in ("/dev", "/dev/") and _is_bind(m):
                dev_bound = True
            _mount_one(root_fd, m, field, cgroup_paths, userns)
        if not dev_bound:
            _populate_dev(root_fd, linux.get("devices") or (), userns)
    finally:
        os.close(root_fd)


def _parent_private(rootfs: str) -> None:
    """Make the mount holding ``rootfs`` private if it is shared (as runc does): the
    rootfs bound from it then propagates nothing back, and pivot_root accepts it."""
    best, shared = "", False
    with open("/proc/self/mountinfo", "rb") as f:
        for raw in f:
            fields = raw.split()
            point = _unescape(fields[4])
            if (rootfs == point or rootfs.startswith(point.rstrip("/") + "/")) \
                    and len(point) >= len(best):
                best = point
                shared = any(w.startswith(b"shared:") for w in fields[6:fields.index(b"-")])
    if shared:
        sc.mount(None, best, None, sc.MS_PRIVATE)


def _unescape(field: bytes) -> str:
    """A mountinfo path: octal escapes (``\\040`` for a space) decoded."""
    if b"\\" not in field:
        return os.fsdecode(field)
    out = bytearray()
    i = 0
    while i < len(field):
        if field[i:i + 1] == b"\\" and field[i + 1:i + 4].isdigit():
            out.append(int(field[i + 1:i + 4], 8))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return os.fsdecode(bytes(out))


def _is_bind(m: dict[str, Any]) -> bool:
    opts = m.get("options") or ()
    return m.get("type") == "bind" or "bind" in opts or "rbind" in opts


def _mount_one(root_fd: int, m: dict[str, Any], field: str,
               cgroup_paths: Callable[[], dict[str, str]], userns: bool) -> None:
    dest = m["destination"]
    opts = parse_options(list(m.get("options") or ()), f"{field}.options")
    kind = m.get("type") or ("bind" if opts.bind else "")
    source = m.get("source") or kind
    if opts.bind:
        try:
            is_dir = stat.S_ISDIR(os.stat(source).st_mode)
        except OSError as exc:
            raise InvalidConfig(f"config.json: {field}.source: {source}: {exc.strerror}") from None
    else:
        is_dir = True
    try:
        fd = mkdir_in_root(root_fd, dest, file=not is_dir)
    except OSError as exc:
        raise Forbidden(f"config.json: {field}.destination: {dest}: {exc.strerror}") from None
    try:
        if kind == "cgroup":
            _mount_cgroup(fd, opts.flags, cgroup_paths())
        else:
            sc.mount(source, fd_path(fd), None if opts.bind else kind, opts.flags,
                     None if opts.bind else (opts.data or None))
        if (opts.bind and opts.remount_flags) or opts.propagation:
            # The old descriptor names the directory under the new mount: reopen.
            os.close(fd)
            fd = open_in_root(root_fd, dest)
            target = fd_path(fd)
            if opts.bind and opts.remount_flags:
                sc.mount(None, target, None, sc.MS_REMOUNT | sc.MS_BIND | opts.remount_flags
                         | _locked_flags(target))
                if opts.recursive and opts.flags & MS_RDONLY:
                    _rdonly_below(fd)
            for p in opts.propagation:
                sc.mount(None, target, None, p)
    except OSError as exc:
        raise SystemFailure(f"mount {dest} ({kind}): {exc.strerror}") from None
    finally:
        os.close(fd)


def _rdonly_below(fd: int) -> None:
    """Make the mounts under a read-only rbind read-only too, where the kernel can
    (mount_setattr, Linux 5.12); older kernels keep only the top one read-only."""
    import errno

    try:
        sc.mount_setattr_rdonly(fd)
    except OSError as exc:
        if exc.errno not in (errno.ENOSYS, errno.EPERM):
            raise


def _mount_cgroup(fd: int, flags: int, cgroup_paths: dict[str, str]) -> None:
    """Show the container its own cgroups: bind each hierarchy's container dir.

    ``cgroup_paths`` maps a host mount point (``/sys/fs/cgroup/memory``, or
    ``/sys/fs/cgroup`` alone on v2) to the container's path inside it. ``fd`` names
    the destination before anything is mounted on it."""
    ro = flags & MS_RDONLY
    keep = flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC)
    if list(cgroup_paths) == ["/sys/fs/cgroup"]:
        sc.mount("/sys/fs/cgroup" + cgroup_paths["/sys/fs/cgroup"], fd_path(fd), None,
                 sc.MS_BIND | sc.MS_REC)
        if ro:
            top = _reopen_top(fd)
            try:
                _remount_ro(fd_path(top), keep)
            finally:
                os.close(top)
        return
    sc.mount("tmpfs", fd_path(fd), "tmpfs", keep, "mode=755")
    top = _reopen_top(fd)
    try:
        for mnt, path in sorted(cgroup_paths.items()):
            name = os.path.basename(mnt)
            os.mkdir(name, 0o755, dir_fd=top)
            sub = os.open(name, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                          dir_fd=top)
            try:
                sc.mount(mnt + path, fd_path(sub), None, sc.MS_BIND | sc.MS_REC)
            finally:
                os.close(sub)
            if ro:
                sub = os.open(name, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                              dir_fd=top)
                try:
                    _remount_ro(fd_path(sub), keep)
                finally:
                    os.close(sub)
            for alias in name.split(",") if "," in name else ():
                os.symlink(name, alias, dir_fd=top)
        if ro:
            sc.mount(None, fd_path(top), None, sc.MS_REMOUNT | MS_RDONLY | keep, "mode=755")
    finally:
        os.close(top)


def _reopen_top(fd: int) -> int:
    """A descriptor of what is now mounted on the directory ``fd`` names."""
    parent = os.open(f"{fd_path(fd)}/..", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        name = os.readlink(fd_path(fd)).rstrip("/").rpartition("/")[2]
        return os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                       dir_fd=parent)
    finally:
        os.close(parent)


def _populate_dev(root_fd: int, devices: Any, userns: bool) -> None:
    dev = mkdir_in_root(root_fd, "/dev")
    try:
        dfd = os.open(fd_path(dev), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    finally:
        os.close(dev)
    try:
        old = os.umask(0)
        try:
            for name, major, minor in _DEVICES:
                _make_device(dfd, name, stat.S_IFCHR | 0o666, major, minor, userns)
            for d in devices:
                path = d["path"]
                if not path.startswith("/dev/") or ".." in path.split("/"):
                    raise Forbidden(f"config.json: linux.devices: {path}: must be under /dev")
                kind = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK,
                        "p": stat.S_IFIFO}[d["type"]]
                _make_device(dfd, path[5:], kind | (d.get("fileMode") or 0o666),
                             d.get("major", 0), d.get("minor", 0), userns,
                             d.get("uid"), d.get("gid"))
        finally:
            os.umask(old)
        for name, target in _LINKS:
            try:
                os.symlink(target, name, dir_fd=dfd)
            except FileExistsError:
                pass
    finally:
        os.close(dfd)


def _make_device(dfd: int, name: str, mode: int, major: int, minor: int, userns: bool,
                 uid: int | None = None, gid: int | None = None) -> None:
    if "/" in name:
        parent, _, name = name.rpartition("/")
        os.makedirs(f"{fd_path(dfd)}/{parent}", exist_ok=True)
        sub = os.open(f"{fd_path(dfd)}/{parent}", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            return _make_device(sub, name, mode, major, minor, userns, uid, gid)
        finally:
            os.close(sub)
    try:
        os.unlink(name, dir_fd=dfd)
    except FileNotFoundError:
        pass
    if userns:  # mknod is not allowed in a user namespace: bind the host's node.
        os.close(os.open(name, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644, dir_fd=dfd))
        host = f"/dev/{name}"
        fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dfd)
        try:
            sc.mount(host, fd_path(fd), None, sc.MS_BIND)
        finally:
            os.close(fd)
        return
    os.mknod(name, mode, os.makedev(major, minor), dir_fd=dfd)
    if uid is not None or gid is not None:
        os.chown(name, uid if uid is not None else -1, gid if gid is not None else -1,
                 dir_fd=dfd, follow_symlinks=False)


def pivot(rootfs: str) -> None:
    """pivot_root into ``rootfs`` and drop the old root (runc's ``pivot_root(".", ".")``)."""
    old = os.open("/", os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.chdir(rootfs)
        sc.pivot_root(".", ".")
        # The old root is stacked on the new one; "." must name it, not the new root,
        # or the rslave below lands on the container's mounts (and the old root's
        # shared mounts would propagate the detach to their peers on the host).
        os.fchdir(old)
    finally:
        os.close(old)
    sc.mount(None, ".", None, sc.MS_SLAVE | sc.MS_REC)
    sc.umount2(".", sc.MNT_DETACH)
    os.chdir("/")


def finish_rootfs(config: dict[str, Any]) -> None:
    """After pivot_root: sysctls, masked and read-only paths, read-only root."""
    linux = config.get("linux") or {}
    for key, value in (linux.get("sysctl") or {}).items():
        path = "/proc/sys/" + key.replace(".", "/")
        if ".." in key.split("."):
            raise Forbidden(f"config.json: linux.sysctl: {key}: bad name")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as exc:
            raise SystemFailure(f"config.json: linux.sysctl.{key}: {exc.strerror}") from None
        try:
            # A mount over /proc/sys could redirect the write anywhere: procfs only.
            if sc.fs_type(fd) != sc.PROC_SUPER_MAGIC:
                raise Forbidden(f"config.json: linux.sysctl.{key}: {path} is not on procfs")
            os.write(fd, value.encode())
        except OSError as exc:
            raise SystemFailure(f"config.json: linux.sysctl.{key}: {exc.strerror}") from None
        finally:
            os.close(fd)
    root_fd = os.open("/", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for path in linux.get("readonlyPaths") or ():
            _readonly(root_fd, path)
        masked = linux.get("maskedPaths") or ()
        if masked:
            _mask(root_fd, masked)
    finally:
        os.close(root_fd)
    if (config.get("root") or {}).get("readonly"):
        _remount_ro("/")


def _readonly(root_fd: int, path: str) -> None:
    try:
        fd = open_in_root(root_fd, path)
    except FileNotFoundError:
        return
    try:
        sc.mount(fd_path(fd), fd_path(fd), None, sc.MS_BIND | sc.MS_REC)
    finally:
        os.close(fd)
    fd = open_in_root(root_fd, path)
    try:
        _remount_ro(fd_path(fd), MS_NOSUID | MS_NODEV | MS_NOEXEC)
    finally:
        os.close(fd)


def _mask(root_fd: int, paths: Any) -> None:
    # /dev/null could have been replaced by a symlink or another node from inside:
    # check that it is the real character device before binding it anywhere.
    null = os.open("/dev/null", os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        st = os.fstat(null)
        if not stat.S_ISCHR(st.st_mode) or st.st_rdev != os.makedev(1, 3):
            raise Forbidden("/dev/null in the container is not the null device")
        for path in paths:
            try:
                fd = open_in_root(root_fd, path)
            except (FileNotFoundError, NotADirectoryError):
                continue
            try:
                if stat.S_ISDIR(os.fstat(fd).st_mode):
                    sc.mount("tmpfs", fd_path(fd), "tmpfs", MS_RDONLY, None)
                else:
                    sc.mount(fd_path(null), fd_path(fd), None, sc.MS_BIND)
            finally:
                os.close(fd)
    finally:
        os.close(null)
