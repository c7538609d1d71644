"""Path lookups that never leave the container's root, and the command check."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.engine.rooted import find_command, read_text, resolve
from dockyard.errors import CommandNotFound, ExecFailed


def _make_root(r: Path) -> Path:
    (r / "bin").mkdir(parents=True)
    (r / "usr" / "bin").mkdir(parents=True)
    (r / "bin" / "busybox").write_text("#!")
    os.chmod(r / "bin" / "busybox", 0o755)
    (r / "bin" / "sh").symlink_to("/bin/busybox")
    (r / "usr" / "bin" / "rel").symlink_to("../../bin/busybox")
    (r / "bin" / "escape").symlink_to("/../../../../etc/passwd")
    (r / "bin" / "loop").symlink_to("loop")
    (r / "bin" / "data").write_text("x")
    (r / "usr" / "up").symlink_to("../../..")
    return r


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return _make_root(tmp_path / "root")


_SHARED_BASE = Path(tempfile.mkdtemp(prefix="dy-rooted-"))
atexit.register(shutil.rmtree, _SHARED_BASE, True)  # hypothesis needs it module-wide
_SHARED = _make_root(_SHARED_BASE / "root")


def test_resolve_confines_links(root: Path) -> None:
    assert resolve(root, "/bin/sh") == root / "bin" / "busybox"
    assert resolve(root, "/usr/bin/rel") == root / "bin" / "busybox"
    assert resolve(root, "/bin/escape") == root / "etc" / "passwd"
    assert resolve(root, "/../../..") == root
    with pytest.raises(OSError, match="too many levels"):
        resolve(root, "/bin/loop")


@given(st.lists(st.sampled_from(["..", ".", "bin", "sh", "escape", "usr", "up", "rel", "x"]),
                max_size=8))
def test_resolve_never_leaves_the_root(parts: list[str]) -> None:
    out = resolve(_SHARED, "/".join(parts))
    assert out == _SHARED or str(out).startswith(str(_SHARED) + "/")
    assert ".." not in out.relative_to(_SHARED).parts


def test_read_text_inside_only(root: Path) -> None:
    assert read_text(root, "/bin/escape") is None  # the host's /etc/passwd is not read
    assert read_text(root, "/bin/data") == "x"
    assert read_text(root, "/bin") is None
    assert read_text(root, "/bin/loop") is None


@pytest.mark.parametrize("command, found", [
    ("sh", "/bin/sh"), ("rel", "/usr/bin/rel"), ("/bin/sh", "/bin/sh"),
    ("./bin/sh", "/./bin/sh"),
])
def test_find_command(root: Path, command: str, found: str) -> None:
    assert find_command(root, command, "/usr/bin:/bin") == found


@pytest.mark.parametrize("command, cls, message", [
    ("nope", CommandNotFound, 'exec: "nope": executable file not found in \\$PATH'),
    ("/nope", CommandNotFound, 'exec: "/nope": stat /nope: no such file or directory'),
    ("/bin/data", ExecFailed, 'exec: "/bin/data": permission denied'),
    ("/bin", ExecFailed, 'exec: "/bin": is a directory'),
    ("escape", CommandNotFound, "executable file not found"),
    ("loop", CommandNotFound, "executable file not found"),
])
def test_find_command_errors(root: Path, command: str, cls: type[Exception],
                             message: str) -> None:
    with pytest.raises(cls, match=message):
        find_command(root, command, "/usr/bin:/bin")
