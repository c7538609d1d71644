"""An independent, deliberately simple model of applying layers: a dict of paths.

It knows nothing of overlayfs or of the code under test: opaque markers of a layer
clear their directory first, then entries apply in order, whiteouts delete a path and
everything under it, a non-directory replaces whatever was there, a directory entry
over a directory only changes its metadata, a hardlink copies its target's node.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tests.unit.images.layers.tarbuild import E

Node = tuple[str, int, int, int, bytes, int, int]  # kind, mode, uid, gid, data, rdev, mtime


@dataclass
class Model:
    tree: dict[str, Node]
    links: dict[str, set[str]]  # path -> every path sharing its inode (hardlinks)

    def _drop(self, path: str, *, keep_self: bool = False) -> None:
        for p in list(self.tree):
            if p.startswith(path + "/") or (p == path and not keep_self):
                del self.tree[p]
                group = self.links.pop(p, set())
                group.discard(p)

    def _parents(self, path: str) -> None:
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            p = "/".join(parts[:i])
            if p not in self.tree or self.tree[p][0] != "dir":
                self._drop(p)
                self.tree[p] = ("dir", 0o755, 0, 0, b"", 0, -1)

    def apply(self, layer: Iterable[E]) -> None:
        entries = list(layer)
        # Opaque markers first, in their order: each clears what is below its directory
        # except what earlier markers of this layer named, and implies its directory.
        written: set[str] = set()
        detached: set[str] = set()
        for e in entries:
            name = e.name.strip("/")
            if not name.endswith(".wh..wh..opq"):
                continue
            d = name.rpartition("/")[0]
            for p in [p for p in self.tree if p.startswith(d + "/" if d else "")
                      and p not in written]:
                self._drop(p)
            if d and (d not in self.tree or self.tree[d][0] != "dir"):
                self._parents(d + "/x")
            parts = d.split("/") if d else []
            written.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
        for e in entries:
            name = e.name.strip("/")
            parent, _, base = name.rpartition("/")
            if base == ".wh..wh..opq":
                continue
            if base.startswith(".wh."):
                target = f"{parent}/{base[4:]}" if parent else base[4:]
                if target not in written:  # a layer never hides its own entries
                    self._drop(target)
                continue
            parts = name.split("/")
            written.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
            self._parents(name)
            if e.kind == "hardlink":
                # Docker's rule: the link header's owner, mode and mtime go to the
                # shared inode (a symlink keeps its mode and time).
                target = e.link.strip("/")
                if target not in written and target not in detached:
                    # From an earlier layer: overlayfs copies it up, apart from the
                    # names it was linked to below, which keep the old inode.
                    self.links.pop(target, {target}).discard(target)
                    detached.add(target)
                t = self.tree[target]
                if t[0] == "symlink":
                    node = (t[0], t[1], e.uid, e.gid, t[4], t[5], t[6])
                else:
                    node = (t[0], e.mode, e.uid, e.gid, t[4], t[5], e.mtime)
                self._drop(name)
                group = self.links.setdefault(target, {target})
                group.add(name)
                self.links[name] = group
                for p in group:
                    self.tree[p] = node
                continue
            else:
                data = e.data if e.kind == "file" else e.link.encode()
                rdev = os.makedev(e.major, e.minor) if e.kind in ("char", "block") else 0
                mode = e.mode if e.kind != "symlink" else 0o777
                node = (e.kind, mode, e.uid, e.gid, data, rdev, e.mtime)
            old = self.tree.get(name)
            if not (e.kind == "dir" and old is not None and old[0] == "dir"):
                self._drop(name)
            self.tree[name] = node


def expected(layers: Iterable[Iterable[E]]) -> dict[str, Node]:
    m = Model({}, {})
    for layer in layers:
        m.apply(layer)
    return m.tree


_KIND = {stat.S_IFDIR: "dir", stat.S_IFREG: "file", stat.S_IFLNK: "symlink",
         stat.S_IFCHR: "char", stat.S_IFBLK: "block", stat.S_IFIFO: "fifo"}


def capture(root: Path) -> dict[str, Node]:
    """The same view of a real tree (directory mtimes left out: -1)."""
    out: dict[str, Node] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            kind = _KIND[stat.S_IFMT(st.st_mode)]
            data = b""
            if kind == "file":
                data = Path(p).read_bytes()
            elif kind == "symlink":
                data = os.fsencode(os.readlink(p))
            rdev = st.st_rdev if kind in ("char", "block") else 0
            mtime = -1 if kind == "dir" else st.st_mtime_ns // 1_000_000_000
            out[os.path.relpath(p, root)] = (kind, stat.S_IMODE(st.st_mode), st.st_uid,
                                             st.st_gid, data, rdev, mtime)
    return out


def without_dir_mtimes(tree: dict[str, Node]) -> dict[str, Node]:
    return {p: (*n[:6], -1 if n[0] == "dir" else n[6]) for p, n in tree.items()}
