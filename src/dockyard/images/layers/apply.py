"""Apply a layer tar (plain, gzip or zstd) to a directory, confined to it.

Two outputs: :attr:`Format.DIR` makes ``dest`` the merged tree (whiteouts delete, used
to flatten or export an image); :attr:`Format.OVERLAY` makes ``dest`` an overlay upper
dir (whiteouts become 0:0 character devices, opaque dirs get ``trusted.overlay.opaque``),
so a layer lands in its snapshot without mounting anything.

Who cleans up: on any error ``apply_layer`` raises and leaves ``dest`` half-written;
nothing outside ``dest`` is ever touched. The caller owns ``dest`` and must discard it
(``snapshots.unpack_layer`` removes its active snapshot).
"""

from __future__ import annotations

import enum
import errno
import os
import shutil
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from dockyard.errors import Corrupt, DockyardError, Forbidden, SystemFailure

from .compression import Decompressor, Limits
from .confine import open_beneath
from .fsops import clean_name, clone, listxattr, lstat_at, setxattr_at
from .lowers import OPAQUE_XATTR, Lowers, is_opaque, is_whiteout
from .tarstream import BLOCKDEV, CHAR, DIR, FIFO, HARDLINK, REG, SYMLINK, Entry, read_entries

__all__ = ["AppliedLayer", "Format", "apply_layer"]

WH_PREFIX = ".wh."
WH_OPAQUE = ".wh..wh..opq"
_CHUNK = 1 << 20


class Format(enum.Enum):
    """What ``dest`` becomes: the merged tree, or an overlay upper dir."""

    DIR = "dir"
    OVERLAY = "overlay"


@dataclass(frozen=True)
class AppliedLayer:
    """``diff_id``: sha256 of the uncompressed tar; ``size``: its length in bytes."""

    diff_id: str
    size: int
    compressed_size: int = 0
    compression: str = "tar"
    entries: int = 0


class _Reader(Protocol):
    def read(self, n: int) -> bytes: ...


def _split(rel: str) -> tuple[str, str]:
    head, _, tail = rel.rpartition("/")
    return head, tail


def _mtime_ns(entry: Entry) -> int:
    return int(entry.mtime * 1_000_000_000)


