"""Decompress a layer stream (tar, gzip or zstd) while hashing the uncompressed bytes.

The reader yields the uncompressed tar in bounded pieces: every decompressor call is fed a
small slice of input so one call can never expand into gigabytes, and the totals are
checked against :class:`Limits` as they grow. The sha256 of everything read (the layer's
diff id) is available once the stream is exhausted.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from dockyard.errors import Corrupt, Forbidden

__all__ = ["Decompressor", "Limits", "detect_compression"]

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_OTHER_MAGIC = {b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz", b"\x04\x22\x4d\x18": "lz4"}

# Input fed to a decompressor per call. A zstd RLE block turns 4 bytes into 128 KiB, so a
# 1 KiB slice bounds one call's output to ~32 MiB even for a hostile stream.
_FEED = 1024
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
    """``"gzip"``, ``"zstd"`` or ``"tar"`` from the first bytes; other formats raise."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    for magic, name in _OTHER_MAGIC.items():
        if head.startswith(magic):
            raise Corrupt(f"layer: unsupported compression {name} (want tar, gzip or zstd)")
    return "tar"


class _Engine(Protocol):
    def feed(self, data: bytes) -> bytes: ...
    def finished(self) -> bool: ...


class _Frames:
    """A stream of concatenated frames (multi-member gzip, as ``gzip -c a b`` writes and
    some registries serve; zstd frames likewise), with zero padding allowed at the end.
    ``new`` makes a decompressor for one frame; ``magic``, when given, is what a next
    frame must start with (anything else after the last one is trailing garbage)."""

    def __init__(self, name: str, new: Callable[[], Any], error: type[Exception],
                 magic: bytes = b"") -> None:
        self._name, self._new, self._error, self._magic = name, new, error, magic
        self._d = new()
        self._between = False  # a frame ended; the next bytes must start a new one

    def feed(self, data: bytes) -> bytes:
        out: list[bytes] = []
        while data:
            if self._between:
                if not data.strip(b"\0"):
                    return b"".join(out)
                if self._magic and not data.startswith(self._magic[: len(data)]):
                    raise Corrupt(f"layer: trailing garbage after the {self._name} stream")
                self._d = self._new()
                self._between = False
            try:
                out.append(self._d.decompress(data))
            except self._error as e:
                raise Corrupt(f"layer: bad {self._name} data: {e}")
            if self._d.eof:
                data = self._d.unused_data
                self._between = True
            else:
                data = b""
        return b"".join(out)

    def finished(self) -> bool:
        return self._between


def _gzip() -> _Frames:
    return _Frames("gzip", lambda: zlib.decompressobj(16 + zlib.MAX_WBITS), zlib.error,
                   GZIP_MAGIC)


def _zstd() -> _Frames:
    import zstandard

    return _Frames("zstd", lambda: zstandard.ZstdDecompressor().decompressobj(),
                   zstandard.ZstdError)


class Decompressor:
    """A file-like ``read(n)`` over the uncompressed layer, hashing what it returns."""

    def __init__(self, stream: BinaryIO, limits: Limits) -> None:
        self._src = stream
        self._limits = limits
        head = self._read_src(_READ)
        self.compression = detect_compression(head)
        self._engine: _Engine | None = None
        if self.compression == "gzip":
            self._engine = _gzip()
        elif self.compression == "zstd":
            self._engine = _zstd()
        self._pending = head  # compressed (or raw) input not yet fed
        self._buf = bytearray()  # uncompressed output not yet returned
        self._hash = hashlib.sha256()
        self.compressed_size = len(head)
        self.size = 0  # uncompressed bytes produced so far
        self._eof = False

    def _read_src(self, n: int) -> bytes:
        try:
            return self._src.read(n) or b""
        except OSError as e:
            raise Corrupt(f"layer: reading the stream failed: {e}")

    def _fill(self, want: int) -> None:
        while len(self._buf) < want and not self._eof:
            if not self._pending:
                self._pending = self._read_src(_READ)
                self.compressed_size += len(self._pending)
                if not self._pending:
                    self._eof = True
                    if self._engine is not None and not self._engine.finished():
                        raise Corrupt(f"layer: truncated {self.compression} stream")
                    break
            if self._engine is None:
                chunk, self._pending = self._pending, b""
            else:
                piece, self._pending = self._pending[:_FEED], self._pending[_FEED:]
                chunk = self._engine.feed(piece)
            self._account(len(chunk))
            self._hash.update(chunk)
            self._buf += chunk

    def _account(self, n: int) -> None:
        self.size += n
        lim = self._limits
        if self.size > lim.max_size:
            raise Forbidden(f"layer: uncompressed size exceeds the limit of {lim.max_size} "
                            "bytes (Limits.max_size)")
        if (self._engine is not None and self.size > lim.ratio_grace
                and self.size > lim.max_ratio * max(self.compressed_size, 1)):
            raise Forbidden(
                f"layer: {self.compression} stream expands more than {lim.max_ratio:g}x "
                "(decompression bomb? raise Limits.max_ratio to allow)")

    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes; fewer only at the end of the stream."""
        if self._engine is None and not self._buf and not self._pending and n >= _READ:
            return self._read_plain(n)  # big reads of a plain tar skip the buffer
        self._fill(n)
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def _read_plain(self, n: int) -> bytes:
        parts = []
        left = n
        while left and not self._eof:
            data = self._read_src(left)
            if not data:
                self._eof = True
                break
            self.compressed_size += len(data)
            self._account(len(data))
            self._hash.update(data)
            parts.append(data)
            left -= len(data)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def drain(self) -> None:
        """Read (and hash) the rest of the stream, e.g. padding after the end of the tar."""
        while self.read(_READ):
            pass

    def digest(self) -> str:
        """``sha256:<hex>`` of all uncompressed bytes read so far."""
        return "sha256:" + self._hash.hexdigest()
