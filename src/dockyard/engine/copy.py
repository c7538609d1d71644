"""``cp`` into and out of a container, through the container's own view of its files.

A running container is reached through ``/proc/<pid>/root``: lookups from that
descriptor cross the mounts of the container's mount namespace, so volumes and bind
mounts are written through exactly as the container sees them. A stopped one is
assembled in a forked child's private mount namespace (its root snapshot plus its
volumes and binds), which disappears with the child. Every container path is resolved
with ``openat2(RESOLVE_IN_ROOT)``, so no symlink in the container can steer the copy
onto the host (CVE-2018-15664); archives are read and written by
:mod:`dockyard.volumes.archive`, which never leaves its directory.
"""

from __future__ import annotations

import json
import os
import posixpath
import stat
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from dockyard import errors
from dockyard.errors import DockyardError, InvalidArgument, NotFound, SystemFailure
from dockyard.runtime.syscalls import RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS, openat2
from dockyard.volumes.archive import extract_tar, write_tar
from dockyard.volumes.cpplan import plan

if TYPE_CHECKING:
    from dockyard.engine.lifecycle import Lifecycle

__all__ = ["copy_in", "copy_out", "path_stat"]

_IN_ROOT = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS


def _open(root_fd: int, path: str, follow: bool) -> tuple[int, str]:
    """(descriptor of the parent directory, final name) of ``path`` inside the root;
    with ``follow`` a final symlink is resolved (inside the root) first."""
    path = posixpath.normpath("/" + path.lstrip("/"))  # normpath keeps a leading "//"
    if follow:
        fd = openat2(root_fd, path.lstrip("/") or ".", os.O_PATH, 0, _IN_ROOT)
        try:
            real = os.readlink(f"/proc/self/fd/{fd}")
        finally:
            os.close(fd)
        root_real = os.readlink(f"/proc/self/fd/{root_fd}")
        rel = posixpath.relpath(real, root_real) if root_real != "/" else real
        path = posixpath.normpath("/" + rel)
    if path == "/":
        return os.dup(root_fd), "."
    parent = openat2(root_fd, posixpath.dirname(path).lstrip("/") or ".",
                     os.O_PATH | os.O_DIRECTORY, 0, _IN_ROOT)
    return parent, posixpath.basename(path)


def _stat(parent: int, name: str) -> dict[str, Any]:
    st = os.lstat(name, dir_fd=parent) if name != "." else os.fstat(parent)
    link = os.readlink(name, dir_fd=parent) if stat.S_ISLNK(st.st_mode) else ""
    return {"name": name if name != "." else "/", "size": st.st_size, "mode": st.st_mode,
            "mtime": st.st_mtime, "linkTarget": link, "isDir": stat.S_ISDIR(st.st_mode)}


def _not_found(ref: str, path: str) -> NotFound:
    return NotFound(f"No such container:path: {ref}:{path}")


def path_stat(lc: Lifecycle, ref: str, path: str) -> dict[str, Any]:
    """docker's ContainerPathStat of ``path`` (the link itself for a symlink)."""
    def work(root_fd: int) -> dict[str, Any]:
        parent, name = _open(root_fd, path, follow=False)
        try:
            return _stat(parent, name)
        finally:
            os.close(parent)

    return dict(_guard(lc, ref, path, work, ()))


def copy_out(lc: Lifecycle, ref: str, path: str, out: IO[bytes], follow: bool = False,
             contents_only: bool = False) -> dict[str, Any]:
    """Write ``path`` as a tar (top entry: its base name, or its contents at the top with
    ``contents_only``) to ``out``; returns its path stat."""
    def work(root_fd: int) -> dict[str, Any]:
        parent, name = _open(root_fd, path, follow)
        try:
            info = _stat(parent, name)
            # named as asked for, also when -L followed a link to another name
            base = posixpath.basename(posixpath.normpath("/" + path)) or "."
            write_tar(parent, name, base, out, contents_only and info["isDir"])
            out.flush()
            return info
        finally:
            os.close(parent)

    return dict(_guard(lc, ref, path, work, (out,)))


def copy_in(lc: Lifecycle, ref: str, dest: str, stream: IO[bytes], src_base: str = "",
            src_is_dir: bool = False, contents_only: bool = False,
            owners: bool = False) -> None:
    """Extract the tar ``stream`` at ``dest`` in the container with docker's rules.
    Without ``src_base`` (a tar from ``-``) ``dest`` must be a directory and the archive
    goes into it as it is. ``owners`` keeps the archive's uid/gid (``cp -a``)."""
    def work(root_fd: int) -> None:
        try:
            fd = openat2(root_fd, posixpath.normpath("/" + dest).lstrip("/") or ".",
                         os.O_PATH, 0, _IN_ROOT)
            kind = "dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"
            os.close(fd)
        except FileNotFoundError:
            kind = ""
        if not src_base:
            if kind != "dir":
                raise InvalidArgument(f"destination \"{ref}:{dest}\" must be a directory")
            where, rename = dest, None
        else:
            parent_ok = True
            try:
                os.close(openat2(root_fd, posixpath.dirname(posixpath.normpath("/" + dest))
                                 .lstrip("/") or ".", os.O_PATH | os.O_DIRECTORY, 0,
                                 _IN_ROOT))
            except OSError:
                parent_ok = False
            p = plan(src_base, src_is_dir, contents_only, posixpath.join("/", dest), kind,
                     parent_ok)
            where, rename = p.extract_dir, p.rename
        target = openat2(root_fd, where.lstrip("/") or ".", os.O_PATH | os.O_DIRECTORY, 0,
                         _IN_ROOT)
        try:
            extract_tar(stream, target, rename, owners=owners)
        finally:
            os.close(target)

    _guard(lc, ref, dest, work, (stream,))


