"""Turn a (possibly compressed) tar stream into a plain-tar layer blob, checking that it
is a tar archive before anything is published."""

from __future__ import annotations

import bz2
import lzma
import tarfile
import zlib
from typing import BinaryIO, cast

from dockyard.errors import InvalidArgument
from dockyard.images.content import LocalStore, LocalWriter
from dockyard.oci import Descriptor, Digest, mediatypes

__all__ = ["detect_compression", "ingest_tar", "open_decompressed"]

CHUNK = 1 << 20


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


class _Chunks:
    """Decompress a stream chunk by chunk (gzip members concatenated are allowed)."""

    def __init__(self, src: BinaryIO, head: bytes, kind: str) -> None:
        self.src, self.head, self.kind = src, head, kind

    def __iter__(self):  # type: ignore[no-untyped-def]
        data = self.head
        if self.kind == "zstd":
            import zstandard

            reader = zstandard.ZstdDecompressor().stream_reader(
                cast(BinaryIO, _Prefixed(data, self.src)))
            while chunk := reader.read(CHUNK):
                yield chunk
            return
        dec: object = {"gzip": lambda: zlib.decompressobj(47), "bzip2": bz2.BZ2Decompressor,
                       "xz": lzma.LZMADecompressor, "": None}[self.kind]
        if dec is None:
            while data:
                yield data
                data = self.src.read(CHUNK)
            return
        d = dec()  # type: ignore[operator]
        while True:
            if not data:
                data = self.src.read(CHUNK)
                if not data:
                    break
            out = d.decompress(data)
            if out:
                yield out
            data = d.unused_data if d.eof else b""
            if d.eof:
                if not data and not (data := self.src.read(CHUNK)):
                    break
                d = dec()  # type: ignore[operator]
        if not d.eof:
            raise InvalidArgument("compressed stream ends early")


class _Prefixed:
    def __init__(self, head: bytes, src: BinaryIO) -> None:
        self.head, self.src = head, src

    def read(self, n: int = -1) -> bytes:
        if self.head:
            out, self.head = self.head[:n] if n >= 0 else self.head, self.head[n:] if n >= 0 \
                else b""
            return out
        return self.src.read(n)


def open_decompressed(src: BinaryIO) -> tuple[str, _Chunks]:
    head = src.read(512)
    kind = detect_compression(head)
    return kind, _Chunks(src, head, kind)


def ingest_tar(store: LocalStore, src: BinaryIO, where: str) -> tuple[LocalWriter, Digest]:
    """Write ``src``, decompressed, to an ingest file and check it is a tar archive.
    Returns the *uncommitted* writer and the diff id; commit or abort it."""
    _, chunks = open_decompressed(src)
    w = store.writer()
    try:
        try:
            for chunk in chunks:
                w.write(chunk)
        except (OSError, EOFError, zlib.error, lzma.LZMAError, ValueError) as err:
            raise InvalidArgument(f"{where}: cannot decompress: {err}") from None
        check_tar(w, where)
    except BaseException:
        w.abort()
        raise
    return w, w.digest()


def check_tar(w: LocalWriter, where: str) -> None:
    """Raise ``InvalidArgument`` unless the ingest file holds a well-formed tar."""
    w.flush()
    if w.size == 0:
        raise InvalidArgument(f"{where}: not a tar archive (empty)")
    try:
        with tarfile.open(w.path, "r:") as tf:
            for _ in tf:
                pass
    except (tarfile.TarError, EOFError) as err:
        raise InvalidArgument(f"{where}: not a tar archive ({err})") from None


def layer_descriptor(digest: Digest, size: int) -> Descriptor:
    return Descriptor(mediatypes.OCI_LAYER, digest, size)