class _Applier:
    def __init__(self, dest: Path, fmt: Format, lowers: Sequence[Path] | None,
                 limits: Limits) -> None:
        self.fmt = fmt
        self.lowers = Lowers(lowers) if lowers is not None else None  # () = nothing below
        self.limits = limits
        try:
            self.root = os.open(dest, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as e:
            raise SystemFailure(f"{dest}: cannot open layer destination: {e.strerror}")
        self.fds: dict[str, int] = {}
        self.written: set[str] = set()
        self.dir_times: dict[str, int] = {}
        self.detached: set[str] = set()  # earlier layers' files given their own inode

    def close(self) -> None:
        self._drop_fds()
        os.close(self.root)

    def _drop_fds(self) -> None:
        for fd in self.fds.values():
            os.close(fd)
        self.fds.clear()

    # -- paths -------------------------------------------------------------------------
    def _dir(self, rel: str, who: str, create: bool) -> int | None:
        """A cached fd of directory ``rel``; missing parents made if ``create``."""
        fd = self.fds.get(rel)
        if fd is not None:
            return fd
        try:
            fd = open_beneath(self.root, rel)
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise Forbidden(f"layer entry {who}: path goes through a symlink")
            if e.errno == errno.EXDEV:
                raise Forbidden(f"layer entry {who}: path escapes the layer root")
            if e.errno not in (errno.ENOENT, errno.ENOTDIR):
                raise
            if not create:
                return None
            fd = self._make_dirs(rel, who)
        self.fds[rel] = fd
        return fd

    def _make_dirs(self, rel: str, who: str) -> int:
        """Create missing directories of ``rel`` one part at a time, never following a
        symlink; a non-directory in the way is replaced as a tar would."""
        fd = os.dup(self.root)
        done = ""
        hidden = self.lowers is None or is_opaque(fd)  # lowers cannot show through
        try:
            for part in rel.split("/"):
                done = f"{done}/{part}" if done else part
                if part.startswith(WH_PREFIX):
                    raise Corrupt(f"layer entry {who}: whiteout name {done} used as a directory")
                st = lstat_at(fd, part)
                if st is not None and stat.S_ISLNK(st.st_mode):
                    raise Forbidden(f"layer entry {who}: path goes through a symlink ({done})")
                if st is None or not stat.S_ISDIR(st.st_mode):
                    if st is not None:
                        os.unlink(part, dir_fd=fd)
                    # Replacing what this layer put there (a file, a whiteout): a new
                    # directory, through which nothing below may show.
                    self._implicit_dir(fd, part, done, who, fresh=st is not None,
                                       hidden=hidden)
                    hidden = hidden or st is not None or not self._lower_is_dir(done)
                elif not hidden:
                    hidden = not self._lower_is_dir(done)  # an upper dir over no lower dir
                nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                              dir_fd=fd)
                os.close(fd)
                fd = nxt
                hidden = hidden or is_opaque(fd)
            return fd
        except BaseException:
            os.close(fd)
            raise

    def _in_lowers(self, rel: str) -> bool:
        """Whether the merged lowers hold ``rel`` itself (not reached through a symlink
        or a non-directory)."""
        found = self.lowers.find(rel) if self.lowers else None
        return found is not None and found[0] == rel

    def _lower_is_dir(self, rel: str) -> bool:
        found = self.lowers.lookup(rel) if self.lowers else None
        return found is not None and stat.S_ISDIR(found[1].st_mode)

    def _implicit_dir(self, pfd: int, name: str, rel: str, who: str, fresh: bool,
                      hidden: bool) -> None:
        """A directory the layer writes into without listing it: in an overlay upper,
        copy the metadata of the lower directory it will merge with. ``fresh``: it
        replaces a non-directory, so it is a new, opaque, 0755 root directory.
        ``hidden``: an opaque or new directory above it hides the lowers."""
        found = None if fresh or hidden or not self.lowers else self.lowers.lookup(rel)
        if found is not None and stat.S_ISLNK(found[1].st_mode):
            raise Forbidden(f"layer entry {who}: path goes through a symlink ({rel})")
        os.mkdir(name, 0o755, dir_fd=pfd)
        os.chmod(name, 0o755, dir_fd=pfd)  # whatever the umask
        if fresh and self.fmt is Format.OVERLAY:
            fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                         dir_fd=pfd)
            try:
                os.setxattr(fd, OPAQUE_XATTR, b"y")
            finally:
                os.close(fd)
        if found is None or not stat.S_ISDIR(found[1].st_mode):
            return
        path, st = found
        os.chown(name, st.st_uid, st.st_gid, dir_fd=pfd, follow_symlinks=False)
        os.chmod(name, stat.S_IMODE(st.st_mode), dir_fd=pfd)
        for key in listxattr(path):
            if not key.startswith("trusted.overlay."):
                setxattr_at(pfd, name, key, os.getxattr(path, key, follow_symlinks=False))
        self.dir_times[rel] = st.st_mtime_ns

    def _forget(self, rel: str) -> None:
        """Close cached fds of ``rel`` and below: it is about to be deleted."""
        for key in [k for k in self.fds if k == rel or k.startswith(rel + "/")]:
            os.close(self.fds.pop(key))

    def _remove(self, pfd: int, name: str, st: os.stat_result, rel: str) -> None:
        if stat.S_ISDIR(st.st_mode):
            self._forget(rel)
            shutil.rmtree(name, dir_fd=pfd)
        else:
            os.unlink(name, dir_fd=pfd)

    # -- entries -----------------------------------------------------------------------
    def apply(self, entry: Entry, body: _Reader) -> None:
        if len(self.fds) > 256:  # only between entries: no fd is in use here
            self._drop_fds()
        rel = clean_name(entry.name)
        parent, base = _split(rel)
        if base.startswith(WH_PREFIX):
            if base == WH_OPAQUE:
                self._opaque(parent, entry)
            elif not base.startswith(WH_PREFIX + WH_PREFIX):  # aufs metadata: skipped
                self._whiteout(parent, base[len(WH_PREFIX):], entry)
            return
        if not rel:
            if entry.type != DIR:
                raise Corrupt(f"layer entry {entry.name}: the root must be a directory")
            self._dir_meta(self.root, "", entry)
            return
        pfd = self._dir(parent, entry.name, create=True)
        assert pfd is not None
        existing = lstat_at(pfd, base)
        if entry.type == DIR:
            # Over a non-directory this layer wrote (a file, a whiteout), the new
            # directory must not merge with one below.
            replaced = existing is not None and not stat.S_ISDIR(existing.st_mode)
            if replaced:
                assert existing is not None
                self._remove(pfd, base, existing, rel)
                existing = None
            if existing is None:
                os.mkdir(base, 0o700, dir_fd=pfd)
            fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                         dir_fd=pfd)
            try:
                if replaced and self.fmt is Format.OVERLAY:
                    os.setxattr(fd, OPAQUE_XATTR, b"y")
                self._dir_meta(fd, rel, entry)
            finally:
                os.close(fd)
        else:
            if existing is not None:
                self._remove(pfd, base, existing, rel)
            self._create(pfd, base, rel, entry, body)
        self._mark_written(rel)

    def _mark_written(self, rel: str) -> None:
        """``rel`` and its parents are this layer's: opaque markers and whiteouts of the
        same layer must not delete them."""
        while rel and rel not in self.written:
            self.written.add(rel)
            rel = rel.rpartition("/")[0]

    def _dir_meta(self, fd: int, rel: str, entry: Entry) -> None:
        os.fchown(fd, entry.uid, entry.gid)
        os.fchmod(fd, entry.mode)
        self._xattrs_fd(fd, entry)
        self.dir_times[rel] = _mtime_ns(entry)

    def _create(self, pfd: int, base: str, rel: str, entry: Entry, body: _Reader) -> None:
        kind = entry.type
        ns = _mtime_ns(entry)
        if kind == REG:
            fd = os.open(base, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                         | os.O_CLOEXEC, 0o600, dir_fd=pfd)
            try:
                while chunk := body.read(_CHUNK):
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(fd, view):]
                os.fchown(fd, entry.uid, entry.gid)
                os.fchmod(fd, entry.mode)
                self._xattrs_fd(fd, entry)
                os.utime(fd, ns=(ns, ns))
            finally:
                os.close(fd)
            return
        if kind == HARDLINK:
            self._hardlink(pfd, base, entry)
            return
        if kind == SYMLINK:
            os.symlink(entry.linkname, base, dir_fd=pfd)
        elif kind in (CHAR, BLOCKDEV):
            if not self.limits.allow_devices:
                raise Forbidden(f"layer entry {entry.name}: device nodes are not allowed")
            if (kind == CHAR and self.fmt is Format.OVERLAY
                    and entry.devmajor == 0 and entry.devminor == 0):
                raise Forbidden(f"layer entry {entry.name}: a 0:0 character device "
                                "would act as an overlay whiteout")
            flag = stat.S_IFCHR if kind == CHAR else stat.S_IFBLK
            os.mknod(base, flag | 0o600, os.makedev(entry.devmajor, entry.devminor),
                     dir_fd=pfd)
        elif kind == FIFO:
            os.mkfifo(base, 0o600, dir_fd=pfd)
        os.chown(base, entry.uid, entry.gid, dir_fd=pfd, follow_symlinks=False)
        if kind != SYMLINK:
            os.chmod(base, entry.mode, dir_fd=pfd)
        for key, value in entry.xattrs.items():
            self._check_xattr(entry, key)
            if kind != SYMLINK or not key.startswith("user."):
                setxattr_at(pfd, base, key, value)
        os.utime(base, ns=(ns, ns), dir_fd=pfd, follow_symlinks=False)

    def _hardlink(self, pfd: int, base: str, entry: Entry) -> None:
        target = clean_name(entry.linkname, entry.name)
        tparent, tbase = _split(target)
        if not tbase:
            raise Forbidden(f"layer entry {entry.name}: hardlink to the root")
        tfd = self._dir(tparent, entry.name, create=False)
        st = lstat_at(tfd, tbase) if tfd is not None else None
        if st is not None and is_whiteout(st) and self.fmt is Format.OVERLAY:
            st = None
        if st is None:
            tfd, st = self._copy_up(target, entry)
        if stat.S_ISDIR(st.st_mode):
            raise Forbidden(f"layer entry {entry.name}: hardlink to directory {target}")
        if target not in self.written and target not in self.detached:
            if st.st_nlink > 1:
                assert tfd is not None
                st = self._detach(tfd, tbase, target, st)
            self.detached.add(target)  # from here on, links join this inode
        try:
            os.link(tbase, base, src_dir_fd=tfd, dst_dir_fd=pfd, follow_symlinks=False)
        except OSError as e:  # never fall back to copying
            raise SystemFailure(f"layer entry {entry.name}: hardlink to {target} failed: "
                                f"{e.strerror}")
        # Like Docker, the link's header sets the shared inode's owner, mode and mtime
        # (writers repeat the target's, so this only matters for odd archives).
        os.chown(base, entry.uid, entry.gid, dir_fd=pfd, follow_symlinks=False)
        if not stat.S_ISLNK(st.st_mode):
            os.chmod(base, entry.mode, dir_fd=pfd)
            ns = _mtime_ns(entry)
            os.utime(base, ns=(ns, ns), dir_fd=pfd, follow_symlinks=False)

    def _copy_up(self, target: str, entry: Entry) -> tuple[int, os.stat_result]:
        """A hardlink to a file of an earlier layer: overlayfs would copy it up first."""
        found = None
        if self.lowers is not None and not self._upper_hides(target):
            found = self.lowers.find(target)
        if found is None or stat.S_ISDIR(found[2].st_mode):
            raise Corrupt(f"layer entry {entry.name}: hardlink target {entry.linkname} "
                          "does not exist")
        found_rel, path, st = found
        if found_rel != target:
            if stat.S_ISLNK(st.st_mode):
                raise Forbidden(f"layer entry {entry.name}: hardlink target goes through "
                                f"a symlink ({found_rel})")
            raise Corrupt(f"layer entry {entry.name}: hardlink target {entry.linkname} "
                          "does not exist")
        tparent, tbase = _split(target)
        tfd = self._dir(tparent, entry.name, create=True)
        assert tfd is not None
        clone(path, st, tfd, tbase)
        self.detached.add(target)
        return tfd, os.lstat(tbase, dir_fd=tfd)

    def _detach(self, tfd: int, tbase: str, target: str,
                st: os.stat_result) -> os.stat_result:
        """Give ``target`` (from an earlier layer, linked elsewhere) an inode of its own
        before linking to it, as overlayfs copy-up would: the flattened tree then matches
        the mounted one, where earlier layers' links are never touched."""
        tmp = f".dy-detach-{os.getpid()}-{tbase}"[:255]
        clone(Path(f"/proc/self/fd/{tfd}/{tbase}"), st, tfd, tmp)
        os.rename(tmp, tbase, src_dir_fd=tfd, dst_dir_fd=tfd)
        self.detached.add(target)
        return os.lstat(tbase, dir_fd=tfd)

    def _upper_hides(self, rel: str, *, itself: bool = True) -> bool:
        """Whether what this layer wrote hides ``rel`` in the lowers: a whiteout or
        non-directory on its path (at ``rel`` too if ``itself``), or an opaque
        directory above it."""
        parts = rel.split("/")
        if is_opaque(self.root):
            return True
        for i in range(1, len(parts) + (1 if itself else 0)):
            parent, name = "/".join(parts[:i - 1]), parts[i - 1]
            fd = self._dir(parent, rel, create=False)
            st = lstat_at(fd, name) if fd is not None else None
            if st is None:
                return False
            if is_whiteout(st) or (i < len(parts) and not stat.S_ISDIR(st.st_mode)):
                return True
            if i < len(parts) and (is_opaque(f"/proc/self/fd/{fd}/{name}")
                                   or not self._lower_is_dir("/".join(parts[:i]))):
                return True
        return False

    def _whiteout(self, parent: str, name: str, entry: Entry) -> None:
        if not name or name in (".", ".."):
            raise Forbidden(f"layer entry {entry.name}: whiteout of {name or 'nothing'}")
        rel = f"{parent}/{name}" if parent else name
        if rel in self.written:  # a layer cannot hide its own entries
            return
        overlay = self.fmt is Format.OVERLAY
        pfd = self._dir(parent, entry.name, create=False)  # refuses symlinks in dest
        # In an upper, a whiteout only where something below shows (lowers unknown:
        # always); nothing is made for names below a lower symlink or file.
        below = overlay and (self.lowers is None or (
            not self._upper_hides(rel, itself=False) and self._in_lowers(rel)))
        if pfd is None:
            if not below:
                return
            pfd = self._dir(parent, entry.name, create=True)  # refuses symlinks below
            assert pfd is not None
        existing = lstat_at(pfd, name)
        if existing is not None:
            self._remove(pfd, name, existing, rel)
        if below:
            os.mknod(name, stat.S_IFCHR | 0o600, 0, dir_fd=pfd)
            ns = _mtime_ns(entry)
            os.utime(name, ns=(ns, ns), dir_fd=pfd, follow_symlinks=False)

    def _opaque(self, parent: str, entry: Entry) -> None:
        # The marker implies its directory, as in Docker: made (0755) if missing.
        fd = self._dir(parent, entry.name, create=True)
        assert fd is not None
        if self.fmt is Format.OVERLAY:
            os.setxattr(fd, OPAQUE_XATTR, b"y")
        else:
            self._clear_unwritten(fd, parent)
        self._mark_written(parent)

    def _clear_unwritten(self, fd: int, rel: str) -> None:
        """Delete what earlier layers left under ``rel``, keeping this layer's entries."""
        for name in os.listdir(fd):
            child = f"{rel}/{name}" if rel else name
            st = os.lstat(name, dir_fd=fd)
            if child not in self.written:
                self._remove(fd, name, st, child)
            elif stat.S_ISDIR(st.st_mode):
                sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
                              | os.O_CLOEXEC, dir_fd=fd)
                try:
                    self._clear_unwritten(sub, child)
                finally:
                    os.close(sub)

    def _check_xattr(self, entry: Entry, key: str) -> None:
        if key.startswith("trusted.overlay."):
            raise Forbidden(f"layer entry {entry.name}: xattr {key} is reserved for overlayfs")

    def _xattrs_fd(self, fd: int, entry: Entry) -> None:
        for key, value in entry.xattrs.items():
            self._check_xattr(entry, key)
            try:
                os.setxattr(fd, key, value)
            except OSError as e:
                if e.errno not in (errno.ENOTSUP, errno.EOPNOTSUPP):
                    raise

    def finish(self) -> None:
        """Directory mtimes last, deepest first: adding entries changed them."""
        for rel in sorted(self.dir_times, key=lambda r: r.count("/") + bool(r), reverse=True):
            ns = self.dir_times[rel]
            try:
                fd = open_beneath(self.root, rel)
            except OSError:
                continue  # removed later by the same layer
            try:
                os.utime(fd, ns=(ns, ns))
            finally:
                os.close(fd)


