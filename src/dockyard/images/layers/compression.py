"""Detect and decompress a tar stream (plain, gzip, zstd, and for rootfs imports bzip2 and
xz) while hashing the uncompressed bytes: the one decoder of every image path.

The output comes in bounded pieces: zlib, bz2 and lzma are asked for at most ``STEP``
bytes per call, zstd (which has no such bound) is fed small slices of input, so one call
never expands into gigabytes. Totals are checked against :class:`Limits` as they grow,
and the sha256 of everything produced (a layer's diff id) is available at the end.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from dockyard.errors import Corrupt, Forbidden

__all__ = ["ALL_FORMATS", "LAYER_FORMATS", "Decompressor", "Limits", "detect_compression"]

_MAGIC = ((b"\x1f\x8b", "gzip"), (b"\x28\xb5\x2f\xfd", "zstd"), (b"BZh", "bzip2"),
          (b"\xfd7zXZ\x00", "xz"), (b"\x04\x22\x4d\x18", "lz4"))
LAYER_FORMATS = ("gzip", "zstd")  # what an image layer may be compressed with
ALL_FORMATS = ("gzip", "zstd", "bzip2", "xz")  # what ``docker import`` also takes

STEP = 1 << 20  # most output of one zlib, bz2 or lzma call
# A zstd RLE block turns 4 bytes into 128 KiB, so a 1 KiB slice bounds one call's output
# to ~32 MiB even for a hostile stream.
ZSTD_FEED = 1024
_READ = 256 * 1024


@dataclass(frozen=True)
class Limits:
    """Resource bounds for one layer; raise them for unusual but legitimate layers.

    ``max_size``: uncompressed bytes. ``max_ratio``: uncompressed / compressed bytes, checked
    once more than ``ratio_grace`` bytes came out (small layers of zeros stay legal).
    ``max_header``: bytes of one PAX or GNU long-name header. ``max_name``: bytes of a path.
    ``max_entries``: entries in the tar. ``allow_devices``: whether block and character
    device entries may be created.
    """

    max_size: int = 64 << 30
    max_ratio: float = 200.0
    ratio_grace: int = 64 << 20
    max_header: int = 1 << 20
    max_name: int = 4096
    max_entries: int = 2_000_000
    allow_devices: bool = True


def detect_compression(head: bytes) -> str:
    """``gzip``, ``zstd``, ``bzip2``, ``xz``, ``lz4`` or ``""`` (none) from the first bytes."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return ""


class _Bad(Exception):
    """Bad compressed data; the decompressor adds what the stream is."""


def _bounded(d: Any, data: bytes) -> Iterator[bytes]:
    """bz2 and lzma: at most STEP per call, the rest stays inside the decompressor."""
    out = d.decompress(data, STEP)
    while True:
        if out:
            yield out
        if d.eof or d.needs_input:
            return
        out = d.decompress(b"", STEP)


def _zlib(d: Any, data: bytes) -> Iterator[bytes]:
    """zlib keeps input it did not get to in ``unconsumed_tail``."""
    out = d.decompress(data, STEP)
    while True:
        if out:
            yield out
        if d.eof or (not d.unconsumed_tail and len(out) < STEP):
            return
        out = d.decompress(d.unconsumed_tail, STEP)


def _sliced(d: Any, data: bytes) -> Iterator[bytes]:
    yield d.decompress(data)


class _Frames:
    """A stream of concatenated frames (multi-member gzip, as ``gzip -c a b`` writes and
    some registries serve; zstd frames likewise), with zero padding allowed at the end.
    ``new`` makes a decompressor for one frame; ``magic``, when given, is what a next
    frame must start with (anything else after the last one is trailing garbage)."""

    def __init__(self, name: str, new: Callable[[], Any], error: type[Exception] | tuple[
                 type[Exception], ...], run: Callable[[Any, bytes], Iterator[bytes]],
                 feed: int, magic: bytes = b"") -> None:
        self.name, self._new, self._error, self._run = name, new, error, run
        self.feed_size, self._magic = feed, magic
        self._d = new()
        self._between = False  # a frame ended; the next bytes must start a new one

    def feed(self, data: bytes) -> Iterator[bytes]:
        while data:
            if self._between:
                if not data.strip(b"\0"):
                    return
                if self._magic and not data.startswith(self._magic[: len(data)]):
                    raise _Bad(f"trailing garbage after the {self.name} stream")
                self._d = self._new()
                self._between = False
            try:
                yield from self._run(self._d, data)
            except self._error as e:
                raise _Bad(f"bad {self.name} data: {e}") from None
            if self._d.eof:
                data = self._d.unused_data
                self._between = True
            else:
                data = b""

    def finished(self) -> bool:
        return self._between


