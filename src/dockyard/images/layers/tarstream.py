"""A strict, streaming tar reader: ustar, PAX and GNU long names, nothing seekable.

Written for hostile input rather than convenience: every header is checksummed, header
sizes and name lengths are bounded by :class:`Limits`, a stream that ends before its
end-of-archive block is an error, and entry types we do not apply are refused, not
skipped silently.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from dockyard.errors import Corrupt, Forbidden

from .compression import Limits

__all__ = ["BLOCK", "Entry", "EntryType", "read_entries"]

BLOCK = 512

REG, HARDLINK, SYMLINK, CHAR, BLOCKDEV, DIR, FIFO = "0", "1", "2", "3", "4", "5", "6"
EntryType = str
_TYPES = {b"0": REG, b"\0": REG, b"7": REG, b"1": HARDLINK, b"2": SYMLINK, b"3": CHAR,
          b"4": BLOCKDEV, b"5": DIR, b"6": FIFO}
_NAMES = {b"S": "gnu sparse file", b"V": "volume header", b"M": "multi-volume continuation",
          b"N": "gnu old long name", b"D": "gnu dump dir"}


class _Source(Protocol):
    def read(self, n: int) -> bytes: ...


@dataclass
class Entry:
    """One tar member with its PAX/GNU extensions applied."""

    name: str
    type: EntryType
    mode: int
    uid: int
    gid: int
    size: int
    mtime: float
    linkname: str = ""
    devmajor: int = 0
    devminor: int = 0
    xattrs: dict[str, bytes] = field(default_factory=dict)


def _number(field_: bytes, what: str) -> int:
    if field_ and field_[0] & 0x80:  # GNU base-256
        value = int.from_bytes(field_, "big", signed=False) & ~(0xFF << (8 * len(field_) - 8))
        value |= (field_[0] & 0x7F) << (8 * len(field_) - 8)
        if field_[0] & 0x40:
            raise Corrupt(f"layer: negative {what} in tar header")
        return value
    text = field_.split(b"\0", 1)[0].strip(b" ")
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError:
        raise Corrupt(f"layer: bad {what} field {text[:20]!r} in tar header")


def _text(field_: bytes) -> str:
    return field_.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _read_exact(src: _Source, n: int, what: str) -> bytes:
    data = src.read(n)
    if len(data) != n:
        raise Corrupt(f"layer: truncated tar stream in {what}")
    return data


def _parse_pax(data: bytes, where: str) -> dict[str, bytes]:
    records: dict[str, bytes] = {}
    pos = 0
    while pos < len(data):
        if data[pos:].strip(b"\0") == b"":
            break
        space = data.find(b" ", pos)
        try:
            length = int(data[pos:space])
        except ValueError:
            raise Corrupt(f"layer: bad pax record in {where}")
        end = pos + length
        if space < 0 or length <= 0 or end > len(data) or data[end - 1:end] != b"\n":
            raise Corrupt(f"layer: bad pax record in {where}")
        key, sep, value = data[space + 1:end - 1].partition(b"=")
        if not sep:
            raise Corrupt(f"layer: bad pax record in {where}")
        records[key.decode("utf-8", "surrogateescape")] = value
        pos = end
    return records


def _pad(size: int) -> int:
    return -size % BLOCK


def read_entries(src: _Source, limits: Limits) -> Iterator[tuple[Entry, _Source]]:
    """Yield each entry and a reader of exactly its ``size`` content bytes.

    The caller may read all, some or none of the content before asking for the next
    entry; the rest is skipped. The stream must end with a zero block.
    """
    pax_global: dict[str, bytes] = {}
    pending: dict[str, bytes] = {}
    long_name: str | None = None
    long_link: str | None = None
    count = 0
    while True:
        header = _read_exact(src, BLOCK, "a header")
        if header == b"\0" * BLOCK:
            if pending or long_name is not None or long_link is not None:
                raise Corrupt("layer: tar ends right after an extended header")
            return
        try:
            stored = _number(header[148:156], "checksum")
        except Corrupt:
            stored = -1
        unsigned = sum(header) - sum(header[148:156]) + 256
        # Some old tars summed signed chars: each byte over 127 then counts 256 less.
        if stored != unsigned and stored != unsigned - 256 * sum(
                1 for b in header[:148] + header[156:] if b > 127):
            raise Corrupt("layer: bad tar header checksum (not a tar, or corrupt)")
        count += 1
        if count > limits.max_entries:
            raise Forbidden(f"layer: more than {limits.max_entries} tar entries "
                            "(Limits.max_entries)")
        flag = header[156:157]
        size = _number(header[124:136], "size")
        name = _text(header[0:100])
        if header[257:262] == b"ustar" and header[345:500].strip(b"\0"):
            name = _text(header[345:500]) + "/" + name

        if flag in (b"x", b"g", b"L", b"K"):
            if size > limits.max_header:
                raise Forbidden(f"layer: extended header of {size} bytes before "
                                f"{name!r} exceeds {limits.max_header} (Limits.max_header)")
            data = _read_exact(src, size + _pad(size), "an extended header")[:size]
            if flag == b"x":
                pending.update(_parse_pax(data, name))
            elif flag == b"g":
                pax_global.update(_parse_pax(data, name))
            elif flag == b"L":
                long_name = data.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            else:
                long_link = data.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            continue

        kind = _TYPES.get(flag)
        if kind is None:
            what = _NAMES.get(flag, f"type {flag!r}")
            raise Corrupt(f"layer entry {name}: unsupported tar entry ({what})")
        pax = {**pax_global, **pending}
        pending = {}
        entry = Entry(
            name=name, type=kind, mode=_number(header[100:108], "mode") & 0o7777,
            uid=_number(header[108:116], "uid"), gid=_number(header[116:124], "gid"),
            size=size, mtime=float(_number(header[136:148], "mtime")),
            linkname=_text(header[157:257]),
            devmajor=_number(header[329:337], "devmajor"),
            devminor=_number(header[337:345], "devminor"),
        )
        if long_name is not None:
            entry.name, long_name = long_name, None
        if long_link is not None:
            entry.linkname, long_link = long_link, None
        _apply_pax(entry, pax)
        if len(entry.name.encode("utf-8", "surrogateescape")) > limits.max_name:
            raise Forbidden(f"layer entry {entry.name[:64]}...: name longer than "
                            f"{limits.max_name} bytes (Limits.max_name)")
        if kind != REG:  # like Go's archive/tar: only regular files carry content
            entry.size = 0
        body = _Body(src, entry.size, entry.name)
        yield entry, body
        body.skip_rest()


def _apply_pax(entry: Entry, pax: dict[str, bytes]) -> None:
    for key, value in pax.items():
        text = value.decode("utf-8", "surrogateescape")
        try:
            if key == "path":
                entry.name = text
            elif key == "linkpath":
                entry.linkname = text
            elif key == "size":
                entry.size = int(text)
            elif key == "uid":
                entry.uid = int(text)
            elif key == "gid":
                entry.gid = int(text)
            elif key == "mtime":
                entry.mtime = float(text)
            elif key.startswith("SCHILY.xattr."):
                entry.xattrs[key[len("SCHILY.xattr."):]] = value
            elif key.startswith("GNU.sparse."):
                raise Corrupt(f"layer entry {entry.name}: unsupported tar entry "
                              "(gnu sparse file)")
        except ValueError:
            raise Corrupt(f"layer entry {entry.name}: bad pax value for {key}")
    _check(entry)


_ID_MAX = (1 << 32) - 2  # (uid_t)-1 means "unchanged" to chown
_MTIME_MAX = 1 << 33  # seconds; far beyond 2038 yet safe for nanosecond arithmetic


def _check(entry: Entry) -> None:
    """Values the kernel cannot take are the archive's fault, named as such."""
    shown = entry.name.replace("\0", "\\0")
    if "\0" in entry.name or "\0" in entry.linkname or any("\0" in k for k in entry.xattrs):
        raise Corrupt(f"layer entry {shown}: NUL byte in a name")
    if entry.size < 0:
        raise Corrupt(f"layer entry {shown}: negative size")
    if not (0 <= entry.uid <= _ID_MAX and 0 <= entry.gid <= _ID_MAX):
        raise Corrupt(f"layer entry {shown}: owner {entry.uid}:{entry.gid} out of range")
    if not -_MTIME_MAX < entry.mtime < _MTIME_MAX:  # also false for nan
        raise Corrupt(f"layer entry {shown}: mtime {entry.mtime} out of range")
    if not (0 <= entry.devmajor <= 0xFFFFFFF and 0 <= entry.devminor <= 0xFFFFFFF):
        raise Corrupt(f"layer entry {shown}: device number out of range")


class _Body:
    """Reads one entry's content, then skips what is left of it and its padding."""

    def __init__(self, src: _Source, size: int, name: str) -> None:
        self._src = src
        self._left = size
        self._pad = _pad(size)
        self._name = name

    def read(self, n: int) -> bytes:
        n = min(n, self._left)
        if n <= 0:
            return b""
        data = self._src.read(n)
        if len(data) != n:
            raise Corrupt(f"layer entry {self._name}: truncated tar stream in its content")
        self._left -= n
        return data

    def skip_rest(self) -> None:
        while self._left:
            self.read(min(self._left, 1 << 20))
        if self._pad:
            _read_exact(self._src, self._pad, f"the padding of {self._name}")
            self._pad = 0
