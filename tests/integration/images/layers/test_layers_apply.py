"""apply_layer details on the real filesystem: metadata, whiteout corner cases, formats."""

from __future__ import annotations

import hashlib
import io
import os
import stat
from pathlib import Path

import pytest

from dockyard.errors import Corrupt, NotFound, SystemFailure
from dockyard.images.layers import Format, apply_layer, is_opaque, is_whiteout, write_diff
from tests.unit.images.layers.tarbuild import E, gz, tar_bytes, zst


def run(dest: Path, *entries: E, fmt: Format = Format.DIR,
        lowers: list[Path] | None = None) -> None:
    apply_layer(io.BytesIO(tar_bytes(entries)), dest, format=fmt, lowers=lowers)


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    d = tmp_path / "dest"
    d.mkdir()
    return d


def test_same_diff_id_whatever_the_compression(dest: Path) -> None:
    raw = tar_bytes([E("f", data=b"x" * 5000), E("d/", "dir")])
    want = "sha256:" + hashlib.sha256(raw).hexdigest()
    for blob, kind in ((raw, "tar"), (gz(raw), "gzip"), (zst(raw), "zstd")):
        got = apply_layer(io.BytesIO(blob), dest)
        assert (got.diff_id, got.size, got.compression, got.entries) == \
            (want, len(raw), kind, 2)


def test_metadata_survives(dest: Path) -> None:
    run(dest, E("bin/", "dir", mode=0o711, uid=5, gid=6, mtime=1000),
        E("bin/su", data=b"su", mode=0o4755, uid=0, gid=0, mtime=2000),
        E("bin/ping", data=b"p", mode=0o755, xattrs={"user.note": "hi"}),
        E("tmp/", "dir", mode=0o1777), E("owned", data=b"o", uid=123456, gid=654321))
    st = os.lstat(dest / "bin")
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_mtime) == (0o711, 5, 6, 1000)
    st = os.lstat(dest / "bin/su")
    assert (stat.S_IMODE(st.st_mode), st.st_mtime) == (0o4755, 2000)
    assert os.getxattr(dest / "bin/ping", "user.note") == b"hi"
    assert stat.S_IMODE(os.lstat(dest / "tmp").st_mode) == 0o1777
    assert (os.lstat(dest / "owned").st_uid, os.lstat(dest / "owned").st_gid) == (123456, 654321)


def test_root_entry_sets_root_metadata(dest: Path) -> None:
    run(dest, E("./", "dir", mode=0o700, uid=9, mtime=5))
    st = os.lstat(dest)
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_mtime) == (0o700, 9, 5)


def test_opaque_keeps_this_layers_implicit_parents(dest: Path) -> None:
    run(dest, E("a/", "dir"), E("a/b/", "dir"), E("a/b/old", data=b"old"), E("a/z", data=b"z"))
    run(dest, E("a/b/c", data=b"new"), E("a/.wh..wh..opq"))
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*")) == \
        ["a", "a/b", "a/b/c"]


def test_whiteout_never_hides_the_same_layers_entry(dest: Path) -> None:
    run(dest, E("f", data=b"mine"), E(".wh.f"))
    assert (dest / "f").read_bytes() == b"mine"
    up = dest.parent / "upper"
    up.mkdir()
    run(up, E("f", data=b"mine"), E(".wh.f"), fmt=Format.OVERLAY)
    assert (up / "f").read_bytes() == b"mine"


def test_overlay_whiteouts_and_opaque_dirs(dest: Path) -> None:
    run(dest, E(".wh.gone"), E("d/", "dir"), E("d/.wh..wh..opq"), E("d/x", data=b"x"),
        E(".wh.back"), E("back/", "dir"), fmt=Format.OVERLAY)
    assert is_whiteout(os.lstat(dest / "gone"))
    assert is_opaque(dest / "d") and (dest / "d/x").read_bytes() == b"x"
    # a directory replacing its own whiteout must not merge with the lower one
    assert is_opaque(dest / "back")


def test_aufs_metadata_is_skipped(dest: Path) -> None:
    run(dest, E(".wh..wh.plnk/", "dir"), E(".wh..wh.aufs"), E("f", data=b"f"))
    assert os.listdir(dest) == ["f"]


