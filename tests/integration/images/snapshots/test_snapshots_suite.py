"""One suite for every snapshotter: the containerd verbs, their refusals, sharing."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import shutil
import tarfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from dockyard.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from dockyard.images.snapshots import Kind, chain_ids, diff_snapshot, has_committed, unpack_layer
from dockyard.images.snapshots.common import DirSnapshotter
from dockyard.oci.mount import Mount
from tests.unit.images.layers.tarbuild import E, tar_bytes

Mounter = Callable[..., AbstractContextManager[Path]]


def layer(*entries: E) -> io.BytesIO:
    return io.BytesIO(tar_bytes(entries))


def test_prepare_write_commit_and_stack(sn: DirSnapshotter, mounter: Mounter) -> None:
    with mounter(sn.prepare("base-key")) as root:
        (root / "hello").write_text("base\n")
    sn.commit("base", "base-key")
    assert sn.stat("base").kind is Kind.COMMITTED
    with pytest.raises(NotFound, match="no such snapshot: base-key"):
        sn.stat("base-key")
    with mounter(sn.prepare("top-key", "base")) as root:
        assert (root / "hello").read_text() == "base\n"
        (root / "hello").write_text("changed\n")
        (root / "more").write_text("more\n")
    sn.commit("top", "top-key", labels={"x": "y"})
    info = sn.stat("top")
    assert (info.parent, info.kind, dict(info.labels)) == ("base", Kind.COMMITTED, {"x": "y"})
    with mounter(sn.view("v", "top")) as root:
        assert (root / "hello").read_text() == "changed\n"
        with pytest.raises(OSError) as err:
            (root / "nope").write_text("x")
        assert err.value.errno == errno.EROFS
    with mounter(sn.view("v0", "base"), "mnt0") as root:  # one layer: a ro bind mount
        assert (root / "hello").read_text() == "base\n"
        with pytest.raises(OSError) as err:
            (root / "hello").write_text("x")
        assert err.value.errno == errno.EROFS
    assert [i.name for i in sn.walk()] == ["base", "top", "v", "v0"]
    assert sn.stat("v").kind is Kind.VIEW


def test_refusals(sn: DirSnapshotter) -> None:
    sn.prepare("a")
    with pytest.raises(AlreadyExists, match="snapshot a already exists"):
        sn.prepare("a")
    with pytest.raises(InvalidArgument, match="parent snapshot a is not committed"):
        sn.prepare("b", "a")
    with pytest.raises(NotFound, match="no such parent snapshot: nope"):
        sn.prepare("b", "nope")
    with pytest.raises(InvalidArgument, match="snapshot key: invalid ''"):
        sn.prepare("")
    sn.commit("A", "a")
    with pytest.raises(NotFound, match="no such snapshot: a"):
        sn.commit("again", "a")
    with pytest.raises(Conflict, match="snapshot A is committed, not active"):
        sn.commit("again", "A")
    sn.view("v", "A")
    with pytest.raises(Conflict, match="snapshot v is view, not active"):
        sn.commit("again", "v")
    sn.prepare("c", "A")
    with pytest.raises(AlreadyExists, match="snapshot A already exists"):
        sn.commit("A", "c")
    with pytest.raises(Conflict, match="snapshot A is the parent of"):
        sn.remove("A")
    with pytest.raises(NotFound, match="no such snapshot: zzz"):
        sn.remove("zzz")
    with pytest.raises(Conflict, match="not active"):
        sn.writable("A")
    # Nothing was half-done by the refusals.
    assert [(i.name, i.kind) for i in sn.walk()] == [
        ("A", Kind.COMMITTED), ("v", Kind.VIEW), ("c", Kind.ACTIVE)]


def test_remove_children_then_parent(sn: DirSnapshotter) -> None:
    sn.prepare("a")
    sn.commit("A", "a")
    sn.prepare("c", "A")
    sn.view("v", "A")
    sn.remove("c")
    sn.remove("v")
    sn.remove("A")
    assert list(sn.walk()) == []
    assert [p for p in os.listdir(sn.root) if not p.startswith("metadata.db")] == []


def test_usage_counts_own_files_once(sn: DirSnapshotter) -> None:
    unpack_layer(sn, layer(E("d/", "dir"), E("d/f", data=b"x" * 10000),
                           E("d/g", "hardlink", link="d/f")), "L", None)
    use = sn.usage("L")
    assert use.inodes == 2  # d and f (g is f)
    assert use.size >= 10000


def test_common_base_is_shared_and_survives_removal(sn: DirSnapshotter,
                                                    mounter: Mounter) -> None:
    base = tar_bytes([E("etc/", "dir"), E("etc/os", data=b"base os")])
    a_top = tar_bytes([E("a", data=b"image a")])
    b_top = tar_bytes([E("b", data=b"image b")])
    ids = {k: "sha256:" + hashlib.sha256(v).hexdigest() for k, v in
           {"base": base, "a": a_top, "b": b_top}.items()}
    chain_a = chain_ids([ids["base"], ids["a"]])
    chain_b = chain_ids([ids["base"], ids["b"]])
    assert chain_a[0] == chain_b[0]
    for chain, blobs in ((chain_a, [base, a_top]), (chain_b, [base, b_top])):
        parent = None
        for name, blob in zip(chain, blobs, strict=True):
            if not has_committed(sn, name):
                unpack_layer(sn, io.BytesIO(blob), name, parent)
            parent = name
    names = [i.name for i in sn.walk()]
    assert names.count(chain_a[0]) == 1 and len(names) == 3
    sn.remove(chain_b[1])  # "rmi" of image b
    with mounter(sn.view("check-a", chain_a[1])) as root:
        assert (root / "etc/os").read_bytes() == b"base os"
        assert (root / "a").read_bytes() == b"image a"
        assert not (root / "b").exists()


def test_concurrent_unpack_of_one_layer_keeps_one_copy(sn: DirSnapshotter) -> None:
    sn.prepare("racer")
    # Another process committed the layer while we were applying ours.
    unpack_layer(sn, layer(E("f", data=b"1")), "sha256:same", None)
    result = unpack_layer(sn, layer(E("f", data=b"1")), "sha256:same", None)
    assert result.entries == 1
    assert [i.name for i in sn.walk()] == ["racer", "sha256:same"]


def test_diff_snapshot_records_the_changes(sn: DirSnapshotter, mounter: Mounter) -> None:
    unpack_layer(sn, layer(E("keep", data=b"k"), E("gone", data=b"g"), E("d/", "dir"),
                           E("d/x", data=b"x")), "L", None)
    with mounter(sn.prepare("ctr", "L")) as root:
        (root / "gone").unlink()
        (root / "new").write_text("n")
        (root / "d/x").write_text("changed")
    out = io.BytesIO()
    diff_snapshot(sn, "ctr", out)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as t:
        names = t.getnames()
    assert ".wh.gone" in names and "new" in names and "d/x" in names and "keep" not in names
    # The diff applied over L gives what the container saw.
    sn.remove("ctr")
    unpack_layer(sn, io.BytesIO(out.getvalue()), "L2", "L")
    with mounter(sn.view("v", "L2")) as root:
        assert sorted(os.listdir(root)) == ["d", "keep", "new"]
        assert (root / "d/x").read_text() == "changed"


def test_mounts_are_stable(sn: DirSnapshotter) -> None:
    first = sn.prepare("a")
    assert sn.mounts("a") == first
    assert all(isinstance(m, Mount) for m in first)


def test_diff_of_kernel_made_changes(sn: DirSnapshotter, mounter: Mounter) -> None:
    """Renamed and recreated lower directories (what overlayfs records with copy-ups,
    whiteouts and opaque dirs) diff into a layer that rebuilds the container's view."""
    unpack_layer(sn, layer(E("a/", "dir"), E("a/one", data=b"1"), E("a/sub/", "dir"),
                           E("a/sub/two", data=b"2"), E("b/", "dir"), E("b/old", data=b"o"),
                           E("c", data=b"c")), "L", None)
    with mounter(sn.prepare("ctr", "L")) as root:
        # With redirect_dir=off the kernel refuses to rename a lower dir (EXDEV) and
        # mv copies it instead: a whole new tree in the upper, a whiteout for a.
        shutil.move(root / "a", root / "moved")
        shutil.rmtree(root / "b")
        (root / "b").mkdir()  # recreated: opaque over the lower b
        (root / "b/new").write_text("n")
        os.chmod(root / "c", 0o600)
        want = {p: (os.lstat(root / p).st_mode, (root / p).read_bytes()
                    if (root / p).is_file() else b"")
                for p in ("moved", "moved/one", "moved/sub/two", "b", "b/new", "c")}
        listing = sorted(os.listdir(root))
    out = io.BytesIO()
    diff_snapshot(sn, "ctr", out)
    sn.remove("ctr")
    unpack_layer(sn, io.BytesIO(out.getvalue()), "L2", "L")
    with mounter(sn.view("v", "L2")) as root:
        assert sorted(os.listdir(root)) == listing == ["b", "c", "moved"]
        assert os.listdir(root / "b") == ["new"]
        got = {p: (os.lstat(root / p).st_mode, (root / p).read_bytes()
                   if (root / p).is_file() else b"") for p in want}
        assert got == want
