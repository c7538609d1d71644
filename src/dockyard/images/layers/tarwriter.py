"""Write reproducible layer tars: PAX only where needed, numeric owners, sorted input.

Same tree in, same bytes out: no user or group names, no atime/ctime, mtimes in whole
seconds (as Docker writes them), PAX headers named after the entry.
"""

from __future__ import annotations

import hashlib
import os
import stat
from typing import BinaryIO

from .tarstream import BLOCK, BLOCKDEV, CHAR, DIR, FIFO, HARDLINK, REG, SYMLINK

__all__ = ["LayerWriter"]

_CHUNK = 1 << 20


def _octal(value: int, width: int) -> bytes | None:
    text = b"%0*o" % (width - 1, value)
    return text + b"\0" if len(text) < width else None


def _pax_key(record: bytes) -> bytes:
    return record.split(b" ", 1)[1]


def _pax_record(key: str, value: bytes) -> bytes:
    body = b" " + key.encode() + b"=" + value + b"\n"
    n = len(body) + 1
    while len(str(n).encode()) + len(body) != n:
        n = len(str(n).encode()) + len(body)
    return str(n).encode() + body


class LayerWriter:
    """Writes entries to ``out`` (plain tar) and hashes them: ``diff_id()`` at the end."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._hash = hashlib.sha256()
        self._links: dict[tuple[int, int], str] = {}
        self._buf = bytearray()  # small writes gathered: one hash update and write per MiB
        self.size = 0

    def _write(self, data: bytes) -> None:
        self.size += len(data)
        self._buf += data
        if len(self._buf) >= _CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self._buf:
            self._hash.update(self._buf)
            self._out.write(self._buf)
            self._buf = bytearray()

    def _header(self, name: str, kind: str, meta: tuple[int, int, int, int] = (0, 0, 0, 0),
                *, size: int = 0, linkname: str = "", major: int = 0, minor: int = 0,
                xattrs: dict[str, bytes] | None = None) -> None:
        """``meta`` is (mode, uid, gid, mtime)."""
        mode, uid, gid, mtime = meta
        pax: list[bytes] = []
        bname = name.encode("utf-8", "surrogateescape")
        blink = linkname.encode("utf-8", "surrogateescape")
        if len(bname) > 100 or not bname.isascii():
            pax.append(_pax_record("path", bname))
            bname = bname[:100]
        if len(blink) > 100 or not blink.isascii():
            pax.append(_pax_record("linkpath", blink))
            blink = blink[:100]
        fields: dict[str, bytes] = {}
        for key, value, width in (("uid", uid, 8), ("gid", gid, 8), ("size", size, 12),
                                  ("mtime", mtime, 12)):
            enc = _octal(value, width)
            if enc is None:
                pax.append(_pax_record(key, str(value).encode()))
                enc = _octal(0, width)
            assert enc is not None
            fields[key] = enc
        for key in sorted(xattrs or {}):
            pax.append(_pax_record("SCHILY.xattr." + key, (xattrs or {})[key]))
        if pax:
            pax.sort(key=_pax_key)
            data = b"".join(pax)
            base = name.rstrip("/").rsplit("/", 1)[-1]
            self._block(("PaxHeaders.0/" + base).encode("utf-8", "surrogateescape")[:100],
                        b"x", 0o644, _octal(0, 8), _octal(0, 8), _octal(len(data), 12),
                        _octal(0, 12), b"", 0, 0)
            self._write(data + b"\0" * (-len(data) % BLOCK))
        self._block(bname, kind.encode(), mode, fields["uid"], fields["gid"],
                    fields["size"], fields["mtime"], blink, major, minor)

    def _block(self, name: bytes, flag: bytes, mode: int, uid: bytes | None,
               gid: bytes | None, size: bytes | None, mtime: bytes | None, link: bytes,
               major: int, minor: int) -> None:
        h = bytearray(BLOCK)
        h[0:len(name)] = name
        h[100:108] = _octal(mode & 0o7777, 8) or b""
        h[108:116] = uid or b""
        h[116:124] = gid or b""
        h[124:136] = size or b""
        h[136:148] = mtime or b""
        h[148:156] = b" " * 8
        h[156:157] = flag
        h[157:157 + len(link)] = link
        h[257:265] = b"ustar\x0000"
        h[329:337] = _octal(major, 8) or b""
        h[337:345] = _octal(minor, 8) or b""
        h[148:156] = b"%06o\0 " % sum(h)
        self._write(bytes(h))

    def add_whiteout(self, rel: str, mtime: int) -> None:
        """``.wh.<name>``: the name is deleted from the layers below."""
        parent, _, base = rel.rpartition("/")
        self._header(f"{parent}/.wh.{base}" if parent else f".wh.{base}", REG, (0, 0, 0, mtime))

    def add_opaque(self, dir_rel: str, mtime: int) -> None:
        """``<dir>/.wh..wh..opq``: the directory hides its lower contents."""
        self._header(f"{dir_rel}/.wh..wh..opq" if dir_rel else ".wh..wh..opq", REG,
                     (0, 0, 0, mtime))

    def add_path(self, rel: str, path: str, st: os.stat_result) -> None:
        """One filesystem object; a second name of a hardlinked file becomes a link."""
        mode = st.st_mode
        meta = (stat.S_IMODE(mode), st.st_uid, st.st_gid, st.st_mtime_ns // 1_000_000_000)
        xattrs = _xattrs(path)
        if stat.S_ISDIR(mode):
            self._header(rel + "/", DIR, xattrs=xattrs, meta=meta)
        elif stat.S_ISREG(mode):
            key = (st.st_dev, st.st_ino)
            if st.st_nlink > 1 and key in self._links:
                self._header(rel, HARDLINK, linkname=self._links[key], xattrs=xattrs, meta=meta)
                return
            if st.st_nlink > 1:
                self._links[key] = rel
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            with open(fd, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                self._header(rel, REG, size=size, xattrs=xattrs, meta=meta)
                left = size
                while left:
                    chunk = f.read(min(_CHUNK, left))
                    if not chunk:
                        raise OSError(f"{path}: file shrank while being archived")
                    self._write(chunk)
                    left -= len(chunk)
                self._write(b"\0" * (-size % BLOCK))
        elif stat.S_ISLNK(mode):
            self._header(rel, SYMLINK, linkname=os.readlink(path), xattrs=xattrs, meta=meta)
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            self._header(rel, CHAR if stat.S_ISCHR(mode) else BLOCKDEV,
                         major=os.major(st.st_rdev), minor=os.minor(st.st_rdev),
                         xattrs=xattrs, meta=meta)
        elif stat.S_ISFIFO(mode):
            self._header(rel, FIFO, xattrs=xattrs, meta=meta)
        # sockets are not archived, as in docker

    def close(self) -> str:
        """End the archive; returns its diff id (``sha256:<hex>``)."""
        self._write(b"\0" * (2 * BLOCK))
        self._flush()
        return "sha256:" + self._hash.hexdigest()


def _xattrs(path: str) -> dict[str, bytes]:
    try:
        keys = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return {}
    out = {}
    for key in keys:
        if key.startswith("trusted.overlay."):
            continue
        try:
            out[key] = os.getxattr(path, key, follow_symlinks=False)
        except OSError:
            continue
    return out
