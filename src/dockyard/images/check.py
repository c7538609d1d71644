"""``dockyard system check``: verify the image store, and with ``repair`` fix it.

Checked: every blob hashes to its name; every image's manifest, config and layers are
present and agree (layer count, config digest = id); every tag points at an image.
Not problems: blobs nothing references (gc removes them), ingest files of dead
processes and layer extractions a killed unpack left (``repair`` removes both).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from dockyard.errors import DockyardError
from dockyard.oci import Digest, Manifest, parse_document

if TYPE_CHECKING:
    from dockyard.images.store import ImageStore

__all__ = ["CheckReport", "check"]


@dataclass
class CheckReport:
    """``problems`` left (one line each), ``repaired`` problems fixed (with
    ``repair=True`` every problem found is fixed and listed there instead), ``notes``."""

    problems: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.problems

    def found(self, problem: str, repair: bool, fix: Callable[[], object], action: str) -> None:
        """Record ``problem``; with ``repair``, run ``fix`` and record it as repaired."""
        if repair:
            fix()
            self.repaired.append(f"{problem}: {action}")
        else:
            self.problems.append(problem)


def _check_blobs(store: ImageStore, report: CheckReport, repair: bool) -> set[Digest]:
    bad: set[Digest] = set()
    for alg_dir in sorted(store.content.blobs_dir.iterdir()):
        for p in sorted(alg_dir.iterdir()):
            try:
                d = Digest(alg_dir.name, p.name)
            except DockyardError:
                report.found(f"content: stray file {p}", repair, p.unlink, "removed")
                continue
            if not store.content.verify(d):
                bad.add(d)
                report.found(f"blob {d}: content does not match its digest", repair,
                             partial(store.content.delete, d), "removed")
    return bad


def _image_problems(store: ImageStore, image_id: str, manifest: str, bad: set[Digest]) \
        -> list[str]:
    out: list[str] = []
    mdigest = Digest.parse(manifest)
    if mdigest in bad or not store.content.exists(mdigest):
        return [f"image {image_id}: manifest {mdigest} is missing or corrupt"]
    try:
        doc = parse_document(store.content.read(mdigest), f"manifest {mdigest}")
    except DockyardError as err:
        return [f"image {image_id}: {err}"]
    if not isinstance(doc, Manifest):
        return [f"image {image_id}: manifest {mdigest} is not an image manifest"]
    if str(doc.config.digest) != image_id:
        out.append(f"image {image_id}: manifest names config {doc.config.digest}")
    for d in (doc.config, *doc.layers):
        if d.digest in bad or not store.content.exists(d.digest):
            out.append(f"image {image_id}: blob {d.digest} is missing or corrupt")
    if out:
        return out
    try:
        from dockyard.oci import ImageConfig

        cfg = ImageConfig.from_bytes(store.content.read(doc.config.digest))
    except DockyardError as err:
        return [f"image {image_id}: {err}"]
    if len(cfg.diff_ids) != len(doc.layers):
        out.append(f"image {image_id}: config lists {len(cfg.diff_ids)} layers, manifest "
                   f"{len(doc.layers)}")
    chains = [str(c) for c in cfg.chain_ids()]
    if store.records.chains(image_id) != chains:
        out.append(f"image {image_id}: recorded chain ids differ from its config")
    return out


def check(store: ImageStore, repair: bool = False) -> CheckReport:
    """Verify the store; with ``repair`` remove what is broken (corrupt blobs, images whose
    closure is incomplete, dangling tags, stale ingest files)."""
    report = CheckReport()
    bad = _check_blobs(store, report, repair)
    for rec in store.records.all():
        problems = _image_problems(store, rec.id, rec.manifest, bad)
        for problem in problems:
            report.found(problem, repair, lambda: None, "image removed")
        if problems and repair:
            store.records.delete(rec.id)
    for name, image in store.db.query("SELECT name, image FROM tags"):
        if store.records.get(str(image)) is None:
            report.found(f"tag {name}: points at missing image {image}", repair,
                         partial(store.records.untag, str(name)), "removed")
    stale = store.content.stale_ingests()
    if stale:
        report.notes.append(f"{len(stale)} unfinished ingest file(s) left by dead processes")
        if repair:
            for p in stale:
                p.unlink(missing_ok=True)
            report.repaired.append(f"removed {len(stale)} stale ingest file(s)")
    dead = store.records.drop_dead_leases() if repair else 0
    if dead:
        report.repaired.append(f"released {dead} lease(s) of dead processes")
    from dockyard.images.unpack import stale_extractions

    extracts = stale_extractions(store)
    if extracts:
        report.notes.append(f"{len(extracts)} unfinished layer extraction(s)")
        if repair:  # gc removes them unless an unpack is running right now
            store.gc(wait=False)
            left = len(stale_extractions(store))
            report.repaired.append(f"removed {len(extracts) - left} unfinished layer "
                                   "extraction(s) and unreferenced blobs")
    return report
