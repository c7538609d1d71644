"""COPY's rules on plain directories (no kernel objects): modes, owners, hostile links
in the destination image, and the chown/chmod parsers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.engine.build_copy import copy_into, parse_chmod, resolve_chown, source_paths
from dockyard.errors import InvalidArgument, NotFound


@given(st.integers(min_value=0, max_value=0o7777))
def test_chmod_accepts_every_octal_mode(mode: int) -> None:
    assert parse_chmod(oct(mode)[2:]) == mode
    assert parse_chmod(f"0{mode:o}") == mode


@pytest.mark.parametrize("text", ["u+x", "999", "-1", "0x10", "17777", "rwx"])
def test_chmod_refuses_what_docker_refuses(text: str) -> None:
    with pytest.raises(InvalidArgument, match="chmod"):
        parse_chmod(text)


@pytest.fixture
def image(tmp_path: Path) -> Path:
    root = tmp_path / "image"
    (root / "etc").mkdir(parents=True)
    (root / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/:/bin/sh\n")
    (root / "etc/group").write_text("root:x:0:\nstaff:x:50:\n")
    return root


@pytest.mark.parametrize("spec, want", [
    ("app", (1000, 1001)), ("app:staff", (1000, 50)), ("7", (7, 7)), ("7:8", (7, 8)),
    ("app:9", (1000, 9)), ("0:staff", (0, 50)),
])
def test_chown_names_resolve_in_the_image(image: Path, spec: str, want: tuple[int, int]) -> None:
    assert resolve_chown(image, spec) == want


@pytest.mark.parametrize("spec, message", [
    ("ghost", "no such user: ghost"), ("app:ghosts", "no such group: ghosts"),
    (":staff", "user is empty"),
])
def test_chown_unknown_names_are_errors(image: Path, spec: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        resolve_chown(image, spec)


def test_chown_never_reads_host_files_through_links(image: Path, tmp_path: Path) -> None:
    host = tmp_path / "host-passwd"
    host.write_text("hostonly:x:4242:4242::/:/bin/sh\n")
    (image / "etc/passwd").unlink()
    os.symlink(str(host), image / "etc/passwd")
    with pytest.raises(InvalidArgument):
        resolve_chown(image, "hostonly")


def test_links_in_the_destination_image_stay_inside_it(image: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(str(outside), image / "escape")           # absolute link to a host dir
    os.symlink("../../../../outside", image / "climb")  # relative link climbing out
    src = tmp_path / "f.txt"
    src.write_text("data")
    copy_into(image, "/escape/", [("f.txt", src, None)], None, None)
    copy_into(image, "/climb/sub/x.txt", [("f.txt", src, None)], None, None)
    assert list(outside.iterdir()) == []
    assert (image / str(outside).lstrip("/") / "f.txt").read_text() == "data"
    assert (image / "outside/sub/x.txt").read_text() == "data"


def test_copy_keeps_modes_and_sets_owner(image: Path, tmp_path: Path) -> None:
    src = tmp_path / "tree"
    (src / "d").mkdir(parents=True)
    (src / "d/run.sh").write_text("#!/bin/sh\n")
    os.chmod(src / "d/run.sh", 0o751)
    os.symlink("run.sh", src / "d/link")
    copy_into(image, "/opt/app", [("tree", src, None)], (5, 6), None)
    st_ = os.lstat(image / "opt/app/d/run.sh")
    assert (st_.st_mode & 0o7777, st_.st_uid, st_.st_gid) == (0o751, 5, 6)
    assert os.readlink(image / "opt/app/d/link") == "run.sh"
    assert os.lstat(image / "opt/app/d/link").st_uid == 5
    copy_into(image, "/opt/mode/", [("run.sh", src / "d/run.sh", None)], None, 0o600)
    assert os.stat(image / "opt/mode/run.sh").st_mode & 0o7777 == 0o600


def test_from_sources_are_resolved_inside_the_stage(image: Path, tmp_path: Path) -> None:
    (image / "data").mkdir()
    for name in ("a.txt", "b.txt", "c.log"):
        (image / "data" / name).write_text(name)
    os.symlink("/etc/passwd", image / "data/link")
    assert [(n, rel) for n, _, rel in source_paths(image, ["/data/*.txt"])] == \
        [("a.txt", "data/a.txt"), ("b.txt", "data/b.txt")]
    (name, host, rel), = source_paths(image, ["data/link"])
    assert (host, rel) == (image / "etc/passwd", "data/link")
    assert source_paths(image, ["/../../data/c.log"])[0][1] == image / "data/c.log"
    with pytest.raises(NotFound, match="nothing"):
        source_paths(image, ["/nothing"])
    with pytest.raises(NotFound, match="no source files"):
        source_paths(image, ["/data/*.md"])
