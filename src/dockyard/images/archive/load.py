"""``docker load``: a docker-archive (docker's, skopeo's, legacy or ≥ 25) or an OCI image
layout, as a tar (plain or compressed) on a stream.

Every file goes to an ingest file as it streams by, hashed on the way. Nothing is
published until the whole archive is read and checked: names, digests, sizes, media
types, diff ids. On any error every ingest file is dropped and the store is unchanged.
Then blobs are published under a lease and the images recorded in one transaction each.
"""

from __future__ import annotations

import posixpath
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO, cast

from dockyard.errors import Corrupt, InvalidArgument, InvalidConfig
from dockyard.images.content import LocalWriter
from dockyard.oci import (
    Descriptor,
    Digest,
    Digester,
    ImageConfig,
    Index,
    Manifest,
    host_platform,
    loads,
    mediatypes,
    parse_document,
    parse_reference,
)
from dockyard.oci.layout import (
    CONTAINERD_NAME,
    INDEX_FILE,
    LAYOUT_FILE,
    LAYOUT_VERSION,
    MANIFEST_FILE,
    REF_NAME,
)

if TYPE_CHECKING:
    from dockyard.images.image import Image
    from dockyard.images.store import ImageStore

__all__ = ["load"]

Progress = Callable[[int], None]
SMALL = 16 << 20  # manifests, configs, indexes are read whole up to this size


@dataclass
class _Staged:
    """The archive's files, each in an uncommitted ingest file."""

    files: dict[str, LocalWriter] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    used: dict[Digest, LocalWriter] = field(default_factory=dict)

    def get(self, name: str, where: str) -> LocalWriter:
        seen = set()
        name = _clean(name, where)
        while name in self.links and name not in seen:
            seen.add(name)
            name = self.links[name]
        w = self.files.get(name)
        if w is None:
            raise Corrupt(f"{where}: archive has no file {name!r}")
        return w

    def read(self, name: str, where: str) -> bytes:
        w = self.get(name, where)
        if w.size > SMALL:
            raise InvalidArgument(f"{name}: larger than {SMALL} bytes")
        return w.path.read_bytes()

    def use(self, w: LocalWriter, want: Descriptor | None, where: str) -> Digest:
        d = w.digest()
        if want is not None:
            if want.digest.algorithm != d.algorithm:
                d = _rehash(w, want.digest.algorithm)
            if d != want.digest:
                raise Corrupt(f"{where}: blob {want.digest}: digest mismatch (got {d})")
            if w.size != want.size:
                raise Corrupt(f"{where}: blob {want.digest}: size {w.size}, want {want.size}")
        self.used[d] = w
        return d

    def abort(self) -> None:
        for w in self.files.values():
            w.abort()


def _clean(name: str, where: str) -> str:
    norm = posixpath.normpath(name.lstrip("/")) if name else ""
    if not norm or norm == "." or norm.startswith("../") or norm == "..":
        raise InvalidArgument(f"{where}: bad path {name!r} in archive")
    return norm


