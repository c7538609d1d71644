"""Gzipping and zstd-compressing layers for push: only plain OCI tars, the bytes round-trip, and the
descriptor names the result."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import os
from pathlib import Path

import pytest

from dockyard.distribution.client.compress import compress_layer, gzip_layer
from dockyard.errors import InvalidArgument
from dockyard.oci import Descriptor, Digest, mediatypes


def test_gzip_layer(tmp_path: Path) -> None:
    data = os.urandom(3 << 20) + b"\0" * (2 << 20)
    src = tmp_path / "layer"
    src.write_bytes(data)
    desc = Descriptor(mediatypes.OCI_LAYER, Digest.of(data), len(data))
    new, path = asyncio.run(gzip_layer(desc, src, tmp_path / "scratch"))
    packed = path.read_bytes()
    assert gzip.decompress(packed) == data
    assert new.media_type == mediatypes.OCI_LAYER_GZIP
    assert new.digest == Digest("sha256", hashlib.sha256(packed).hexdigest())
    assert new.size == len(packed) < len(data)
    again, _ = asyncio.run(gzip_layer(desc, src, tmp_path / "scratch2"))
    assert again.digest == new.digest  # deterministic, so a second push finds it present


def test_compressed_layers_pass_through(tmp_path: Path) -> None:
    src = tmp_path / "layer"
    src.write_bytes(b"x")
    for media_type in (mediatypes.OCI_LAYER_GZIP, mediatypes.OCI_LAYER_ZSTD,
                       mediatypes.DOCKER_LAYER):
        desc = Descriptor(media_type, Digest.of(b"x"), 1)
        assert asyncio.run(gzip_layer(desc, src, tmp_path / "s")) == (desc, src)
    assert not (tmp_path / "s").exists()


def test_zstd_layer(tmp_path: Path) -> None:
    import zstandard

    data = os.urandom(3 << 20) + b"\0" * (9 << 20)  # big enough for zstd's workers
    src = tmp_path / "layer"
    src.write_bytes(data)
    desc = Descriptor(mediatypes.OCI_LAYER, Digest.of(data), len(data))
    new, path = asyncio.run(compress_layer(desc, src, tmp_path / "scratch", "zstd"))
    packed = path.read_bytes()
    assert packed[:4] == b"\x28\xb5\x2f\xfd"  # zstd frame magic
    assert zstandard.ZstdDecompressor().decompress(packed) == data
    assert new.media_type == mediatypes.OCI_LAYER_ZSTD
    assert new.digest == Digest("sha256", hashlib.sha256(packed).hexdigest())
    assert new.size == len(packed) < len(data)
    again, _ = asyncio.run(compress_layer(desc, src, tmp_path / "scratch2", "zstd"))
    assert again.digest == new.digest  # deterministic despite the worker threads


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "layer"
    src.write_bytes(b"x")
    desc = Descriptor(mediatypes.OCI_LAYER, Digest.of(b"x"), 1)
    with pytest.raises(InvalidArgument, match="unsupported compression format 'lz4'"):
        asyncio.run(compress_layer(desc, src, tmp_path / "s", "lz4"))
    assert not (tmp_path / "s").exists()
