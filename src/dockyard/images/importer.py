"""``docker import``: a root filesystem tar (plain or compressed) becomes a one-layer image."""

from __future__ import annotations

import datetime
import posixpath
import tarfile
from typing import TYPE_CHECKING, BinaryIO

from dockyard.errors import Corrupt, Forbidden, InvalidArgument
from dockyard.images.changes import apply_changes
from dockyard.images.content import LocalStore, LocalWriter
from dockyard.oci import (
    Descriptor,
    Digest,
    History,
    ImageConfig,
    Manifest,
    mediatypes,
    parse_reference,
)
from dockyard.oci.platform import Platform, host_platform

if TYPE_CHECKING:
    from dockyard.images.image import Image
    from dockyard.images.store import ImageStore

__all__ = ["import_rootfs", "now_rfc3339"]


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def import_rootfs(store: ImageStore, src: BinaryIO, name: str = "", *, source: str = "-",
                  changes: list[str] | None = None, message: str = "",
                  platform: Platform | None = None) -> Image:
    """Import the tar in ``src`` as an image tagged ``name`` (untagged when empty).
    Bad input (a reference, a change, not a tar) raises before anything is stored."""
    tag = str(parse_reference(name)) if name else ""
    runtime = apply_changes({}, changes or [])
    plat = platform or host_platform()
    writer, diff_id = ingest_tar(store.content, src, source)
    with store.writing():
        size = writer.size
        writer.commit(diff_id)
        created = now_rfc3339()
        cfg = ImageConfig(plat.architecture, plat.os, (diff_id,), runtime, created,
                          variant=plat.variant,
                          history=(History(created, "", message or f"Imported from {source}"),),
                          extra={"comment": message} if message else {})
        raw = cfg.to_bytes()
        cfg_digest = store.content.write(raw)
        manifest = Manifest(Descriptor(mediatypes.OCI_CONFIG, cfg_digest, len(raw)),
                            (Descriptor(mediatypes.OCI_LAYER, diff_id, size),))
        image, _ = store.register(manifest, [tag] if tag else [], hold=False)
    return image


def ingest_tar(store: LocalStore, src: BinaryIO, where: str) -> tuple[LocalWriter, Digest]:
    """Write ``src``, decompressed, to an ingest file and check it is a tar archive.
    Returns the *uncommitted* writer and the diff id; commit or abort it."""
    from dockyard.images.layers import ALL_FORMATS, Decompressor  # ~10 ms: not for `run`

    w = store.writer()
    try:
        try:
            d = Decompressor(src, formats=ALL_FORMATS, what=where)
            for chunk in d.chunks():
                w.write(chunk)
        except (Corrupt, Forbidden) as err:
            raise InvalidArgument(str(err)) from None
        check_tar(w, where)
    except BaseException:
        w.abort()
        raise
    return w, Digest.parse(d.digest())


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
