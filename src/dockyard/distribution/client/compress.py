"""Gzip for uncompressed layers on their way to a registry, as docker pushes them:
level 1 (fast), each layer in its own thread (zlib lets go of the GIL), into a
scratch file that is deleted after the push."""

from __future__ import annotations

import asyncio
import hashlib
import os
import zlib
from dataclasses import replace
from pathlib import Path

from dockyard.oci import Descriptor, Digest, mediatypes

__all__ = ["LEVEL", "gzip_layer"]

LEVEL = 1
_CHUNK = 1 << 20


def _gzip_file(src: Path, dest: Path) -> tuple[Digest, int]:
    """Gzip ``src`` into ``dest``; returns the digest and size of the result."""
    z = zlib.compressobj(LEVEL, zlib.DEFLATED, 31)  # 31: gzip header and trailer
    h = hashlib.sha256()
    size = 0
    with open(src, "rb") as fin, open(dest, "wb") as fout:
        while chunk := fin.read(_CHUNK):
            out = z.compress(chunk)
            fout.write(out)
            h.update(out)
            size += len(out)
        out = z.flush()
        fout.write(out)
        h.update(out)
        size += len(out)
    return Digest("sha256", h.hexdigest()), size


async def gzip_layer(desc: Descriptor, src: Path, scratch: Path
                     ) -> tuple[Descriptor, Path]:
    """The descriptor and file of ``desc`` gzipped (``desc`` and ``src`` unchanged when
    the layer is compressed already)."""
    if desc.media_type != mediatypes.OCI_LAYER:
        return desc, src
    scratch.mkdir(parents=True, exist_ok=True)
    dest = scratch / f"{desc.digest.hex}.{os.getpid()}.gz"
    try:
        digest, size = await asyncio.to_thread(_gzip_file, src, dest)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return replace(desc, media_type=mediatypes.OCI_LAYER_GZIP, digest=digest, size=size), dest
