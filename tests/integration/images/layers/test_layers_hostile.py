"""A corpus of hostile layers: each is refused with an error naming the entry, and
nothing outside the destination changes (a canary dir and the host paths aimed at)."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from dockyard.errors import Corrupt, DockyardError, Forbidden
from dockyard.images.layers import Format, Limits, apply_layer
from dockyard.images.snapshots import OverlaySnapshotter, unpack_layer
from tests.unit.images.layers.tarbuild import (
    END,
    E,
    gz,
    pad,
    raw_header,
    tar_bytes,
    with_pax,
    zst,
)

SHADOW = Path("/etc/shadow")


@dataclass
class Case:
    build: Callable[[str], bytes]  # canary dir path -> layer bytes
    error: type[DockyardError]
    match: str
    limits: Limits | None = None


def _bomb_gz(_: str) -> bytes:
    return gz(tar_bytes([E("big", data=b"\0" * (8 << 20))]))


def _bomb_zst(_: str) -> bytes:
    return zst(tar_bytes([E("big", data=b"\0" * (8 << 20))]))


SMALL = Limits(max_ratio=20, ratio_grace=1 << 20)

CASES: dict[str, Case] = {
    "dotdot-name": Case(lambda c: tar_bytes([E("../evil")]), Forbidden,
                        r"layer entry \.\./evil: path \.\./evil contains '\.\.'"),
    "dotdot-inside": Case(lambda c: tar_bytes([E("a/../../evil")]), Forbidden,
                          r"layer entry a/\.\./\.\./evil"),
    "absolute-name": Case(lambda c: tar_bytes([E(c + "/evil")]), Forbidden,
                          "absolute path"),
    "abs-symlink-then-file": Case(
        lambda c: tar_bytes([E("lnk", "symlink", link=c), E("lnk/pwned", data=b"x")]),
        Forbidden, r"layer entry lnk/pwned: path goes through a symlink"),
    "rel-symlink-escape-then-file": Case(
        lambda c: tar_bytes([E("lnk", "symlink", link="../../../../../.."),
                             E("lnk/pwned", data=b"x")]),
        Forbidden, r"layer entry lnk/pwned: path goes through a symlink"),
    "abs-symlink-then-dir": Case(
        lambda c: tar_bytes([E("lnk", "symlink", link=c), E("lnk/sub", "dir")]),
        Forbidden, r"layer entry lnk/sub/: path goes through a symlink"),
    "symlink-loop": Case(
        lambda c: tar_bytes([E("a", "symlink", link="b"), E("b", "symlink", link="a"),
                             E("a/x", data=b"x")]),
        Forbidden, r"layer entry a/x: path goes through a symlink"),
    "hardlink-abs-shadow": Case(
        lambda c: tar_bytes([E("h", "hardlink", link=str(SHADOW))]),
        Forbidden, r"layer entry h: absolute path /etc/shadow"),
    "hardlink-dotdot-shadow": Case(
        lambda c: tar_bytes([E("h", "hardlink", link="../../../../../../../etc/shadow")]),
        Forbidden, r"layer entry h: path \.\./.*etc/shadow contains '\.\.'"),
    "hardlink-through-symlink": Case(
        lambda c: tar_bytes([E("s", "symlink", link="/etc"),
                             E("h", "hardlink", link="s/shadow")]),
        Forbidden, r"layer entry h: path goes through a symlink"),
    "hardlink-missing-target": Case(
        lambda c: tar_bytes([E("h", "hardlink", link="etc/shadow")]),
        Corrupt, r"layer entry h: hardlink target etc/shadow does not exist"),
    "hardlink-to-dir": Case(
        lambda c: tar_bytes([E("d", "dir"), E("h", "hardlink", link="d")]),
        Forbidden, r"layer entry h: hardlink to directory d"),
    "whiteout-dotdot": Case(lambda c: tar_bytes([E("../.wh.canary")]), Forbidden,
                            r"layer entry \.\./\.wh\.canary"),
    "whiteout-of-dotdot": Case(lambda c: tar_bytes([E("a", "dir"), E("a/.wh...")]),
                               Forbidden, r"layer entry a/\.wh\.\.\.: whiteout of \.\."),
    "whiteout-through-symlink": Case(
        lambda c: tar_bytes([E("lnk", "symlink", link=c), E("lnk/.wh.canary")]),
        Forbidden, r"layer entry lnk/\.wh\.canary: path goes through a symlink"),
    "opaque-through-symlink": Case(
        lambda c: tar_bytes([E("lnk", "symlink", link=c), E("lnk/.wh..wh..opq")]),
        Forbidden, r"layer entry lnk/\.wh\.\.wh\.\.opq: path goes through a symlink"),
    "char-device-refused": Case(
        lambda c: tar_bytes([E("mem", "char", major=1, minor=1)]), Forbidden,
        r"layer entry mem: device nodes are not allowed", Limits(allow_devices=False)),
    "block-device-refused": Case(
        lambda c: tar_bytes([E("sda", "block", major=8, minor=0)]), Forbidden,
        r"layer entry sda: device nodes are not allowed", Limits(allow_devices=False)),
    "overlay-xattr": Case(
        lambda c: tar_bytes([E("d", "dir", xattrs={"trusted.overlay.opaque": "y"})]),
        Forbidden, r"layer entry d/: xattr trusted.overlay.opaque is reserved"),
    "oversized-pax-header": Case(
        lambda c: raw_header(b"PaxHeaders/x", b"x", size=64 << 20), Forbidden,
        "extended header of 67108864 bytes"),
    "oversized-name": Case(lambda c: tar_bytes([E("n/" * 3000 + "x")]), Forbidden,
                           r"Limits\.max_name"),
    "gzip-bomb": Case(_bomb_gz, Forbidden, "gzip stream expands more than 20x", SMALL),
    "zstd-bomb": Case(_bomb_zst, Forbidden, "zstd stream expands more than 20x", SMALL),
    "truncated-tar": Case(lambda c: tar_bytes([E("f", data=b"x" * 5000)])[:2048], Corrupt,
                          r"layer entry f: truncated tar stream in its content"),
    "truncated-gzip": Case(lambda c: gz(tar_bytes([E("f", data=os.urandom(5000))]))[:3000],
                           Corrupt, "truncated gzip stream"),
    "truncated-zstd": Case(lambda c: zst(tar_bytes([E("f", data=os.urandom(5000))]))[:3000],
                           Corrupt, "truncated zstd stream"),
    "no-end-of-archive": Case(lambda c: raw_header(b"f", size=1) + pad(b"x"), Corrupt,
                              "truncated tar stream in a header"),
    "whiteout-name-as-dir": Case(lambda c: tar_bytes([E(".wh.x/y")]), Corrupt,
                                 r"layer entry \.wh\.x/y: whiteout name \.wh\.x used"),
    "pax-path-dotdot": Case(  # the ustar name looks harmless; the PAX path does not
        lambda c: tar_bytes([E("d" * 120 + "/../../../evil")]), Forbidden,
        r"contains '\.\.'"),
    "gnu-longname-dotdot": Case(
        lambda c: tar_bytes([E("d" * 120 + "/../../../evil")], tarfile.GNU_FORMAT),
        Forbidden, r"contains '\.\.'"),
    "pax-linkpath-absolute": Case(
        lambda c: tar_bytes([E("h", "hardlink", link="/" + "e" * 120 + "/../etc/shadow")]),
        Forbidden, r"layer entry h: absolute path"),
    "root-as-symlink": Case(lambda c: tar_bytes([E("./", "symlink", link=c)]), Corrupt,
                            r"layer entry \./: the root must be a directory"),
    "whiteout-of-nothing": Case(lambda c: tar_bytes([E(".wh.")]), Forbidden,
                                r"layer entry \.wh\.: whiteout of nothing"),
    "pax-nul-in-path": Case(lambda c: with_pax({b"path": b"ok\0/../../evil"}), Corrupt,
                            r"NUL byte in a name"),
    "pax-nul-in-linkpath": Case(lambda c: with_pax({b"linkpath": b"/etc\0x"}, flag=b"2"),
                                Corrupt, r"layer entry f: NUL byte in a name"),
    "pax-huge-uid": Case(lambda c: with_pax({b"uid": b"99999999999999"}), Corrupt,
                         r"layer entry f: owner 99999999999999:0 out of range"),
    "pax-nan-mtime": Case(lambda c: with_pax({b"mtime": b"nan"}), Corrupt,
                          r"layer entry f: mtime nan out of range"),
    "pax-inf-mtime": Case(lambda c: with_pax({b"mtime": b"-inf"}), Corrupt,
                          r"layer entry f: mtime -inf out of range"),
    "sparse-file": Case(lambda c: raw_header(b"sparse", b"S") + END, Corrupt,
                        "layer entry sparse: unsupported tar entry"),
}


def _snapshot(path: Path) -> dict[str, tuple[int, int, int, str]]:
    """Every path under ``path`` with mode, size, mtime and a content hash."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            digest = ""
            if os.path.isfile(p) and not os.path.islink(p):
                digest = hashlib.sha256(Path(p).read_bytes()).hexdigest()
            out[os.path.relpath(p, path)] = (st.st_mode, st.st_size, st.st_mtime_ns, digest)
    return out


