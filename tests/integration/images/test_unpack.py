"""Unpacking into snapshots: one snapshot per chain id, shared by images with a common
base (one copy on disk); rmi of one image leaves the other whole."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.errors import Corrupt
from dockyard.images import ImageStore, check
from dockyard.images.snapshots import Kind, mount, open_snapshotter, unmount
from dockyard.settings import Roots
from tests.integration.images.helpers import derive


@pytest.fixture
def store(roots: Roots) -> Iterator[ImageStore]:
    s = ImageStore(roots)
    yield s
    s.close()


def _busybox_copies(root: Path) -> int:
    """Regular files named busybox under the snapshots dir, counted by inode."""
    seen = set()
    for dirpath, _, files in os.walk(root):
        if "busybox" in files:
            st = os.lstat(os.path.join(dirpath, "busybox"))
            if not os.path.islink(os.path.join(dirpath, "busybox")):
                seen.add((st.st_dev, st.st_ino))
    return len(seen)


def _read_through_view(roots: Roots, chain: str, tmp: Path, path: str) -> bytes:
    sn = open_snapshotter(roots)
    key = f"view-{os.getpid()}"
    target = tmp / "mnt"
    target.mkdir(exist_ok=True)
    mounts = sn.view(key, chain)
    try:
        mount(mounts, target)
        try:
            return (target / path).read_bytes()
        finally:
            unmount(target)
    finally:
        sn.remove(key)
        sn.close()


def test_common_base_is_one_snapshot_and_survives_rmi(store: ImageStore, roots: Roots,
                                                      tmp_path: Path) -> None:
    base = store.resolve("busybox")
    one = derive(store, base, {"one.txt": b"1"}, "one")
    two = derive(store, base, {"two.txt": b"2"}, "two")
    top1, top2 = store.unpack(one), store.unpack(two)
    assert top1 == str(one.chain_id) and top2 == str(two.chain_id)
    assert one.chain_ids[0] == two.chain_ids[0] == base.chain_ids[0]
    sn = open_snapshotter(roots)
    committed = {i.name for i in sn.walk() if i.kind is Kind.COMMITTED}
    sn.close()
    assert committed == {str(c) for c in (*one.chain_ids, *two.chain_ids)}  # 3, not 4
    assert _busybox_copies(roots.snapshots) == 1
    assert store.unpack(one) == top1  # nothing left to do

    store.remove("one")
    sn = open_snapshotter(roots)
    committed = {i.name for i in sn.walk() if i.kind is Kind.COMMITTED}
    sn.close()
    assert committed == {str(c) for c in two.chain_ids}
    assert _read_through_view(roots, top2, tmp_path, "two.txt") == b"2"
    assert _read_through_view(roots, top2, tmp_path, "bin/busybox")[:4] == b"\x7fELF"
    assert check(store).clean
    store.remove("busybox")  # base image gone; "two" still holds the layer
    assert _read_through_view(roots, top2, tmp_path, "etc/passwd").startswith(b"root:")
    store.remove("two")
    sn = open_snapshotter(roots)
    assert [i.name for i in sn.walk()] == []
    sn.close()
    assert list(store.content.walk()) == []


def test_unpack_of_a_corrupt_layer_leaves_no_snapshot(store: ImageStore, roots: Roots) -> None:
    img = derive(store, store.resolve("busybox"), {"f": b"x" * 2000}, "bad")
    layer = img.manifest.layers[-1].digest
    path = store.content.path(layer)
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[600] ^= 0xFF  # file body: still a tar, different bytes
    path.write_bytes(bytes(data))
    with pytest.raises(Corrupt, match="diff id"):
        store.unpack(img)
    sn = open_snapshotter(roots)
    names = [i.name for i in sn.walk()]
    sn.close()
    assert names == [str(img.chain_ids[0])]  # the good base layer only


def test_export_of_a_view_is_the_merged_tree(store: ImageStore, roots: Roots) -> None:
    """Layer 2 deletes a file of layer 1 (whiteout) and adds one: the export shows the
    merged result, like ``docker export``."""
    import io
    import tarfile

    from dockyard.images import export_rootfs

    base = store.resolve("busybox")
    img = derive(store, base, {"added": b"new"}, "exp")
    wh = derive(store, img, {"etc/.wh.group": b""}, "exp2")
    top = store.unpack(wh)
    sn = open_snapshotter(roots)
    key = f"export-view-{os.getpid()}"
    try:
        mounts = sn.view(key, top)
        buf = io.BytesIO()
        count = export_rootfs(roots, mounts, buf)
    finally:
        sn.remove(key)
        sn.close()
    buf.seek(0)
    with tarfile.open(fileobj=buf) as tf:
        members = {m.name: m for m in tf}
        assert tf.extractfile(members["added"]).read() == b"new"  # type: ignore[union-attr]
    assert count == len(members)
    assert "etc/group" not in members and "etc/passwd" in members
    assert members["bin/sh"].issym() and members["bin/busybox"].isreg()
    assert not any(".wh." in n for n in members)
    assert list(roots.tmp.iterdir()) == []


def test_load_with_a_hostile_layer_is_undone(store: ImageStore, roots: Roots) -> None:
    """``load`` unpacks like docker; a layer the applier refuses undoes the whole load:
    no image, no tag moved, no new blob, no snapshot."""
    import io
    import tarfile

    from dockyard.errors import DockyardError
    from dockyard.images import load, save
    from tests.unit.images.conftest import listing

    base = store.resolve("busybox")
    good = derive(store, base, {"ok": b"1"}, "app:1")
    store.unpack(good)
    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w") as tf:
        link = tarfile.TarInfo("etc")  # a symlink, then a file written through it
        link.type, link.linkname = tarfile.SYMTYPE, "/tmp"
        tf.addfile(link)
        body = tarfile.TarInfo("etc/evil")
        body.size = 4
        tf.addfile(body, io.BytesIO(b"evil"))
    bad_layer = evil.getvalue()
    from dockyard.oci import Descriptor, Digest, ImageConfig, Manifest, mediatypes

    digest = store.content.write(bad_layer)
    cfg = ImageConfig(base.config.architecture, base.config.os, (*base.diff_ids, digest))
    raw = cfg.to_bytes()
    manifest = Manifest(Descriptor(mediatypes.OCI_CONFIG, store.content.write(raw), len(raw)),
                        (*base.manifest.layers,
                         Descriptor(mediatypes.OCI_LAYER, Digest.of(bad_layer), len(bad_layer))))
    hostile, _ = store.register(manifest, ["app:1"])
    archive = io.BytesIO()
    save(store, ["app:1"], archive)
    # back to the state before: app:1 is the good image, the hostile blobs are gone
    store.remove(str(hostile.id), force=True)
    store.tag(str(good.id), "app:1")
    store.gc()
    before = listing(roots)
    with pytest.raises(DockyardError) as info:
        load(store, io.BytesIO(archive.getvalue()), unpack=True)
    assert "\n" not in str(info.value)
    assert listing(roots) == before
    assert store.resolve("app:1").id == good.id


def test_check_repair_clears_extractions_a_killed_unpack_left(store: ImageStore,
                                                             roots: Roots) -> None:
    img = store.resolve("busybox")
    store.unpack(img)
    sn = open_snapshotter(roots)
    sn.prepare(f"extract-0123456789ab {img.chain_id}", str(img.chain_id))  # as if killed
    sn.close()
    report = check(store)
    assert report.clean and report.notes == ["1 unfinished layer extraction(s)"]
    other = ImageStore(roots)  # another process, in the middle of an unpack
    with other.writing():  # its extraction is not stale: repair leaves it
        assert check(store, repair=True).notes == ["1 unfinished layer extraction(s)"]
        sn = open_snapshotter(roots)
        assert len(list(sn.walk())) == 2
        sn.close()
    other.close()
    fixed = check(store, repair=True)
    assert fixed.repaired and check(store).notes == []
    sn = open_snapshotter(roots)
    assert [i.name for i in sn.walk()] == [str(img.chain_id)]
    sn.close()