def _guard(lc: Lifecycle, ref: str, path: str, work: Callable[[int], Any],
           files: tuple[IO[bytes], ...]) -> Any:
    def guarded(root_fd: int) -> Any:
        try:
            return work(root_fd)
        except FileNotFoundError:
            raise _not_found(ref, path) from None
        except NotADirectoryError:
            raise _not_found(ref, path) from None
        except BrokenPipeError:
            raise  # the reader went away: its own error says why
        except OSError as err:
            raise SystemFailure(f"copying {ref}:{path}: {(err.strerror or str(err)).lower()}"
                                ) from None

    keep = set()
    for f in files:
        try:
            keep.add(f.fileno())
        except (AttributeError, OSError, ValueError):
            pass  # an in-memory file: nothing to keep open
    return _with_root(lc, lc.resolve(ref), guarded, keep)


def _with_root(lc: Lifecycle, cid: str, fn: Callable[[int], Any], keep: set[int]) -> Any:
    state = lc.state(cid)
    if state.get("Running") and state.get("Pid"):
        fd = os.open(f"/proc/{state['Pid']}/root", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            return fn(fd)
        finally:
            os.close(fd)
    return _in_private_namespace(lc, cid, fn, keep)


def _in_private_namespace(lc: Lifecycle, cid: str, fn: Callable[[int], Any],
                          keep: set[int]) -> Any:
    """Run ``fn(root_fd)`` in a child whose private mount namespace holds the stopped
    container's root with its volumes and binds; its result or error comes back.

    The child keeps only stdio, its reply pipe and the files in ``keep``: an inherited
    write end of a pipe it reads (the caller's) would never let it see the end."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        code = 0
        try:
            _close_others({0, 1, 2, w, *keep})
            result = {"ok": fn(_assemble(lc, cid))}
        except BaseException as err:
            kind = type(err).__name__ if isinstance(err, DockyardError | BrokenPipeError) \
                else "SystemFailure"
            result = {"error": kind, "message": str(err) or repr(err)}
            code = 1
        try:
            os.write(w, json.dumps(result).encode())
        finally:
            os._exit(code)
    os.close(w)
    chunks = []
    while chunk := os.read(r, 65536):
        chunks.append(chunk)
    os.close(r)
    os.waitpid(pid, 0)
    try:
        reply = json.loads(b"".join(chunks) or b"{}")
    except ValueError:
        reply = {}
    if "ok" in reply:
        return reply["ok"]
    if reply.get("error") == "BrokenPipeError":
        raise BrokenPipeError(reply.get("message"))
    cls = getattr(errors, str(reply.get("error", "")), SystemFailure)
    if not (isinstance(cls, type) and issubclass(cls, DockyardError)):
        cls = SystemFailure
    raise cls(reply.get("message") or "copy failed in its helper process")


def _close_others(keep: set[int]) -> None:
    low = 0
    for fd in sorted(keep):
        if fd > low:  # closerange(n, n) would close everything from n on (close_range)
            os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 65536)


def _assemble(lc: Lifecycle, cid: str) -> int:
    """In the child: a private mount namespace with the container's root and mounts."""
    from dockyard.engine.mounts import mount_points
    from dockyard.engine.rootfs import StoreImages
    from dockyard.runtime import syscalls as sc
    from dockyard.runtime.paths import fd_path, mkdir_in_root
    from dockyard.volumes import VolumeStore

    sc.unshare(sc.CLONE_NEWNS)
    sc.mount(None, "/", None, sc.MS_REC | sc.MS_PRIVATE)
    record = lc.store.load(cid)
    rootfs = lc.rootfs(cid)
    # a connection to the image store must not cross a fork: open our own
    images = StoreImages(lc.roots) if isinstance(lc.images, StoreImages) else lc.images
    images.mount(cid, rootfs)
    root_fd = os.open(rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    store = VolumeStore(lc.roots)
    points = sorted(mount_points(record),
                    key=lambda m: len([p for p in m.destination.split("/") if p]))
    for mp in points:
        if mp.type == "tmpfs":
            continue
        source = str(store.mountpoint(mp.name)) if mp.type == "volume" else mp.source
        if mp.type == "volume":
            store.mount(mp.name)
        if not os.path.exists(source):
            continue
        fd = mkdir_in_root(root_fd, mp.destination, file=not os.path.isdir(source))
        try:
            sc.mount(source, fd_path(fd), None, sc.MS_BIND | sc.MS_REC)
        finally:
            os.close(fd)
        if not mp.rw:
            fd = openat2(root_fd, mp.destination.lstrip("/"), os.O_PATH, 0, _IN_ROOT)
            try:
                sc.mount(None, fd_path(fd), None, sc.MS_REMOUNT | sc.MS_BIND | sc.MS_RDONLY)
            finally:
                os.close(fd)
    return root_fd
