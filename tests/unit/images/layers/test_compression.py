"""Compression detection, hashing while streaming, truncation and bomb limits: every
format, concatenated members, output bounded per step (a bomb never sits in memory)."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import random
from collections.abc import Callable

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.errors import Corrupt, Forbidden
from dockyard.images.layers import ALL_FORMATS, Decompressor, Limits, detect_compression
from dockyard.images.layers.compression import STEP, ZSTD_FEED

from .tarbuild import gz, zst

DATA = random.Random(5).randbytes(300_000) + b"\0" * 700_000
COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress, "bzip2": bz2.compress, "xz": lzma.compress,
    "zstd": lambda d: zstandard.ZstdCompressor().compress(d),
}


def read_all(data: bytes, limits: Limits | None = None, n: int = 7000) -> tuple[bytes, str]:
    d = Decompressor(io.BytesIO(data), limits or Limits(), formats=ALL_FORMATS)
    out = bytearray()
    while chunk := d.read(n):
        out += chunk
    return bytes(out), d.digest()


@pytest.mark.parametrize(("head", "kind"), [(b"\x1f\x8b\x08", "gzip"),
                                            (b"\x28\xb5\x2f\xfd", "zstd"),
                                            (b"BZh91AY", "bzip2"), (b"\xfd7zXZ\x00\x00", "xz"),
                                            (b"\x04\x22\x4d\x18", "lz4"),
                                            (b"etc/passwd\0", ""), (b"", "")])
def test_detect(head: bytes, kind: str) -> None:
    assert detect_compression(head) == kind


@pytest.mark.parametrize("name", ["bzip2", "xz", "lz4"])
def test_a_layer_in_another_compression_is_refused_by_name(name: str) -> None:
    data = {"bzip2": bz2.compress(b"x"), "xz": lzma.compress(b"x"),
            "lz4": b"\x04\x22\x4d\x18rest"}[name]
    with pytest.raises(Corrupt, match=f"^layer: unsupported compression {name} "
                                      r"\(want tar or one of gzip, zstd\)$"):
        Decompressor(io.BytesIO(data))
    with pytest.raises(Corrupt, match=f"^x.tar: unsupported compression {name}"):
        Decompressor(io.BytesIO(data), formats=("gzip",), what="x.tar")


@pytest.mark.parametrize("kind", [*COMPRESSORS, ""])
def test_every_format_round_trips_with_concatenated_members(kind: str) -> None:
    comp = COMPRESSORS.get(kind, lambda d: d)
    d = Decompressor(io.BytesIO(comp(DATA)), formats=ALL_FORMATS)
    assert (d.compression, b"".join(d.chunks())) == (kind, DATA)
    assert d.digest() == "sha256:" + hashlib.sha256(DATA).hexdigest()
    assert read_all(comp(DATA[:1000]) + comp(DATA[1000:5000]))[0] == DATA[:5000]


@pytest.mark.parametrize("kind", list(COMPRESSORS))
@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_damaged_streams_are_corrupt(kind: str, damage: str) -> None:
    blob = bytearray(COMPRESSORS[kind](DATA))
    if damage == "truncate":
        del blob[-60:]
    else:
        for i in range(20, min(len(blob), 4000), 7):
            blob[i] ^= 0x5A
    try:
        out, _ = read_all(bytes(blob))
    except Corrupt as err:
        assert "\n" not in str(err) and str(err).startswith("layer: ")
    else:  # zstd frames carry no checksum by default: damage may decode; digests catch it
        assert kind == "zstd" and damage == "garbage" and out != DATA


@pytest.mark.parametrize("kind", list(COMPRESSORS))
def test_a_bomb_comes_out_in_bounded_chunks(kind: str) -> None:
    bomb = COMPRESSORS[kind](b"\0" * (16 << 20))
    d = Decompressor(io.BytesIO(bomb), Limits(max_ratio=1e9), formats=ALL_FORMATS)
    total = 0
    # zstd is fed ZSTD_FEED bytes at a time and expands at most ~32768x per step
    bound = ZSTD_FEED * 32768 if kind == "zstd" else STEP
    for chunk in d.chunks():
        assert len(chunk) <= bound
        total += len(chunk)
    assert total == 16 << 20


@given(st.binary(max_size=300_000), st.sampled_from(["tar", "gzip", "zstd"]),
       st.integers(1, 100_000))
@settings(max_examples=40, deadline=None)
def test_round_trip_and_digest(payload: bytes, kind: str, n: int) -> None:
    data = {"tar": payload, "gzip": gz(payload), "zstd": zst(payload)}[kind]
    if kind == "tar" and detect_compression(payload):
        return  # raw bytes that happen to start with a magic number are not a tar
    out, digest = read_all(data, n=n)
    assert out == payload
    assert digest == "sha256:" + hashlib.sha256(payload).hexdigest()


def test_multi_member_gzip() -> None:
    out, _ = read_all(gz(b"first ") + gz(b"second"))
    assert out == b"first second"


def test_gzip_followed_by_zero_padding() -> None:
    out, _ = read_all(gz(b"abc") + b"\0" * 600)
    assert out == b"abc"


def test_gzip_followed_by_garbage_is_corrupt() -> None:
    with pytest.raises(Corrupt, match="trailing garbage"):
        read_all(gz(b"abc") + b"garbage")


@pytest.mark.parametrize("kind", ["gzip", "zstd"])
def test_truncated_compressed_stream_is_corrupt(kind: str) -> None:
    payload = bytes(range(256)) * 2000
    data = gz(payload) if kind == "gzip" else zst(payload)
    with pytest.raises(Corrupt, match=f"truncated {kind} stream"):
        read_all(data[: len(data) // 2])


def test_corrupt_gzip_data() -> None:
    data = bytearray(gz(bytes(range(256)) * 100))
    data[20:40] = b"\xff" * 20
    with pytest.raises(Corrupt, match="bad gzip data"):
        read_all(bytes(data))


def test_gzip_bomb_refused_by_ratio() -> None:
    bomb = gz(b"\0" * (64 << 20))  # 64 MiB of zeros in ~64 KiB
    with pytest.raises(Forbidden, match=r"gzip stream expands more than 50x"):
        read_all(bomb, Limits(max_ratio=50, ratio_grace=1 << 20), n=1 << 20)


def test_zstd_bomb_refused_with_default_limits() -> None:
    # 1 GiB of zeros compresses to a few KiB: the default ratio limit stops it early,
    # long before a gigabyte is produced.
    cctx = zstandard.ZstdCompressor(level=3)
    buf = io.BytesIO()
    with cctx.stream_writer(buf, closefd=False) as w:
        block = b"\0" * (1 << 20)
        for _ in range(1024):
            w.write(block)
    d = Decompressor(io.BytesIO(buf.getvalue()), Limits())
    with pytest.raises(Forbidden, match="decompression bomb"):
        while d.read(1 << 20):
            pass
    assert d.size < 256 << 20


def test_size_limit() -> None:
    with pytest.raises(Forbidden, match=r"Limits\.max_size"):
        read_all(b"x" * 5000, Limits(max_size=4096))


def test_small_layers_of_zeros_stay_legal() -> None:
    out, _ = read_all(gz(b"\0" * (1 << 20)))  # 1000x, but under the grace size
    assert len(out) == 1 << 20


def test_read_error_is_corrupt() -> None:
    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, b: object) -> int:
            raise OSError(5, "Input/output error")

    with pytest.raises(Corrupt, match="reading the stream failed"):
        Decompressor(Broken(), Limits())  # type: ignore[arg-type]


def test_gzip_module_agrees_on_content() -> None:
    payload = b"layer" * 1000
    assert gzip.decompress(gz(payload)) == read_all(gz(payload))[0]
