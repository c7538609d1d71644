"""Layer semantics: deletions, a directory replaced by a file and back, opaque dirs and
hardlinks across layers end in the tree an independent reference model computes, once
the overlay is mounted, when flattened into one directory, and with the native
snapshotter."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from dockyard.images.layers import Format, apply_layer
from dockyard.images.snapshots import (
    NativeSnapshotter,
    OverlaySnapshotter,
    Snapshotter,
    chain_ids,
    mount,
    unmount,
    unpack_layer,
)
from dockyard.oci.mount import Mount
from tests.unit.images.layers.tarbuild import E, gz, tar_bytes, zst

from .reference import capture, expected, without_dir_mtimes

T = 1_600_000_000

L1 = [
    E("etc/", "dir", mode=0o755, mtime=T), E("etc/passwd", data=b"root:x:0:0\n", mtime=T),
    E("etc/group", data=b"root:x:0:\n", mode=0o640, gid=42, mtime=T),
    E("bin/", "dir", mode=0o755), E("bin/sh", data=b"#!sh", mode=0o755),
    E("data/", "dir", mode=0o750, uid=1000, gid=1000),
    E("data/keep", data=b"keep", uid=1000), E("data/sub/", "dir"), E("data/sub/deep", data=b"d"),
    E("usr/", "dir"), E("usr/lib/", "dir", mode=0o711, uid=7, gid=8, mtime=T + 5),
    E("usr/lib/libx", data=b"shared bytes", mode=0o755, mtime=T + 1),
    E("usr/lib/liby", "hardlink", link="usr/lib/libx"),
    E("var/", "dir"), E("var/old/", "dir", mode=0o700), E("var/old/a", data=b"a"),
    E("var/old/b/", "dir"), E("var/old/b/c", data=b"c"),
    E("link", "symlink", link="usr/lib", uid=3, gid=3),
    E("opt/", "dir"), E("opt/app/", "dir"), E("opt/app/run", data=b"run", mode=0o4755),
    E("dev/", "dir"), E("dev/null", "char", major=1, minor=3, mode=0o666),
    E("dev/loop", "block", major=7, minor=9), E("dev/pipe", "fifo", mode=0o620),
]
L2 = [
    E("etc/", "dir", mode=0o700, uid=5, gid=6), E("etc/.wh.group"),
    E("data", data=b"now a file", mode=0o600),  # directory replaced by a file
    E("var/old/.wh..wh..opq"), E("var/old/new", data=b"new"),  # opaque dir
    E("usr/lib/libz", "hardlink", link="usr/lib/liby"),  # target in a lower layer
    E("opt/.wh.app"),  # a whole directory deleted
    E("xattr", data=b"x", xattrs={"user.dockyard": "yes"}),
]
L3 = [
    E("data/", "dir", mode=0o755, uid=2, gid=2), E("data/fresh", data=b"fresh"),  # and back
    E("opt/app/", "dir", mode=0o700), E("opt/app/v2", data=b"v2"),
    E("usr/lib/.wh.libx"),  # one name of a hardlinked pair deleted
    E("etc/passwd", data=b"root:x:0:0\nuser:x:1000:1000\n", mtime=T + 9),
    E("usr/lib/new", data=b"implicit parent"),  # usr/lib not listed: merged from below
    E("usr/share/doc/readme", data=b"implicit, absent below"),
    E("same/", "dir"), E("same/one", data=b"1"), E("same/two", "hardlink", link="same/one"),
]
L4 = [
    E("etc/.wh..wh..opq"), E("etc/only", data=b"only"),  # opaque after entries below
    E("bin/.wh.sh"), E("bin/sh", data=b"#!new sh", mode=0o755),  # whiteout + recreate
    E("var/.wh.never-existed"),
    E("abs", "symlink", link="/usr/lib/libz"),
]
LAYERS = [L1, L2, L3, L4]
RAW = [tar_bytes(layer) for layer in LAYERS]
BLOBS = [RAW[0], gz(RAW[1]), zst(RAW[2]), RAW[3]]
DIFF_IDS = ["sha256:" + hashlib.sha256(raw).hexdigest() for raw in RAW]


@contextlib.contextmanager
def mounted(mounts: Sequence[Mount], target: Path) -> Iterator[Path]:
    target.mkdir(exist_ok=True)
    mount(mounts, target)
    try:
        yield target
    finally:
        unmount(target, detach=True)


def unpack_all(sn: Snapshotter, blobs: Sequence[bytes] = BLOBS) -> str:
    diff_ids = DIFF_IDS[: len(blobs)]
    chains = chain_ids(diff_ids)
    parent = None
    for blob, chain, diff_id in zip(blobs, chains, diff_ids, strict=True):
        unpack_layer(sn, io.BytesIO(blob), chain, parent, expected_diff_id=diff_id)
        parent = chain
    return chains[-1]


def test_reference_model_sanity() -> None:
    tree = expected(LAYERS)
    assert "etc/group" not in tree and "etc/passwd" not in tree and "etc/only" in tree
    assert tree["data"][0] == "dir" and "data/keep" not in tree and "data/fresh" in tree
    assert "var/old/a" not in tree and "var/old/new" in tree
    assert tree["usr/lib/libz"][4] == b"shared bytes" and "usr/lib/libx" not in tree
    assert tree["usr/lib"][1:4] == (0o711, 7, 8)
    assert "opt/app/run" not in tree and "opt/app/v2" in tree


def test_overlay_mount_matches_reference(tmp_path: Path) -> None:
    with OverlaySnapshotter(tmp_path / "snapshots") as sn:
        top = unpack_all(sn)
        with mounted(sn.view("view", top), tmp_path / "mnt") as root:
            got = capture(root)
            same = os.lstat(root / "same/one"), os.lstat(root / "same/two")
            assert same[0].st_ino == same[1].st_ino
            assert os.getxattr(root / "xattr", "user.dockyard") == b"yes"
        sn.remove("view")
    assert without_dir_mtimes(got) == without_dir_mtimes(expected(LAYERS))


def test_overlay_container_mount_matches_reference(tmp_path: Path) -> None:
    with OverlaySnapshotter(tmp_path / "snapshots") as sn:
        top = unpack_all(sn)
        with mounted(sn.prepare("ctr", top), tmp_path / "mnt") as root:
            got = capture(root)
        sn.remove("ctr")
    assert without_dir_mtimes(got) == without_dir_mtimes(expected(LAYERS))


def test_flattened_directory_matches_reference(tmp_path: Path) -> None:
    dest = tmp_path / "flat"
    dest.mkdir()
    for blob in BLOBS:
        apply_layer(io.BytesIO(blob), dest, format=Format.DIR)
    got = capture(dest)
    assert without_dir_mtimes(got) == without_dir_mtimes(expected(LAYERS))
    assert os.lstat(dest / "same/one").st_ino == os.lstat(dest / "same/two").st_ino


def test_native_snapshotter_matches_reference(tmp_path: Path) -> None:
    with NativeSnapshotter(tmp_path / "native") as sn:
        top = unpack_all(sn)
        with mounted(sn.view("view", top), tmp_path / "mnt") as root:
            got = capture(root)
        sn.remove("view")
    assert without_dir_mtimes(got) == without_dir_mtimes(expected(LAYERS))


def test_directory_mtimes_are_the_entries(tmp_path: Path) -> None:
    dest = tmp_path / "flat"
    dest.mkdir()
    apply_layer(io.BytesIO(BLOBS[0]), dest)
    assert os.lstat(dest / "etc").st_mtime == T  # its files were written after it
    assert os.lstat(dest / "usr/lib").st_mtime == T + 5


def test_implicit_parent_copies_lower_metadata(tmp_path: Path) -> None:
    with OverlaySnapshotter(tmp_path / "snapshots") as sn:
        unpack_all(sn, BLOBS[:3])
        upper = sn.root / "3" / "fs"
        st = os.lstat(upper / "usr/lib")
        assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o711, 7, 8)
        assert st.st_mtime == T + 5