@pytest.fixture
def arena(tmp_path: Path) -> tuple[Path, Path]:
    """(canary dir with a file in it, sibling dir to use as dest)."""
    canary = tmp_path / "canary"
    canary.mkdir()
    (canary / "canary").write_text("do not touch\n")
    dest = tmp_path / "dest"
    dest.mkdir()
    return canary, dest


def _host_state() -> tuple[int, int, int]:
    st = SHADOW.stat()
    return st.st_ino, st.st_nlink, st.st_mtime_ns


def _linked_to_shadow(dest: Path) -> list[str]:
    ino = SHADOW.stat().st_ino
    dev = SHADOW.stat().st_dev
    return [p for p in (os.path.join(d, f) for d, _, fs in os.walk(dest) for f in fs)
            if (os.lstat(p).st_ino, os.lstat(p).st_dev) == (ino, dev)]


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 15


@pytest.mark.parametrize("fmt", [Format.DIR, Format.OVERLAY])
@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_layer_is_refused(name: str, fmt: Format, arena: tuple[Path, Path]) -> None:
    canary, dest = arena
    case = CASES[name]
    data = case.build(str(canary))
    outside = dest.parent
    before_outside = sorted(os.listdir(outside))
    before_canary = _snapshot(canary)
    before_host = _host_state()
    with pytest.raises(case.error, match=case.match):
        apply_layer(io.BytesIO(data), dest, format=fmt, limits=case.limits)
    assert _snapshot(canary) == before_canary
    assert sorted(os.listdir(outside)) == before_outside
    assert not (outside / "evil").exists() and not Path("/evil").exists()
    assert _host_state() == before_host
    assert _linked_to_shadow(dest) == []


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_layer_leaves_the_snapshotter_unchanged(name: str, arena: tuple[Path, Path],
                                                        tmp_path: Path) -> None:
    canary, _ = arena
    case = CASES[name]
    with OverlaySnapshotter(tmp_path / "snapshots") as sn:
        unpack_layer(sn, io.BytesIO(tar_bytes([E("base/", "dir"), E("base/f", data=b"1")])),
                     "sha256:base", None)
        before = list(sn.walk())
        before_dirs = sorted(os.listdir(sn.root))
        with pytest.raises(case.error, match=case.match):
            unpack_layer(sn, io.BytesIO(case.build(str(canary))), "sha256:bad",
                         "sha256:base", limits=case.limits)
        assert list(sn.walk()) == before
        assert sorted(os.listdir(sn.root)) == before_dirs
    assert _snapshot(canary) == {"canary": _snapshot(canary)["canary"]}


