"""Where ``COPY --parents`` puts a source and which sources ``--exclude`` drops.

``--parents`` keeps each source's path (relative to the context or stage root) under
the destination; a ``/./`` in the source is the pivot: only the part after it is kept
(``COPY --parents a/./b/c.txt /d/`` gives ``/d/b/c.txt``). ``--exclude`` patterns
(.dockerignore syntax) drop paths below a copied directory, relative to it, and
wildcard matches, relative to the directory before the first wildcard (the documented
``COPY --exclude=*.txt hom* /mydir/`` copies the ``hom*`` files but not the ``.txt``).
"""

from __future__ import annotations

import posixpath

from .dockerignore import PatternMatcher, go_clean

__all__ = ["has_glob", "kept_path", "pivot", "top_excluded"]

_GLOB = frozenset("*?[\\")


def has_glob(source: str) -> bool:
    """Whether a source pattern has wildcard characters."""
    return any(ch in _GLOB for ch in source)


def _clean(path: str) -> str:
    return go_clean("/" + path).lstrip("/")


def pivot(source: str) -> str:
    """The root-relative directory a ``--parents`` source keeps its path from."""
    before, found, _ = source.partition("/./")
    return _clean(before) if found else ""


def kept_path(hit: str, source: str) -> str:
    """The path ``hit`` (root-relative, matched by ``source``) keeps under dest."""
    base = pivot(source)
    clean = _clean(hit)
    if not base:
        return clean
    return posixpath.relpath(clean, base) if clean != base else "."


def top_excluded(hit: str, source: str, excludes: PatternMatcher) -> bool:
    """Whether a wildcard match ``hit`` of ``source`` is dropped by ``excludes``."""
    if not has_glob(source):
        return False
    fixed: list[str] = []
    for part in _clean(source).split("/")[:-1]:
        if has_glob(part):
            break
        fixed.append(part)
    directory = "/".join(fixed)
    clean = _clean(hit)
    rel = posixpath.relpath(clean, directory) if directory else clean
    return excludes.matches(rel)
