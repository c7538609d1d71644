"""``docker diff``: what a container changed, read from its overlay upper dir.

Kinds as in the API: 0 modified, 1 added, 2 deleted. An upper entry is "added" when no
lower layer has that path, "modified" otherwise; a whiteout (0/0 char device) is a
deletion; parents of changed entries count as modified, like docker's output.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dockyard.oci.mount import Mount


__all__ = ["RUNTIME_MOUNTPOINTS", "overlay_changes", "overlay_dirs"]

# Files the runtime creates in the upper dir as bind-mount targets when the image lacks
# them; docker keeps these in a hidden init layer, so they never show in diff or commit.
RUNTIME_MOUNTPOINTS = frozenset({"/etc/hostname", "/etc/hosts", "/etc/resolv.conf",
                                 "/dev/init"})


def overlay_dirs(mounts: Sequence[Mount]) -> tuple[str, list[str]]:
    """(upperdir, lowerdirs) of an overlay mount list."""
    for m in mounts:
        if m.type != "overlay":
            continue
        upper, lowers = "", []
        for opt in m.options:
            key, _, value = opt.partition("=")
            if key == "upperdir":
                upper = value
            elif key == "lowerdir":
                lowers = [os.path.join(m.source, p) if not p.startswith("/") and m.source
                          else p for p in value.split(":")]
        return upper, lowers
    raise ValueError("no overlay mount")


def overlay_changes(upper: str, lowers: list[str],
                    ignore: frozenset[str] = RUNTIME_MOUNTPOINTS) -> list[dict[str, object]]:
    """The changes of ``upper`` over ``lowers``, sorted by path; empty regular files at
    ``ignore`` paths (runtime mount points) are left out."""
    out: dict[str, int] = {}

    def in_lower(rel: str) -> bool:
        return any(os.path.lexists(os.path.join(lo, rel)) for lo in lowers)

    for dirpath, dirnames, filenames in os.walk(upper):
        rel_dir = os.path.relpath(dirpath, upper)
        for name in dirnames + filenames:
            rel = os.path.normpath(os.path.join(rel_dir, name))
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            if "/" + rel in ignore and stat.S_ISREG(st.st_mode) and st.st_size == 0:
                continue
            if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                out["/" + rel] = 2
                continue
            if stat.S_ISDIR(st.st_mode) and in_lower(rel):
                continue  # a directory only holding changes; its children speak
            out["/" + rel] = 0 if in_lower(rel) else 1
    for path in list(out):
        parent = os.path.dirname(path)
        while parent not in ("/", ""):
            out.setdefault(parent, 0)
            parent = os.path.dirname(parent)
    return [{"Path": p, "Kind": k} for p, k in sorted(out.items())]
