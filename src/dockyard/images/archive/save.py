"""``docker save``: one tar that is both an OCI image layout and a docker-archive.

Like docker ≥ 25: ``blobs/sha256/<hex>`` hold manifests, configs and layers; ``index.json``
and ``oci-layout`` make it an OCI layout, ``manifest.json`` and ``repositories`` a
docker-archive over the same blobs. ``format`` ``oci`` or ``docker`` writes only one face.
Entries are sorted with fixed owners and times, so equal inputs give equal bytes.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, BinaryIO

from dockyard.errors import InvalidArgument, NotFound
from dockyard.images.image import Image, familiar
from dockyard.oci import Descriptor, Digest, Index, dumps, mediatypes, parse_reference
from dockyard.oci.layout import (
    CONTAINERD_NAME,
    INDEX_FILE,
    LAYOUT_FILE,
    MANIFEST_FILE,
    REF_NAME,
    REPOSITORIES_FILE,
    blob_path,
    layout_file_bytes,
)

if TYPE_CHECKING:
    from dockyard.images.store import ImageStore

__all__ = ["FORMATS", "save"]

FORMATS = ("both", "oci", "docker")
Progress = Callable[[int], None]


def _select(store: ImageStore, refs: list[str]) -> list[tuple[Image, list[str]]]:
    """Images to save, each with the full names to record (docker: a bare repository
    name saves every tag of it; an id saves no name)."""
    chosen: dict[str, tuple[Image, list[str]]] = {}
    for ref in refs:
        names: list[str] = []
        try:
            bare = parse_reference(ref, default_tag="")
        except InvalidArgument:
            bare = None
        if bare is not None and not bare.tag and bare.digest is None:
            hits = [img for img in store.list()
                    if any(n.rsplit(":", 1)[0] == bare.name for n in img.names)]
            if hits:
                for img in hits:
                    entry = chosen.setdefault(str(img.id), (img, []))
                    entry[1].extend(n for n in img.names if n.rsplit(":", 1)[0] == bare.name
                                    and n not in entry[1])
                continue
        try:
            img, name = store.lookup(ref)
        except NotFound:
            img, name = store.resolve(ref), str(parse_reference(ref))  # the default image
        if name and "@" not in name:
            names.append(name)
        entry = chosen.setdefault(str(img.id), (img, []))
        entry[1].extend(n for n in names if n not in entry[1])
    return list(chosen.values())


def _info(name: str, size: int = 0, kind: bytes = tarfile.REGTYPE) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.size, ti.type, ti.mtime, ti.uid, ti.gid = size, kind, 0, 0, 0
    ti.mode = 0o755 if kind == tarfile.DIRTYPE else 0o444
    return ti


class _Counting(io.RawIOBase):
    def __init__(self, src: BinaryIO, progress: Progress | None) -> None:
        self.src, self.progress = src, progress

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        data = self.src.read(len(b))
        b[:len(data)] = data
        if self.progress and data:
            self.progress(len(data))
        return len(data)


def total_size(store: ImageStore, refs: list[str]) -> int:
    """Bytes of blobs ``save`` would write (for a progress bar)."""
    seen: dict[Digest, int] = {}
    for img, _ in _select(store, refs):
        for d in (img.manifest.config, *img.manifest.layers):
            seen[d.digest] = d.size
    return sum(seen.values())


def save(store: ImageStore, refs: list[str], out: BinaryIO, format: str = "both",
         progress: Progress | None = None) -> None:
    """Write the images ``refs`` name to ``out`` as a tar."""
    if format not in FORMATS:
        raise InvalidArgument(f"invalid --format {format!r}: want oci or docker")
    if not refs:
        raise InvalidArgument("save: at least one image is needed")
    images = _select(store, refs)
    blobs: dict[Digest, int] = {}
    index: list[Descriptor] = []
    manifest_json: list[dict[str, Any]] = []
    repositories: dict[str, dict[str, str]] = {}
    for img, names in images:
        m = img.manifest
        if format != "docker":
            blobs[img.manifest_digest] = store.content.info(img.manifest_digest).size
        for d in (m.config, *m.layers):
            blobs[d.digest] = d.size
        mdesc = Descriptor(mediatypes.OCI_MANIFEST, img.manifest_digest, blobs.get(
            img.manifest_digest) or store.content.info(img.manifest_digest).size)
        for name in names or [""]:
            ann = {}
            if name:
                ann = {CONTAINERD_NAME: name, REF_NAME: parse_reference(name).tag}
            index.append(Descriptor(mdesc.media_type, mdesc.digest, mdesc.size, ann))
        manifest_json.append({"Config": blob_path(m.config.digest),
                              "RepoTags": [familiar(n) for n in names] or None,
                              "Layers": [blob_path(d.digest) for d in m.layers]})
        for name in names:
            ref = parse_reference(name)
            if m.layers:
                repositories.setdefault(ref.familiar_name, {})[ref.tag] = m.layers[-1].digest.hex
    files: list[tuple[str, bytes]] = []
    if format != "docker":
        files += [(LAYOUT_FILE, layout_file_bytes()),
                  (INDEX_FILE, Index(tuple(index)).to_bytes())]
    if format != "oci":
        files += [(MANIFEST_FILE, dumps(manifest_json))]
        if repositories:
            files.append((REPOSITORIES_FILE, dumps(repositories)))
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tf:
        algs = sorted({d.algorithm for d in blobs})
        tf.addfile(_info("blobs", kind=tarfile.DIRTYPE))
        for alg in algs:
            tf.addfile(_info(f"blobs/{alg}", kind=tarfile.DIRTYPE))
        for digest in sorted(blobs):
            with store.content.open(digest) as f:
                size = store.content.info(digest).size
                tf.addfile(_info(blob_path(digest), size), _Counting(f, progress))
        for name, data in sorted(files):
            tf.addfile(_info(name, len(data)), io.BytesIO(data))