def test_file_over_a_symlink_replaces_the_link(arena: tuple[Path, Path]) -> None:
    """Not refused, but never written through: the link itself is replaced."""
    canary, dest = arena
    before = _snapshot(canary)
    apply_layer(io.BytesIO(tar_bytes([E("lnk", "symlink", link=str(canary / "canary")),
                                      E("lnk", data=b"pwned")])), dest)
    assert (dest / "lnk").read_bytes() == b"pwned" and not (dest / "lnk").is_symlink()
    assert _snapshot(canary) == before


def test_symlink_parent_in_a_lower_layer_is_refused(arena: tuple[Path, Path],
                                                    tmp_path: Path) -> None:
    canary, dest = arena
    lower = tmp_path / "lower"
    lower.mkdir()
    (lower / "lib").symlink_to(canary)
    before = _snapshot(canary)
    with pytest.raises(Forbidden, match=r"layer entry lib/x: path goes through a symlink"):
        apply_layer(io.BytesIO(tar_bytes([E("lib/x", data=b"x")])), dest,
                    format=Format.OVERLAY, lowers=[lower])
    assert _snapshot(canary) == before


def test_whiteout_device_entry_refused_in_overlay(arena: tuple[Path, Path]) -> None:
    _, dest = arena
    with pytest.raises(Forbidden, match=r"layer entry w: a 0:0 character device"):
        apply_layer(io.BytesIO(tar_bytes([E("w", "char")])), dest, format=Format.OVERLAY)


def test_diff_id_mismatch_is_corrupt(arena: tuple[Path, Path]) -> None:
    _, dest = arena
    with pytest.raises(Corrupt, match="does not match the expected sha256:00"):
        apply_layer(io.BytesIO(tar_bytes([E("f")])), dest, expected_diff_id="sha256:00")