def _engine(kind: str) -> _Frames:
    if kind == "gzip":
        import zlib

        return _Frames(kind, lambda: zlib.decompressobj(16 + zlib.MAX_WBITS), zlib.error,
                       _zlib, _READ, b"\x1f\x8b")
    if kind == "zstd":
        import zstandard

        return _Frames(kind, lambda: zstandard.ZstdDecompressor().decompressobj(),
                       zstandard.ZstdError, _sliced, ZSTD_FEED)
    if kind == "bzip2":
        import bz2

        return _Frames(kind, bz2.BZ2Decompressor, OSError, _bounded, _READ, b"BZh")
    import lzma

    return _Frames(kind, lzma.LZMADecompressor, lzma.LZMAError, _bounded, _READ,
                   b"\xfd7zXZ\x00")


class Decompressor:
    """A file-like ``read(n)`` over the uncompressed stream (or :meth:`chunks`), hashing
    what it returns. ``formats`` are the compressions taken; ``what`` starts every error
    message. Errors: :class:`Corrupt` for bad, cut or unsupported data, :class:`Forbidden`
    past ``limits``."""

    def __init__(self, stream: BinaryIO, limits: Limits | None = None, *,
                 formats: tuple[str, ...] = LAYER_FORMATS, what: str = "layer") -> None:
        self._src = stream
        self._limits = limits or Limits()
        self._what = what
        self.compressed_size = 0
        self.size = 0  # uncompressed bytes produced so far
        self._hash = hashlib.sha256()
        self._buf = bytearray()  # uncompressed output not yet returned
        head = self._read_src(_READ)
        self.compression = detect_compression(head)
        self._engine: _Frames | None = None
        if self.compression:
            if self.compression not in formats:
                raise Corrupt(f"{what}: unsupported compression {self.compression} "
                              f"(want tar or one of {', '.join(formats)})")
            self._engine = _engine(self.compression)
            self._out: Iterator[bytes] = self._decode(head)
        else:
            self._take(head)
            self._buf += head
            self._out = iter(())

    def _read_src(self, n: int) -> bytes:
        try:
            data = self._src.read(n) or b""
        except OSError as e:
            raise Corrupt(f"{self._what}: reading the stream failed: {e}") from None
        self.compressed_size += len(data)
        return data

    def _decode(self, data: bytes) -> Iterator[bytes]:
        assert self._engine is not None
        step = self._engine.feed_size
        try:
            while data:
                for i in range(0, len(data), step):
                    for chunk in self._engine.feed(data[i:i + step]):
                        self._take(chunk)
                        yield chunk
                data = self._read_src(_READ)
        except _Bad as e:
            raise Corrupt(f"{self._what}: {e}") from None
        if not self._engine.finished():
            raise Corrupt(f"{self._what}: truncated {self.compression} stream")

    def _take(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self._hash.update(chunk)
        lim = self._limits
        if self.size > lim.max_size:
            raise Forbidden(f"{self._what}: uncompressed size exceeds the limit of "
                            f"{lim.max_size} bytes (Limits.max_size)")
        if (self._engine is not None and self.size > lim.ratio_grace
                and self.size > lim.max_ratio * max(self.compressed_size, 1)):
            raise Forbidden(
                f"{self._what}: {self.compression} stream expands more than "
                f"{lim.max_ratio:g}x (decompression bomb? raise Limits.max_ratio to allow)")

    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes; fewer only at the end of the stream."""
        if self._engine is None:
            if not self._buf and n >= _READ:
                return self._read_plain(n)  # big reads of a plain tar skip the buffer
            while len(self._buf) < n:
                if not (data := self._read_src(max(_READ, n - len(self._buf)))):
                    break
                self._take(data)
                self._buf += data
        else:
            while len(self._buf) < n and (chunk := next(self._out, None)) is not None:
                self._buf += chunk
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def _read_plain(self, n: int) -> bytes:
        parts = []
        while n and (data := self._read_src(n)):
            self._take(data)
            parts.append(data)
            n -= len(data)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def chunks(self) -> Iterator[bytes]:
        """The rest of the uncompressed stream, in pieces as they come."""
        if self._buf:
            yield bytes(self._buf)
            self._buf.clear()
        if self._engine is not None:
            yield from self._out
        else:
            while data := self._read_plain(_READ):
                yield data

    def drain(self) -> None:
        """Read (and hash) the rest of the stream, e.g. padding after the end of the tar."""
        for _ in self.chunks():
            pass

    def digest(self) -> str:
        """``sha256:<hex>`` of all uncompressed bytes read so far."""
        return "sha256:" + self._hash.hexdigest()
