"""docker diff from an overlay upper dir."""

from __future__ import annotations

import os
from pathlib import Path

from dockyard.engine.changes import overlay_changes, overlay_dirs
from dockyard.oci.mount import Mount


def test_kinds(tmp_path: Path) -> None:
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    for d in (lower / "etc", lower / "usr" / "lib", upper / "etc", upper / "usr" / "lib",
              upper / "new"):
        d.mkdir(parents=True)
    (lower / "etc" / "passwd").write_text("a")
    (lower / "etc" / "group").write_text("a")
    (upper / "etc" / "passwd").write_text("b")  # modified
    os.mknod(upper / "etc" / "group", 0o600 | 0o020000, os.makedev(0, 0))  # whiteout
    (upper / "usr" / "lib" / "x.so").write_text("x")  # added deep inside
    (upper / "new" / "f").write_text("f")
    (upper / "etc" / "hostname").write_text("")  # runtime mount point: hidden
    got = {c["Path"]: c["Kind"] for c in overlay_changes(str(upper), [str(lower)])}
    assert got == {"/etc": 0, "/etc/passwd": 0, "/etc/group": 2, "/usr": 0, "/usr/lib": 0,
                   "/usr/lib/x.so": 1, "/new": 1, "/new/f": 1}


def test_overlay_dirs() -> None:
    m = Mount("overlay", "overlay", "", ("lowerdir=/a:/b", "upperdir=/u", "workdir=/w"))
    assert overlay_dirs([m]) == ("/u", ["/a", "/b"])
    rel = Mount("overlay", "/snaps", "", ("lowerdir=1/fs:2/fs", "upperdir=/u"))
    assert overlay_dirs([rel]) == ("/u", ["/snaps/1/fs", "/snaps/2/fs"])
