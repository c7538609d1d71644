"""Turn a (possibly compressed) tar stream into a plain-tar layer blob, checking that it
is a tar archive before anything is published."""

from __future__ import annotations

import bz2
import lzma
import posixpath
import tarfile
import zlib
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from dockyard.errors import InvalidArgument
from dockyard.images.content import LocalStore, LocalWriter
from dockyard.oci import Digest

__all__ = ["detect_compression", "ingest_tar", "open_decompressed"]

CHUNK = 1 << 20
ZSTD_SLICE = 4 << 10  # zstd expands at most ~32768x: <= 128 MiB per step


def detect_compression(head: bytes) -> str:
    """``gzip``, ``bzip2``, ``xz``, ``zstd`` or ``""`` from a stream's first bytes."""
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"BZh"):
        return "bzip2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return "zstd"
    return ""


def _plain(src: BinaryIO, head: bytes) -> Iterator[bytes]:
    data = head
    while data:
        yield data
        data = src.read(CHUNK)


def _gzip(src: BinaryIO, head: bytes) -> Iterator[bytes]:
    """Gzip members one after another; output bounded per step (no bomb in memory)."""
    d = zlib.decompressobj(47)
    buf = head
    while True:
        if not buf and not d.unconsumed_tail:
            buf = src.read(CHUNK)
            if not buf:
                break
        out = d.decompress(d.unconsumed_tail + buf if d.unconsumed_tail else buf, CHUNK)
        buf = b""
        if out:
            yield out
        if d.eof:
            buf = d.unused_data or src.read(CHUNK)
            if not buf:
                return
            d = zlib.decompressobj(47)
    if not d.eof:
        raise InvalidArgument("compressed stream ends early")


def _bz2_xz(src: BinaryIO, head: bytes, make: Callable[[], Any]) -> Iterator[bytes]:
    d = make()
    buf = head
    while True:
        if d.needs_input and not buf:
            buf = src.read(CHUNK)
            if not buf:
                break
        out = d.decompress(buf, CHUNK)
        buf = b""
        if out:
            yield out
        if d.eof:
            buf = d.unused_data or src.read(CHUNK)
            if not buf:
                return
            d = make()
    if not d.eof:
        raise InvalidArgument("compressed stream ends early")


def _zstd(src: BinaryIO, head: bytes) -> Iterator[bytes]:
    """Frames one after another. Input goes in small slices so that one step's output
    stays bounded (zstd's stream reader would hide a truncated frame)."""
    import zstandard

    d = zstandard.ZstdDecompressor().decompressobj()
    buf = head
    while True:
        if not buf:
            buf = src.read(CHUNK)
            if not buf:
                break
        piece, buf = buf[:ZSTD_SLICE], buf[ZSTD_SLICE:]
        out = d.decompress(piece)
        if out:
            yield out
        if d.eof:
            buf = d.unused_data + buf
            if not buf and not (buf := src.read(CHUNK)):
                return
            d = zstandard.ZstdDecompressor().decompressobj()
    if not d.eof:
        raise InvalidArgument("compressed stream ends early")


def open_decompressed(src: BinaryIO) -> tuple[str, Iterator[bytes]]:
    """The compression found and an iterator of the decompressed bytes; bad or cut
    compressed data raises ``InvalidArgument`` (the caller adds what was read)."""
    head = src.read(512)
    kind = detect_compression(head)
    if kind == "gzip":
        return kind, _guard(_gzip(src, head), kind)
    if kind == "bzip2":
        return kind, _guard(_bz2_xz(src, head, bz2.BZ2Decompressor), kind)
    if kind == "xz":
        return kind, _guard(_bz2_xz(src, head, lzma.LZMADecompressor), kind)
    if kind == "zstd":
        return kind, _guard(_zstd(src, head), kind)
    return kind, _plain(src, head)


def _guard(chunks: Iterator[bytes], kind: str) -> Iterator[bytes]:
    """Every decompressor's own error as one ``InvalidArgument``."""
    try:
        yield from chunks
    except InvalidArgument:
        raise
    except Exception as err:  # zlib.error, LZMAError, OSError (bz2), ZstdError...
        raise InvalidArgument(f"invalid {kind} data: {err}") from None


def ingest_tar(store: LocalStore, src: BinaryIO, where: str) -> tuple[LocalWriter, Digest]:
    """Write ``src``, decompressed, to an ingest file and check it is a tar archive.
    Returns the *uncommitted* writer and the diff id; commit or abort it."""
    _, chunks = open_decompressed(src)
    w = store.writer()
    try:
        try:
            for chunk in chunks:
                w.write(chunk)
        except InvalidArgument as err:
            raise InvalidArgument(f"{where}: {err}") from None
        check_tar(w, where)
    except BaseException:
        w.abort()
        raise
    return w, w.digest()


def check_tar(w: LocalWriter, where: str) -> None:
    """Raise ``InvalidArgument`` unless the ingest file holds a well-formed tar whose
    names (and hard link targets) stay inside the root. The full confinement checks
    (symlinks on the way, whiteouts) run when the layer is applied."""
    w.flush()
    if w.size == 0:
        raise InvalidArgument(f"{where}: not a tar archive (empty)")
    try:
        with tarfile.open(w.path, "r:") as tf:
            for member in tf:
                _check_name(member.name, where)
                if member.islnk():
                    _check_name(member.linkname, where)
    except (tarfile.TarError, EOFError) as err:
        raise InvalidArgument(f"{where}: not a tar archive ({err})") from None


def _check_name(name: str, where: str) -> None:
    if name.startswith("/"):
        raise InvalidArgument(f"{where}: entry {name!r} is an absolute path")
    norm = posixpath.normpath(name)
    if norm == ".." or norm.startswith("../"):
        raise InvalidArgument(f"{where}: entry {name!r} leaves the root")
