"""Tar streams into a directory never leave it; trees round-trip with their metadata."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.errors import DockyardError, Forbidden
from dockyard.volumes.archive import clean_name, extract_tar, write_tar


def _tar(*entries: tarfile.TarInfo, data: dict[str, bytes] | None = None) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for e in entries:
            body = (data or {}).get(e.name)
            if body is not None:
                e.size = len(body)
                t.addfile(e, io.BytesIO(body))
            else:
                t.addfile(e)
    buf.seek(0)
    return buf


def _entry(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    e = tarfile.TarInfo(name)
    e.type, e.linkname, e.mode = kind, link, 0o644
    return e


@pytest.fixture
def box(tmp_path: Path) -> Iterator[tuple[Path, int, Path]]:
    """(target dir, its descriptor, a 'host' file beside it that must stay untouched)."""
    target = tmp_path / "target"
    target.mkdir()
    host = tmp_path / "host-secret"
    host.write_text("untouched")
    fd = os.open(target, os.O_PATH | os.O_DIRECTORY)
    yield target, fd, host
    os.close(fd)


def _host_same(tmp: Path, host: Path) -> None:
    assert host.read_text() == "untouched"
    assert sorted(p.name for p in tmp.iterdir()) == ["host-secret", "target"]


ESCAPES = [
    ("dotdot file", [_entry("../host-secret")], {"../host-secret": b"pwned"}),
    ("deep dotdot", [_entry("a/../../host-secret")], {"a/../../host-secret": b"pwned"}),
    ("symlink then through it",
     [_entry("lnk", tarfile.SYMTYPE, ".."), _entry("lnk/host-secret")],
     {"lnk/host-secret": b"pwned"}),
    ("absolute symlink then through it",
     [_entry("etc", tarfile.SYMTYPE, str(Path("/proc/self/cwd"))), _entry("etc/x")], {}),
    ("hardlink to outside", [_entry("h", tarfile.LNKTYPE, "../host-secret")], {}),
    ("hardlink through a symlink",
     [_entry("up", tarfile.SYMTYPE, ".."), _entry("h", tarfile.LNKTYPE, "up/host-secret")],
     {}),
    ("dir symlink then mkdir under it",
     [_entry("d", tarfile.SYMTYPE, "/tmp"), _entry("d/sub", tarfile.DIRTYPE)], {}),
]


@pytest.mark.parametrize(("what", "entries", "data"), ESCAPES, ids=[e[0] for e in ESCAPES])
def test_escapes_are_refused(box: tuple[Path, int, Path], what: str,
                             entries: list[tarfile.TarInfo], data: dict[str, bytes]) -> None:
    target, fd, host = box
    with pytest.raises(Forbidden):
        extract_tar(_tar(*entries, data=data), fd)
    _host_same(target.parent, host)


def test_absolute_names_land_inside(box: tuple[Path, int, Path]) -> None:
    target, fd, host = box
    extract_tar(_tar(_entry(str(host))), fd)
    assert (target / str(host).lstrip("/")).is_file()
    _host_same(target.parent, host)


def test_existing_symlink_in_target_is_replaced_not_followed(
        box: tuple[Path, int, Path]) -> None:
    target, fd, host = box
    (target / "f").symlink_to(host)
    extract_tar(_tar(_entry("f"), data={"f": b"new"}), fd)
    assert not (target / "f").is_symlink()
    assert (target / "f").read_bytes() == b"new"
    _host_same(target.parent, host)


@pytest.mark.parametrize("name", ["a", "./a", "a/b/../c", "/x/y", "a//b/"])
def test_clean_names(name: str) -> None:
    assert not clean_name(name).startswith(("/", ".."))


def _make_tree(root: Path) -> None:
    (root / "d" / "e").mkdir(parents=True)
    (root / "d" / "f").write_bytes(b"data")
    os.chown(root / "d" / "f", 1234, 5678)
    os.chmod(root / "d" / "f", 0o4751)  # after chown, which clears set-id bits
    os.link(root / "d" / "f", root / "hard")
    (root / "rel").symlink_to("d/f")
    (root / "abs").symlink_to("/etc/passwd")
    os.lchown(root / "abs", 42, 43)
    os.mkfifo(root / "fifo", 0o600)
    os.chmod(root / "d" / "e", 0o700)
    os.utime(root / "d", (1_000_000, 1_000_000))


def _describe(root: Path) -> dict[str, tuple[object, ...]]:
    out: dict[str, tuple[object, ...]] = {}
    inodes: dict[int, str] = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        rel = str(p.relative_to(root))
        link = os.readlink(p) if p.is_symlink() else ""
        first = inodes.setdefault(st.st_ino, rel)
        out[rel] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid,
                    st.st_gid, link, first, p.read_bytes() if stat.S_ISREG(st.st_mode)
                    else b"", int(st.st_mtime) if stat.S_ISDIR(st.st_mode) else 0)
    return out


def test_round_trip_keeps_modes_owners_links(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    _make_tree(src)
    buf = io.BytesIO()
    parent = os.open(tmp_path, os.O_PATH | os.O_DIRECTORY)
    try:
        write_tar(parent, "src", "src", buf)
    finally:
        os.close(parent)
    buf.seek(0)
    out = tmp_path / "out"
    out.mkdir()
    fd = os.open(out, os.O_PATH | os.O_DIRECTORY)
    try:
        extract_tar(buf, fd, ("src", "copy"), owners=True)
    finally:
        os.close(fd)
    assert _describe(out / "copy") == _describe(src)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["a", "b", "..", ".", "c"]), min_size=1,
                         max_size=5).map("/".join), min_size=1, max_size=6))
def test_random_names_stay_inside(tmp_path_factory: pytest.TempPathFactory,
                                  names: list[str]) -> None:
    tmp = tmp_path_factory.mktemp("rand")
    target = tmp / "t"
    target.mkdir()
    fd = os.open(target, os.O_PATH | os.O_DIRECTORY)
    try:
        extract_tar(_tar(*[_entry(n) for n in names]), fd)
    except (DockyardError, OSError):
        pass  # refusing is fine; landing outside is not
    finally:
        os.close(fd)
    assert [p.name for p in tmp.iterdir()] == ["t"]