def test_hardlink_to_a_lower_file_copies_it_up(tmp_path: Path, dest: Path) -> None:
    lower = tmp_path / "lower"
    lower.mkdir()
    run(lower, E("lib/", "dir", mode=0o750, uid=3), E("lib/x", data=b"xx", mode=0o640,
                                                       uid=7, mtime=77))
    run(dest, E("y", "hardlink", link="lib/x", mode=0o600, uid=8, mtime=88),
        fmt=Format.OVERLAY, lowers=[lower])
    a, b = os.lstat(dest / "lib/x"), os.lstat(dest / "y")
    assert a.st_ino == b.st_ino and (dest / "y").read_bytes() == b"xx"
    # the link header's metadata goes to the copied-up inode, as Docker does
    assert (stat.S_IMODE(a.st_mode), a.st_uid, a.st_mtime) == (0o600, 8, 88)
    assert stat.S_IMODE(os.lstat(dest / "lib").st_mode) == 0o750
    low = os.lstat(lower / "lib/x")  # the lower file is never linked nor changed
    assert (low.st_nlink, stat.S_IMODE(low.st_mode), low.st_uid, low.st_mtime) == \
        (1, 0o640, 7, 77)


def test_lower_whiteouts_and_opaque_dirs_are_respected(tmp_path: Path, dest: Path) -> None:
    bottom, middle = tmp_path / "bottom", tmp_path / "middle"
    bottom.mkdir()
    middle.mkdir()
    run(bottom, E("d/", "dir", mode=0o700), E("d/f", data=b"f"), E("e/", "dir", mode=0o711))
    run(middle, E(".wh.d"), E("e/", "dir", mode=0o755), E("e/.wh..wh..opq"),
        fmt=Format.OVERLAY)
    with pytest.raises(Corrupt, match="hardlink target d/f does not exist"):
        run(dest, E("h", "hardlink", link="d/f"), fmt=Format.OVERLAY, lowers=[middle, bottom])
    run(dest, E("e/new", data=b"n"), E("d/x", data=b"x"), fmt=Format.OVERLAY,
        lowers=[middle, bottom])
    assert stat.S_IMODE(os.lstat(dest / "e").st_mode) == 0o755  # from the top lower
    assert stat.S_IMODE(os.lstat(dest / "d").st_mode) == 0o755  # deleted below: default


def test_missing_destination(tmp_path: Path) -> None:
    with pytest.raises(SystemFailure, match="cannot open layer destination"):
        run(tmp_path / "nope", E("f"))


def test_write_diff_of_a_missing_dir(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="upper dir: no such directory"):
        write_diff(tmp_path / "nope", io.BytesIO())


def test_writing_under_a_name_the_layer_whited_out(tmp_path: Path, dest: Path) -> None:
    lower = tmp_path / "lower"
    lower.mkdir()
    run(lower, E("a/", "dir", mode=0o700, uid=4), E("a/old", data=b"old"))
    run(dest, E(".wh.a"), E("a/new", data=b"new"), fmt=Format.OVERLAY, lowers=[lower])
    st = os.lstat(dest / "a")
    assert is_opaque(dest / "a") and (stat.S_IMODE(st.st_mode), st.st_uid) == (0o755, 0)
    assert os.listdir(dest / "a") == ["new"]
    flat = tmp_path / "flat"
    flat.mkdir()
    run(flat, E("a/", "dir", mode=0o700, uid=4), E("a/old", data=b"old"))
    run(flat, E(".wh.a"), E("a/new", data=b"new"))
    assert os.listdir(flat / "a") == ["new"]
    assert stat.S_IMODE(os.lstat(flat / "a").st_mode) == 0o755


def test_implicit_dirs_ignore_the_umask(dest: Path) -> None:
    old = os.umask(0o077)
    try:
        run(dest, E("x/y/z", data=b"z"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.lstat(dest / "x/y").st_mode) == 0o755


def test_upper_whiteouts_only_where_something_shows(tmp_path: Path, dest: Path) -> None:
    lower = tmp_path / "lower"
    lower.mkdir()
    run(lower, E("f", data=b"f"), E("s", "symlink", link="/etc"))
    run(dest, E(".wh.f"), E(".wh.f"), E("f/.wh.x"), E(".wh.never"), E("s/.wh.passwd"),
        fmt=Format.OVERLAY, lowers=[lower])
    assert os.listdir(dest) == ["f"] and is_whiteout(os.lstat(dest / "f"))
    first = tmp_path / "first"
    first.mkdir()
    run(first, E(".wh.x"), E("d/", "dir"), E("d/.wh.y"), fmt=Format.OVERLAY, lowers=[])
    assert os.listdir(first) == ["d"] and os.listdir(first / "d") == []