def _rehash(w: LocalWriter, algorithm: str) -> Digest:
    h = Digester(algorithm)
    with open(w.path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.digest()


def _diff_id(w: LocalWriter, where: str) -> tuple[Digest, str]:
    """The uncompressed tar's digest and the blob's compression."""
    from dockyard.images.layers import Decompressor, detect_compression  # not for `run`

    with open(w.path, "rb") as f:
        if not detect_compression(f.read(8)):
            return w.digest(), ""
        f.seek(0)
        d = Decompressor(f, what=where)
        d.drain()
    return Digest.parse(d.digest()), d.compression


def _stage(store: ImageStore, src: BinaryIO, staged: _Staged) -> None:
    try:
        tf = tarfile.open(fileobj=src, mode="r|*")  # noqa: SIM115
    except (tarfile.TarError, EOFError) as err:
        raise InvalidArgument(f"load: not a tar archive ({err})") from None
    try:
        for member in tf:
            where = f"archive entry {member.name!r}"
            name = _clean(member.name, where)
            if member.isdir():
                continue
            if name in staged.files or name in staged.links:
                raise InvalidArgument(f"{where}: the archive holds this path twice")
            if member.issym() or member.islnk():
                target = member.linkname if member.islnk() else posixpath.join(
                    posixpath.dirname(name), member.linkname)
                staged.links[name] = _clean(target, where)
                continue
            if not member.isfile():
                raise InvalidArgument(f"{where}: unexpected file type in an image archive")
            body = tf.extractfile(member)
            assert body is not None
            w = store.content.writer()
            staged.files[name] = w
            got = w.copy_from(body)  # type: ignore[arg-type]
            w.seal()
            if got != member.size:
                raise Corrupt(f"{where}: truncated ({got} of {member.size} bytes)")
    except (tarfile.TarError, EOFError) as err:
        raise InvalidArgument(f"load: bad tar archive: {err}") from None
    finally:
        tf.close()
    if not staged.files:
        raise InvalidArgument("load: the archive holds no files")


def _docker_archive(staged: _Staged) -> list[tuple[Manifest, list[str]]]:
    entries = loads(staged.read(MANIFEST_FILE, MANIFEST_FILE), MANIFEST_FILE)
    if not isinstance(entries, list) or not entries:
        raise InvalidConfig(f"{MANIFEST_FILE}: want a non-empty list")
    out = []
    for i, e in enumerate(entries):
        where = f"{MANIFEST_FILE}[{i}]"
        if not isinstance(e, dict) or not isinstance(e.get("Config"), str) \
                or not isinstance(e.get("Layers"), list):
            raise InvalidConfig(f"{where}: want Config and Layers")
        cw = staged.get(e["Config"], f"{where}.Config")
        cfg = ImageConfig.from_bytes(staged.read(e["Config"], where), e["Config"])
        cdigest = staged.use(cw, None, where)
        if len(cfg.diff_ids) != len(e["Layers"]):
            raise Corrupt(f"{where}: config lists {len(cfg.diff_ids)} layers, "
                          f"archive {len(e['Layers'])}")
        layers = []
        for j, path in enumerate(e["Layers"]):
            lw = staged.get(str(path), f"{where}.Layers[{j}]")
            diff_id, kind = _diff_id(lw, str(path))
            if diff_id != cfg.diff_ids[j]:
                raise Corrupt(f"{path}: layer diff id {diff_id} does not match the config's "
                              f"{cfg.diff_ids[j]}")
            digest = staged.use(lw, None, str(path))
            layers.append(Descriptor(mediatypes.layer_type(kind), digest, lw.size))
        tags = e.get("RepoTags") or []
        for t in tags:
            parse_reference(str(t))
        out.append((Manifest(Descriptor(mediatypes.OCI_CONFIG, cdigest, cw.size),
                             tuple(layers)), [str(t) for t in tags]))
    return out


def _oci_layout(staged: _Staged) -> list[tuple[Manifest, list[str]]]:
    layout = loads(staged.read(LAYOUT_FILE, LAYOUT_FILE), LAYOUT_FILE)
    if not isinstance(layout, dict) or layout.get("imageLayoutVersion") != LAYOUT_VERSION:
        raise InvalidConfig(f"{LAYOUT_FILE}: imageLayoutVersion: want {LAYOUT_VERSION!r}")
    index = Index.from_json(loads(staged.read(INDEX_FILE, INDEX_FILE), INDEX_FILE), INDEX_FILE)
    out = []
    here = host_platform()
    entries = list(enumerate(index.manifests))
    if any(d.platform is not None for _, d in entries):  # a multi-platform layout
        entries = [(i, d) for i, d in entries if d.platform is None or here.matches(d.platform)]
        if not entries:
            raise InvalidArgument(f"{INDEX_FILE}: no image for platform {here}")
    for i, desc in entries:
        manifest = _resolve(staged, desc, f"{INDEX_FILE}.manifests[{i}]", 0)
        names = []
        full = desc.annotations.get(CONTAINERD_NAME) or desc.annotations.get(REF_NAME, "")
        if full and ("/" in full or ":" in full):
            try:
                names.append(str(parse_reference(full)))
            except InvalidArgument:
                pass  # a bare tag like ``latest`` names no repository
        out.append((manifest, names))
    return out


def _blob(staged: _Staged, desc: Descriptor, where: str) -> LocalWriter:
    w = staged.get(f"blobs/{desc.digest.algorithm}/{desc.digest.hex}", where)
    staged.use(w, desc, where)
    return w


def _resolve(staged: _Staged, desc: Descriptor, where: str, depth: int) -> Manifest:
    if depth > 4:
        raise InvalidConfig(f"{where}: indexes nested too deep")
    raw = staged.read(f"blobs/{desc.digest.algorithm}/{desc.digest.hex}", where)
    _blob(staged, desc, where)
    doc = parse_document(raw, f"blob {desc.digest}", desc.media_type)
    if isinstance(doc, Index):
        picks = doc.select(host_platform())
        if not picks:
            raise InvalidArgument(f"{where}: no image for platform {host_platform()}")
        return _resolve(staged, picks[0], f"{where} ({picks[0].digest})", depth + 1)
    cw = _blob(staged, doc.config, f"{where}.config")
    cfg = ImageConfig.from_bytes(staged.read(
        f"blobs/{doc.config.digest.algorithm}/{doc.config.digest.hex}", where),
        f"config {doc.config.digest}")
    del cw
    if len(cfg.diff_ids) != len(doc.layers):
        raise Corrupt(f"{where}: config lists {len(cfg.diff_ids)} layers, manifest "
                      f"{len(doc.layers)}")
    for j, layer in enumerate(doc.layers):
        lw = _blob(staged, layer, f"{where}.layers[{j}]")
        diff_id, kind = _diff_id(lw, f"blob {layer.digest}")
        if diff_id != cfg.diff_ids[j]:
            raise Corrupt(f"blob {layer.digest}: layer diff id {diff_id} does not match the "
                          f"config's {cfg.diff_ids[j]}")
        if kind != mediatypes.compression_of(layer.media_type):
            raise Corrupt(f"blob {layer.digest}: compression {kind or 'none'} does not match "
                          f"media type {layer.media_type}")
    return doc


def load(store: ImageStore, src: BinaryIO, progress: Progress | None = None, *,
         unpack: bool = False) -> list[str]:
    """Load every image in the archive; returns docker's lines (``Loaded image: …``).
    With ``unpack`` (docker's behaviour, the CLI's default) the layers are also applied
    to snapshots; if one is refused (a hostile layer) the load is undone."""
    staged = _Staged()
    undo = _Undo()
    undone = False
    try:
        _stage(store, cast(BinaryIO, _Reader(src, progress)), staged)
        if MANIFEST_FILE in staged.files:
            images = _docker_archive(staged)
        elif INDEX_FILE in staged.files:
            images = _oci_layout(staged)
        else:
            raise InvalidArgument("load: neither a docker-archive (manifest.json) nor an OCI "
                                  "layout (index.json)")
        for digest in staged.used:
            if digest.algorithm != "sha256":
                raise InvalidArgument(f"blob {digest}: only sha256 blobs can be stored")
        lines: list[str] = []
        loaded = []
        with store.writing():
            for digest, w in staged.used.items():
                if not store.content.exists(digest):
                    undo.blobs.append(digest)
                w.commit(digest)
            for manifest, names in images:
                undo.before(store, manifest, names)
                img, moved = store.register(manifest, names, hold=False)
                loaded.append(img)
                lines += _report(store, img, names, moved)
            if unpack:  # still holding off gc: a prune cannot take what we just loaded
                try:
                    for img in loaded:
                        store.unpack(img)
                except BaseException:
                    undo.run(store)
                    undone = True
                    raise
        return lines
    finally:
        staged.abort()
        if undone:  # outside writing(): only now can the blobs we added be collected
            store.discard_blobs(undo.blobs)


@dataclass
class _Undo:
    """What a load changed, to take it back when unpacking fails."""

    blobs: list[Digest] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    tags: dict[str, str | None] = field(default_factory=dict)  # name -> previous image

    def before(self, store: ImageStore, manifest: Manifest, names: list[str]) -> None:
        image_id = str(manifest.config.digest)
        if store.records.get(image_id) is None:
            self.images.append(image_id)
        mdigest = Digest.of(manifest.to_oci().to_bytes())
        if not store.content.exists(mdigest):
            self.blobs.append(mdigest)
        for name in names:
            full = str(parse_reference(name))
            self.tags.setdefault(full, store.records.tag_target(full))

    def run(self, store: ImageStore) -> None:
        with store.writing():
            for name, previous in self.tags.items():
                if previous is None:
                    store.records.untag(name)
                else:
                    store.records.tag(name, previous)
            for image_id in self.images:
                store.records.delete(image_id)
        # The blobs this load added are not deleted here: another load may have found
        # them present and be about to record an image that uses them. The caller
        # hands them to ImageStore.discard_blobs once it has left writing().


def _report(store: ImageStore, img: Image, names: list[str],
            moved: dict[str, str]) -> list[str]:
    from dockyard.images.image import familiar

    lines = []
    for name, old in moved.items():
        lines.append(f"The image {familiar(name)} already exists, renaming the old one "
                     f"with ID {old} to empty string")
    if names:
        lines += [f"Loaded image: {familiar(str(parse_reference(n)))}" for n in names]
    else:
        lines.append(f"Loaded image ID: {img.id}")
    return lines


class _Reader:
    """Counts bytes read for the progress bar."""

    def __init__(self, src: BinaryIO, progress: Progress | None) -> None:
        self.src, self.progress = src, progress

    def read(self, n: int = -1) -> bytes:
        data = self.src.read(n)
        if self.progress and data:
            self.progress(len(data))
        return data
