"""Tar streams in and out of a directory descriptor, never leaving it.

:func:`write_tar` archives a file or tree reached through descriptors only (``os.fwalk``
with ``follow_symlinks=False``; files opened ``O_NOFOLLOW`` relative to their directory),
so a symlink inside can never pull host files in. :func:`extract_tar` writes a tar into a
directory descriptor: every entry's parent is opened with ``openat2(RESOLVE_BENEATH |
RESOLVE_NO_SYMLINKS)``, so neither ``../`` names, absolute names nor symlinks (the tar's
own, or ones swapped in by a running container meanwhile) lead out of it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
import stat
import tarfile
from collections.abc import Callable
from typing import IO

from dockyard.errors import Forbidden, InvalidArgument
from dockyard.runtime.syscalls import RESOLVE_NO_MAGICLINKS, fs_type, openat2

__all__ = ["clean_name", "extract_tar", "write_tar"]

RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08
_BENEATH = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS
# Kernel filesystems a running container has mounted (proc, sysfs, cgroup, cgroup2,
# devpts, mqueue): archived as empty directories, as ``docker cp`` of ``/`` shows them.
_PSEUDO_FS = frozenset({0x9FA0, 0x62656572, 0x27E0EB, 0x63677270, 0x1CD1, 0x19800202})


def clean_name(name: str) -> str:
    """A tar entry's name relative to the target; ``..`` leading out is refused."""
    norm = posixpath.normpath("/" + name).lstrip("/")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    depth = 0
    for p in parts:
        depth = depth - 1 if p == ".." else depth + 1
        if depth < 0:
            raise Forbidden(f"tar entry {name}: path escapes the target directory")
    return norm if norm not in ("", ".") else "."


# -- writing -----------------------------------------------------------------------------
def _info(name: str, st: os.stat_result, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mode = stat.S_IMODE(st.st_mode)
    info.uid, info.gid = st.st_uid, st.st_gid
    info.mtime = int(st.st_mtime)
    if stat.S_ISDIR(st.st_mode):
        info.type = tarfile.DIRTYPE
    elif stat.S_ISLNK(st.st_mode):
        info.type, info.linkname = tarfile.SYMTYPE, link
    elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        info.type = tarfile.CHRTYPE if stat.S_ISCHR(st.st_mode) else tarfile.BLKTYPE
        info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
    elif stat.S_ISFIFO(st.st_mode):
        info.type = tarfile.FIFOTYPE
    else:
        info.type, info.size = tarfile.REGTYPE, st.st_size
    return info


class _Writer:
    def __init__(self, out: IO[bytes]) -> None:
        self.tar = tarfile.open(fileobj=out, mode="w|",  # noqa: SIM115 - closed by write_tar
                                format=tarfile.PAX_FORMAT)
        self.links: dict[tuple[int, int], str] = {}

    def add(self, dir_fd: int, name: str, arcname: str) -> os.stat_result:
        st = os.lstat(name, dir_fd=dir_fd)
        key = (st.st_dev, st.st_ino)
        if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
            if key in self.links:
                info = _info(arcname, st)
                info.type, info.linkname, info.size = tarfile.LNKTYPE, self.links[key], 0
                self.tar.addfile(info)
                return st
            self.links[key] = arcname
        link = os.readlink(name, dir_fd=dir_fd) if stat.S_ISLNK(st.st_mode) else ""
        info = _info(arcname, st, link)
        if info.type != tarfile.REGTYPE:
            self.tar.addfile(info)
            return st
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
        with os.fdopen(fd, "rb") as f:
            if os.fstat(f.fileno()).st_size != st.st_size:  # changed under us: take it now
                info.size = os.fstat(f.fileno()).st_size
            self.tar.addfile(info, f)
        return st


def write_tar(parent_fd: int, name: str, arcname: str, out: IO[bytes],
              contents_only: bool = False) -> None:
    """Archive ``name`` (in the directory ``parent_fd``) as ``arcname``; with
    ``contents_only`` a directory's entries go at the top (docker's ``SRC/.``)."""
    w = _Writer(out)
    try:
        _write_tree(w, parent_fd, name, arcname, contents_only)
    except BaseException:
        # A half-written archive (the reader went away, say) must not be finished
        # later by the stream's finaliser: mark it closed without writing.
        w.tar.closed = True  # type: ignore[attr-defined]
        w.tar.fileobj.closed = True  # type: ignore[attr-defined]
        raise
    w.tar.close()


def _write_tree(w: _Writer, parent_fd: int, name: str, arcname: str,
                contents_only: bool) -> None:
    st = os.lstat(name, dir_fd=parent_fd)
    if not stat.S_ISDIR(st.st_mode):
        w.add(parent_fd, name, arcname)
        return
    if not contents_only:
        w.add(parent_fd, name, arcname)
    top = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                  dir_fd=parent_fd)
    try:
        for dirpath, dirnames, filenames, dfd in os.fwalk(".", dir_fd=top,
                                                            follow_symlinks=False):
            if fs_type(dfd) in _PSEUDO_FS:
                dirnames.clear()
                continue
            dirnames.sort()
            base = "" if contents_only else arcname
            for entry in sorted(dirnames + filenames):
                rel = posixpath.normpath(posixpath.join(dirpath, entry))
                with contextlib.suppress(FileNotFoundError):  # gone meanwhile
                    w.add(dfd, entry, posixpath.join(base, rel) if base else rel)
    finally:
        os.close(top)


