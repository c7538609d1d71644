"""Rooted lookups: nothing is opened or created outside the root, whatever the links."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.runtime.paths import mkdir_in_root, open_in_root


@pytest.fixture
def root(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    r = tmp_path / "root"
    r.mkdir()
    fd = os.open(r, os.O_PATH | os.O_DIRECTORY)
    yield r, fd
    os.close(fd)


def _where(fd: int) -> str:
    path = os.readlink(f"/proc/self/fd/{fd}")
    os.close(fd)
    return path


def test_absolute_and_dotdot_links_stay_inside(root: tuple[Path, int], tmp_path: Path) -> None:
    r, fd = root
    (r / "etc").mkdir()
    (r / "abs").symlink_to("/etc")
    (r / "up").symlink_to("../../../..")
    assert _where(open_in_root(fd, "/abs")) == str(r / "etc")
    assert _where(open_in_root(fd, "/up")) == str(r)
    assert _where(open_in_root(fd, "../../..")) == str(r)


def test_mkdir_follows_dangling_links_inside(root: tuple[Path, int], tmp_path: Path) -> None:
    r, fd = root
    outside = tmp_path / "outside"
    (r / "evil").symlink_to(outside)
    got = _where(mkdir_in_root(fd, "/evil/a/b"))
    assert got == str(r) + str(outside) + "/a/b"
    assert not outside.exists()


def test_mkdir_creates_files_for_file_mounts(root: tuple[Path, int]) -> None:
    r, fd = root
    got = _where(mkdir_in_root(fd, "etc/resolv.conf", file=True))
    assert got == str(r / "etc/resolv.conf") and (r / "etc/resolv.conf").is_file()


def test_loops_and_files_in_the_way_are_errors(root: tuple[Path, int]) -> None:
    r, fd = root
    (r / "loop").symlink_to("loop")
    (r / "file").write_text("x")
    with pytest.raises(OSError):
        mkdir_in_root(fd, "/loop/x")
    with pytest.raises(NotADirectoryError):
        mkdir_in_root(fd, "/file/x")
