"""Where ``cp`` puts what it copies: docker's rules for files, directories and ``/.``.

The archive always holds the source under its base name. ``plan`` decides, from what
exists at the destination, which directory to extract into and what the top entry is
renamed to. Pure logic.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from dockyard.errors import InvalidArgument, NotFound

__all__ = ["Plan", "plan", "split_contents"]


@dataclass(frozen=True)
class Plan:
    extract_dir: str            # existing directory to extract into
    rename: tuple[str, str] | None  # (src base, new name) for the top entry


def split_contents(path: str) -> tuple[str, bool]:
    """``/dir/.`` → (``/dir``, True): copy the directory's contents, not itself."""
    stripped = path.rstrip("/") if path not in ("/", "") else path
    if stripped.endswith("/.") or stripped == ".":
        return (stripped[:-2] or "/") if stripped != "." else ".", True
    return path, False


def plan(src_base: str, src_is_dir: bool, contents_only: bool, dest: str,
         dest_kind: str, parent_is_dir: bool) -> Plan:
    """``dest_kind`` is "dir", "file" or "" (missing); ``parent_is_dir`` whether the
    destination's parent directory exists."""
    trailing = dest.endswith("/") or dest.endswith("/.")
    clean = posixpath.normpath(dest) if dest else "."
    if dest_kind == "dir":
        if src_is_dir and contents_only:
            return Plan(clean, (src_base, "."))
        return Plan(clean, None)
    if dest_kind == "file":
        if src_is_dir:
            raise InvalidArgument(f"cannot copy a directory to a file: {dest}")
        if trailing:
            raise InvalidArgument(f"destination {dest} is not a directory")
        return Plan(posixpath.dirname(clean) or "/", (src_base, posixpath.basename(clean)))
    if trailing and not src_is_dir:
        raise NotFound(f"destination directory {dest} does not exist")
    if not parent_is_dir:
        raise NotFound(f"no such directory: {posixpath.dirname(clean) or '/'}")
    return Plan(posixpath.dirname(clean) or "/", (src_base, posixpath.basename(clean)))