# -- extracting ----------------------------------------------------------------------------
class _Parents:
    """The last parent directory opened, kept while entries go into it (tars list a
    directory's entries together). A kept descriptor stays the directory that was
    checked, wherever it is moved meanwhile: never a path looked up again."""

    def __init__(self, root_fd: int) -> None:
        self.root_fd = root_fd
        self.rel = ""
        self.fd = -1

    def get(self, rel: str) -> int:
        if rel != self.rel or self.fd < 0:
            self.close()
            self.fd = _open_dir(self.root_fd, rel, create=True)
            self.rel = rel
        return self.fd

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
        self.fd = -1


def _open_dir(root_fd: int, rel: str, create: bool) -> int:
    """An O_PATH descriptor of directory ``rel`` beneath ``root_fd``, no symlinks."""
    if rel in ("", "."):
        return os.dup(root_fd)
    try:
        return openat2(root_fd, rel, os.O_PATH | os.O_DIRECTORY, 0, _BENEATH)
    except FileNotFoundError:
        if not create:
            raise
    parent = _open_dir(root_fd, posixpath.dirname(rel), create)
    try:
        with contextlib.suppress(FileExistsError):
            os.mkdir(posixpath.basename(rel), 0o755, dir_fd=parent)
    finally:
        os.close(parent)
    return openat2(root_fd, rel, os.O_PATH | os.O_DIRECTORY, 0, _BENEATH)


def _remove(parent: int, name: str, keep_dir: bool) -> None:
    try:
        st = os.lstat(name, dir_fd=parent)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        if keep_dir:
            return
        raise InvalidArgument(f"cannot overwrite directory {name} with a non-directory")
    os.unlink(name, dir_fd=parent)


Target = tuple[int, "tuple[str, str] | None"]


