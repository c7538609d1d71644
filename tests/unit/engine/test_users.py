"""--user and --group-add against the image's own passwd and group files."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.engine.users import ExecUser, resolve_user
from dockyard.errors import InvalidArgument

PASSWD = ("root:x:0:0:root:/root:/bin/sh\n" "daemon:x:1:1::/usr/sbin:/bin/false\n"
          "tester:x:1000:1000::/home/tester:/bin/sh\n" "broken line\n")
GROUP = "root:x:0:\nusers:x:100:tester,other\ntester:x:1000:\nwheel:x:10:tester\n"


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text(PASSWD)
    (tmp_path / "etc" / "group").write_text(GROUP)
    return tmp_path


@pytest.mark.parametrize("user, group_add, expect", [
    ("", None, ExecUser(0, 0, [0], "/root")),
    ("root", None, ExecUser(0, 0, [0], "/root")),
    ("tester", None, ExecUser(1000, 1000, [1000, 100, 10], "/home/tester")),
    ("1000", None, ExecUser(1000, 1000, [1000, 100, 10], "/home/tester")),
    ("4242", None, ExecUser(4242, 0, [0], "/")),
    ("tester:users", None, ExecUser(1000, 100, [], "/home/tester")),
    ("daemon:4242", None, ExecUser(1, 4242, [], "/usr/sbin")),
    ("daemon", ["wheel", "777"], ExecUser(1, 1, [1, 10, 777], "/usr/sbin")),
])
def test_resolve_user(rootfs: Path, user: str, group_add: list[str] | None,
                      expect: ExecUser) -> None:
    assert resolve_user(rootfs, user, group_add) == expect


@pytest.mark.parametrize("user, group_add, message", [
    ("nobody2", None, "unable to find user nobody2: no matching entries in passwd file"),
    ("tester:nogroup", None, "unable to find group nogroup"),
    ("root", ["ghosts"], "unable to find group ghosts"),
    ("-5", None, "uids and gids must be in range"),
])
def test_unknown_users_and_groups(rootfs: Path, user: str, group_add: list[str] | None,
                                  message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        resolve_user(rootfs, user, group_add)


def test_passwd_symlinked_to_the_host_is_read_inside_the_root(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").symlink_to("/etc/passwd")  # hostile image
    with pytest.raises(InvalidArgument, match="unable to find user root"):
        resolve_user(tmp_path, "root")  # the host's file was not read
    assert resolve_user(tmp_path, "0") == ExecUser(0, 0, [0], "/")