def apply_layer(stream: BinaryIO, dest: str | Path, *, format: Format = Format.DIR,
                lowers: Sequence[Path] | None = None, limits: Limits | None = None,
                expected_diff_id: str | None = None) -> AppliedLayer:
    """Apply the layer in ``stream`` (tar, gzip or zstd, detected) to directory ``dest``.

    ``lowers`` (topmost first) are the overlay lower dirs under an :attr:`Format.OVERLAY`
    upper; they supply the metadata of parent dirs the layer does not list and targets of
    hardlinks into earlier layers. Raises :class:`Forbidden` for hostile entries and
    limits, :class:`Corrupt` for malformed or truncated streams or a diff id other than
    ``expected_diff_id``; ``dest`` is then half-written and the caller discards it.
    """
    limits = limits or Limits()
    src = Decompressor(stream, limits)
    applier = _Applier(Path(dest), format, lowers, limits)
    count = 0
    current = "?"
    try:
        for entry, body in read_entries(src, limits):
            count += 1
            current = entry.name
            applier.apply(entry, body)
        src.drain()
        applier.finish()
    except DockyardError:
        raise
    except OSError as e:
        raise SystemFailure(f"layer entry {current}: {e.strerror or e}")
    finally:
        applier.close()
    diff_id = src.digest()
    if expected_diff_id is not None and diff_id != expected_diff_id:
        raise Corrupt(f"layer: diff id {diff_id} does not match the expected {expected_diff_id}")
    return AppliedLayer(diff_id=diff_id, size=src.size, compressed_size=src.compressed_size,
                        compression=src.compression or "tar", entries=count)