def extract_tar(stream: IO[bytes], root_fd: int, rename_top: tuple[str, str] | None = None,
                owners: bool = True,
                choose: Callable[[tarfile.TarInfo], Target] | None = None) -> None:
    """Write the tar ``stream`` into the directory ``root_fd``; ``rename_top`` = (old,
    new) renames the archive's top entry (docker's copy to a new name). With ``choose``,
    the first entry decides both (``root_fd`` is then ignored): a streamed ``cp`` only
    learns whether it copies a file or a directory from the archive itself."""
    try:
        tar = tarfile.open(fileobj=stream, mode="r|*")  # noqa: SIM115 - a stream
    except tarfile.TarError as err:
        raise InvalidArgument(f"reading the archive: {err}") from None
    dirs: list[tuple[str, tarfile.TarInfo]] = []
    parents = _Parents(root_fd)

    def renamed(name: str) -> str:
        name = clean_name(name)
        if rename_top is not None:
            old, new = rename_top
            if name == old or name.startswith(old + "/"):
                name = posixpath.normpath(new + name[len(old):])
        return name

    try:
        for member in tar:
            if choose is not None:
                root_fd, rename_top = choose(member)
                parents = _Parents(root_fd)
                choose = None
            name = renamed(member.name)
            if member.islnk():
                member.linkname = renamed(member.linkname)
            if name == ".":
                if member.isdir():
                    dirs.append((name, member))
                continue
            _extract_one(tar, member, name, root_fd, parents, owners)
            if member.isdir():
                dirs.append((name, member))
        for name, member in reversed(dirs):  # deepest last-created first; mtimes stick
            fd = _open_dir(root_fd, name, create=False)
            try:
                _set_meta(fd, member, owners, is_link=False)
            finally:
                os.close(fd)
    except tarfile.TarError as err:
        raise InvalidArgument(f"reading the archive: {err}") from None
    except OSError as err:
        if err.errno in (errno.ELOOP, errno.EXDEV, errno.ENOTDIR):
            raise Forbidden(f"copying {err.filename or 'an entry'}: the path goes through a "
                            "symlink or leaves the target") from None
        raise
    finally:
        parents.close()


def _set_meta(fd: int, member: tarfile.TarInfo, owners: bool, is_link: bool) -> None:
    path = f"/proc/self/fd/{fd}"
    if owners:
        os.chown(path, member.uid, member.gid)
    if not is_link:
        os.chmod(path, member.mode & 0o7777)
        os.utime(path, (member.mtime, member.mtime))


def _extract_one(tar: tarfile.TarFile, member: tarfile.TarInfo, name: str, root_fd: int,
                 parents: _Parents, owners: bool) -> None:
    parent = parents.get(posixpath.dirname(name))
    base = posixpath.basename(name)
    if member.isdir():
        _remove(parent, base, keep_dir=True)
        with contextlib.suppress(FileExistsError):
            os.mkdir(base, 0o700, dir_fd=parent)
        return  # metadata once all entries are in
    _remove(parent, base, keep_dir=False)
    if member.isreg():
        fd = os.open(base, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                     | os.O_CLOEXEC, 0o600, dir_fd=parent)
        try:
            src = tar.extractfile(member)
            assert src is not None
            while chunk := src.read(1 << 20):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view):]
            if owners:
                os.fchown(fd, member.uid, member.gid)
            os.fchmod(fd, member.mode & 0o7777)
            os.utime(fd, (member.mtime, member.mtime))
        finally:
            os.close(fd)
    elif member.issym():
        os.symlink(member.linkname, base, dir_fd=parent)
        if owners:
            os.chown(base, member.uid, member.gid, dir_fd=parent, follow_symlinks=False)
    elif member.islnk():
        target = clean_name(member.linkname)
        tparent = _open_dir(root_fd, posixpath.dirname(target), create=False)
        try:
            os.link(posixpath.basename(target), base, src_dir_fd=tparent,
                    dst_dir_fd=parent, follow_symlinks=False)
        finally:
            os.close(tparent)
    elif member.ischr() or member.isblk() or member.isfifo():
        kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK if member.isblk() \
            else stat.S_IFIFO
        os.mknod(base, kind | (member.mode & 0o7777),
                 os.makedev(member.devmajor, member.devminor), dir_fd=parent)
        if owners:
            os.chown(base, member.uid, member.gid, dir_fd=parent, follow_symlinks=False)
