"""``ImageStore``: the facade the engine, the builder and the CLI use.

Resolve references, list, inspect, tag, remove, prune, gc, unpack into snapshots.
Import, load, save and check live in their own modules and take the store.
"""

from __future__ import annotations

import builtins
import fcntl
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from dockyard.errors import Conflict, Corrupt, InvalidArgument, NotFound
from dockyard.images.content import LocalStore
from dockyard.images.image import Image, familiar
from dockyard.images.metadata import Database, ImageRecord, Records
from dockyard.oci import (
    Digest,
    ImageConfig,
    Manifest,
    Reference,
    dumps,
    parse_document,
    parse_reference,
)
from dockyard.settings import Roots

if TYPE_CHECKING:
    from dockyard.images.check import CheckReport

__all__ = ["DEFAULT_IMAGE", "ImageStore", "InUse"]

DEFAULT_IMAGE = "docker.io/library/busybox:latest"
# image id -> containers using it, as (container id, running); provided by the engine.
InUse = Callable[[str], builtins.list[tuple[str, bool]]]
_HEX = re.compile(r"(?:sha256:)?([a-f0-9]{1,64})")


def _nobody_uses(image_id: str) -> builtins.list[tuple[str, bool]]:
    return []


class ImageStore:
    """Images of one engine (``roots``); safe to use from several processes at once."""

    def __init__(self, roots: Roots, in_use: InUse | None = None) -> None:
        self.roots = roots
        self.content = LocalStore(roots.content)
        self.db = Database(roots.metadata_db)
        self.records = Records(self.db)
        self.in_use: InUse = in_use or _nobody_uses
        roots.tmp.mkdir(parents=True, exist_ok=True)
        self._writers = 0
        self.unreadable: builtins.list[str] = []
        self._lock_fd = os.open(roots.content / "gc.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                                0o600)

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold off gc while blobs are written and recorded (shared with other writers;
        the kernel drops the lock if the process dies). Re-entrant."""
        if self._writers == 0:
            fcntl.flock(self._lock_fd, fcntl.LOCK_SH)
        self._writers += 1
        try:
            yield
        finally:
            self._writers -= 1
            if self._writers == 0:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def close(self) -> None:
        self.db.close()
        os.close(self._lock_fd)

    def __enter__(self) -> ImageStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -----------------------------------------------------------------------
    def get(self, image_id: str | Digest) -> Image:
        """The image with this full id."""
        rec = self.records.get(str(image_id))
        if rec is None:
            raise NotFound(f"no such image: {image_id}")
        return self._load(rec)

    def _load(self, rec: ImageRecord) -> Image:
        mdigest = Digest.parse(rec.manifest)
        doc = parse_document(self.content.read(mdigest), f"manifest {mdigest}")
        if not isinstance(doc, Manifest):
            raise Corrupt(f"image {rec.id}: manifest {mdigest} is not an image manifest")
        cfg = ImageConfig.from_bytes(self.content.read(doc.config.digest), f"config {rec.id}")
        return Image(Digest.parse(rec.id), rec.tags, rec.repo_digests, mdigest, doc, cfg,
                     rec.size, rec.added)

    def list(self) -> builtins.list[Image]:
        """Every readable image, newest first. Images whose manifest or config cannot
        be read (damaged store) are left out and their ids kept in ``unreadable``;
        ``check`` reports them."""
        out: builtins.list[Image] = []
        self.unreadable = []
        for rec in self.records.all():
            try:
                out.append(self._load(rec))
            except (NotFound, Corrupt, InvalidArgument):
                self.unreadable.append(rec.id)
        return out

    def lookup(self, ref: str) -> tuple[Image, str]:
        """Resolve without making the default image; returns the image and the full
        name matched (``""`` when matched by id)."""
        ref = ref.strip()
        parsed: Reference | None = None
        try:
            parsed = parse_reference(ref)
        except InvalidArgument:
            if not _HEX.fullmatch(ref):
                raise
        if parsed is not None:
            # With a digest the tag is ignored, as docker does (``name:tag@digest``).
            name = f"{parsed.name}@{parsed.digest}" if parsed.digest else str(parsed)
            target = (self.records.digest_target(name) if parsed.digest
                      else self.records.tag_target(name))
            if target is None and parsed.digest is not None:
                target = self._by_manifest(parsed)
            if target is not None:
                return self.get(target), name
        m = _HEX.fullmatch(ref)
        if m:
            ids = self.records.by_prefix(m.group(1))
            if len(ids) == 1:
                return self.get(ids[0]), ""
            if len(ids) > 1:
                raise InvalidArgument(f"ambiguous image id prefix: {ref}")
        raise NotFound(f"no such image: {ref}")

    def _by_manifest(self, ref: Reference) -> str | None:
        for rec in self.records.all():
            if rec.manifest == str(ref.digest) and any(
                    t.rsplit(":", 1)[0] == ref.name for t in rec.tags):
                return rec.id
        return None

    def resolve(self, ref: str) -> Image:
        """The image ``ref`` names (tag, digest, full or short id). ``busybox:latest`` is
        built from the host's busybox-static when asked for and missing."""
        try:
            return self.lookup(ref)[0]
        except NotFound:
            if not self._is_default(ref):
                raise
        return self.ensure_default_image()

    @staticmethod
    def _is_default(ref: str) -> bool:
        try:
            return str(parse_reference(ref)) == DEFAULT_IMAGE
        except InvalidArgument:
            return False

    def ensure_default_image(self) -> Image:
        """``busybox:latest`` from the host's busybox-static (see ``default.py``)."""
        from dockyard.images.default import build_default_image

        return build_default_image(self)

    # -- recording ---------------------------------------------------------------------
    def register(self, manifest: Manifest, tags: Iterable[str] = (),
                 repo_digests: Iterable[str] = (), *,
                 hold: bool = True) -> tuple[Image, dict[str, str]]:
        """Record an image whose blobs are already in the content store (writing the
        OCI manifest blob). Returns it and the tags moved from other images.

        ``hold=False`` when the caller already holds :meth:`writing` around writing
        the blobs (so gc cannot take them in between)."""
        if hold:
            with self.writing():
                return self.register(manifest, tags, repo_digests, hold=False)
        manifest = manifest.to_oci()
        for d in (manifest.config, *manifest.layers):
            if not self.content.exists(d.digest):
                raise NotFound(f"no such blob: {d.digest}")
        raw = manifest.to_bytes()
        mdigest = self.content.write(raw)
        cfg = ImageConfig.from_bytes(self.content.read(manifest.config.digest),
                                     f"config {manifest.config.digest}")
        if len(cfg.diff_ids) != len(manifest.layers):
            raise Corrupt(f"image {manifest.config.digest}: config lists "
                          f"{len(cfg.diff_ids)} layers, manifest {len(manifest.layers)}")
        chains = [str(c) for c in cfg.chain_ids()]
        rec = ImageRecord(str(manifest.config.digest), str(mdigest), cfg.created, time.time(),
                          sum(d.size for d in manifest.layers), chains[-1] if chains else "")
        blobs = [str(mdigest), str(manifest.config.digest), *(str(d.digest)
                                                               for d in manifest.layers)]
        full_tags = [str(parse_reference(t)) for t in tags]
        moved = self.records.add(rec, blobs, chains, full_tags, repo_digests)
        return self.get(rec.id), moved

    def tag(self, source: str, target: str) -> Image:
        """``docker tag SOURCE TARGET``."""
        img = self.resolve(source)
        ref = parse_reference(target)
        if ref.digest is not None:
            raise InvalidArgument(f"refusing to create a tag with a digest reference: {target}")
        self.records.tag(str(ref), str(img.id))
        return self.get(img.id)

    # -- removing ----------------------------------------------------------------------
    def remove(self, ref: str, force: bool = False) -> builtins.list[dict[str, str]]:
        """``docker rmi``: untag, and delete the image when nothing else names it.
        Returns docker's ``[{"Untagged": …}, {"Deleted": …}]``."""
        img, name = self.lookup(ref)
        users = self.in_use(str(img.id))
        running = [c for c, r in users if r]
        out: builtins.list[dict[str, str]] = []
        if name:  # by name: untag; delete only when it was the last name
            if len(img.names) + len(img.repo_digests) > 1:
                self.records.untag(name)
                return [{"Untagged": familiar(name)}]
            if users and not force:
                raise Conflict(f"conflict: unable to remove repository reference \"{ref}\" "
                               f"(must force) - container {users[0][0][:12]} is using its "
                               f"referenced image {img.short_id}")
            self.records.untag(name)
            out.append({"Untagged": familiar(name)})
            if users:
                return out
        else:
            if running:
                raise Conflict(f"conflict: unable to delete {img.short_id} (cannot be forced)"
                               f" - image is being used by running container {running[0][:12]}")
            if users and not force:
                raise Conflict(f"conflict: unable to delete {img.short_id} (must be forced) - "
                               f"image is being used by stopped container {users[0][0][:12]}")
            repos = {n.rsplit(":", 1)[0] for n in img.names}
            if len(repos) > 1 and not force:
                raise Conflict(f"conflict: unable to delete {img.short_id} (must be forced) - "
                               f"image is referenced in multiple repositories")
            for n in (*img.names, *img.repo_digests):
                self.records.untag(n)
                out.append({"Untagged": familiar(n)})
        self.records.delete(str(img.id))
        out.append({"Deleted": str(img.id)})
        self.gc(wait=False)  # rmi must not hang behind a long load; prune collects
        return out

    def prune(self, all: bool = False) -> tuple[builtins.list[dict[str, str]], int]:
        """``docker image prune [-a]``: dangling (or, with ``all``, every unused) images.
        Returns the deleted list and the bytes reclaimed."""
        out: builtins.list[dict[str, str]] = []
        for rec in self.records.all():
            if self.in_use(rec.id) or (not all and (rec.tags or rec.repo_digests)):
                continue
            for n in (*rec.tags, *rec.repo_digests):
                self.records.untag(n)
                out.append({"Untagged": familiar(n)})
            self.records.delete(rec.id)
            out.append({"Deleted": rec.id})
        return out, self.gc()

    def gc(self, wait: bool = True) -> int:
        """Delete blobs and layer snapshots no image (nor live lease) references.
        Returns the bytes of blobs freed. With ``wait=False`` it gives up at once when
        another process is writing (what it would free is freed by a later gc)."""
        if self._writers:  # converting our shared lock could deadlock with another's
            raise Conflict("gc: cannot run while this store is writing")
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            return 0
        try:
            self.records.drop_dead_leases()
            held = self.records.referenced_blobs()
            freed = 0
            for d in list(self.content.walk()):
                if str(d) not in held:
                    try:
                        size = self.content.info(d).size
                    except NotFound:
                        continue
                    if self.content.delete(d):
                        freed += size
            self._gc_snapshots()
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        return freed

    def discard_blobs(self, digests: Sequence[Digest]) -> None:
        """Delete these blobs if nothing references them and no other process is
        writing; otherwise leave them to a later gc (an in-flight writer may be about
        to record an image that uses them)."""
        if not digests or self._writers:
            return
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return
        try:
            held = self.records.referenced_blobs()
            for digest in digests:
                if str(digest) not in held:
                    self.content.delete(digest)
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _gc_snapshots(self) -> None:
        if not self.roots.snapshots.exists():
            return
        from dockyard.images.unpack import remove_unused_snapshots

        remove_unused_snapshots(self)

    # -- layers ------------------------------------------------------------------------
    def unpack(self, image: Image) -> str:
        """Make sure every layer of ``image`` is a committed snapshot (named by chain id),
        skipping those present. Returns the top chain id (``""`` for no layers)."""
        from dockyard.images.unpack import unpack_image

        return unpack_image(self, image)

    def check(self, repair: bool = False) -> CheckReport:
        """Verify every blob and every image's closure (see ``check.py``)."""
        from dockyard.images.check import check

        return check(self, repair)

    # -- faces -------------------------------------------------------------------------
    def inspect(self, ref: str) -> dict[str, Any]:
        return self.resolve(ref).inspect()

    def history(self, ref: str) -> builtins.list[dict[str, Any]]:
        return self.resolve(ref).history()

    def write_json(self, obj: Any) -> Digest:
        """Store a JSON document as a blob."""
        return self.content.write(dumps(obj))
