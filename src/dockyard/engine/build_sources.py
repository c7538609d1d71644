"""What a COPY or ADD request puts into the new snapshot's root: ADD downloads, context
and stage sources (with ``--parents`` and ``--exclude``), heredoc files."""

from __future__ import annotations

import os
import posixpath
import secrets
import shutil
import stat
from pathlib import Path
from typing import Any

from dockyard.build import CopyRequest, PatternMatcher
from dockyard.build.copyplan import kept_path, top_excluded
from dockyard.engine import rooted
from dockyard.engine.build_copy import copy_into, make_dir, make_parents, source_paths
from dockyard.engine.build_snap import viewed
from dockyard.errors import NotFound
from dockyard.settings import Roots

__all__ = ["copy_sources"]


def copy_sources(root: Path, request: CopyRequest, owner: tuple[int, int] | None,
                 chmod: int | None, *, roots: Roots, snapshotter: Any,
                 ignore: PatternMatcher | None) -> None:
    """Put what ``request`` names into ``root`` (the new snapshot, mounted)."""
    if not request.sources and not request.contents and not request.downloads:
        make_dir(root, request.dest, owner)
        return
    if request.downloads:
        # unpacked only with --unpack=true; mode 0600 unless --chmod; the mtime of
        # Last-Modified
        got = [(d.name, d.path, None) for d in request.downloads]
        if request.sources and not request.dest.endswith(("/", "/.")):
            got.append(got[0])  # more than one source: copy_into's own refusal
        copy_into(root, request.dest, got, owner, chmod,
                  unpack=request.unpack_downloads)
        for d in request.downloads:
            target = rooted.resolve(root, request.dest)
            if target.is_dir() and not target.is_symlink():
                target = target / d.name
            if d.mtime is not None and os.path.lexists(target):  # not when unpacked
                os.utime(target, (d.mtime, d.mtime), follow_symlinks=False)
    exclude = PatternMatcher(list(request.excludes)) if request.excludes else None
    for source in request.sources:
        if source.root is not None:
            ctx = source.root
            items = _checked([(os.path.basename(p.rstrip("/")) or ".",
                               rooted.resolve(ctx, p), p) for p in source.paths])
            if not source.kept:
                copy_into(root, request.dest, items, owner, chmod, context=ctx,
                          matcher=ignore, unpack=request.unpack, exclude=exclude)
                continue
            for item, kept in zip(items, source.kept, strict=True):
                _copy_kept(root, request, item, str(item[2]), kept, ctx, owner, chmod,
                           exclude, ignore, context=ctx)
            continue
        with viewed(roots, snapshotter, source.snapshot) as src_root:
            for pattern in source.paths:
                found = [(n, p, rel) for n, p, rel in source_paths(src_root, [pattern])
                         if exclude is None or not top_excluded(rel, pattern, exclude)]
                if not request.parents:
                    copy_into(root, request.dest, [(n, p, None) for n, p, _ in found],
                              owner, chmod, exclude=exclude, keep_owner=True)
                    continue
                for n, p, rel in found:
                    _copy_kept(root, request, (n, p, None), rel, kept_path(rel, pattern),
                               src_root, owner, chmod, exclude)
    if request.contents:
        tmp = roots.tmp / f"build-heredoc-{secrets.token_hex(6)}"
        tmp.mkdir(parents=True)
        try:
            files = []
            for name, data in request.contents.items():
                (tmp / name).write_text(data)
                os.chmod(tmp / name, 0o644)
                files.append((name, tmp / name, None))
            copy_into(root, request.dest, files, owner, chmod)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

def _copy_kept(root: Path, request: CopyRequest, item: tuple[str, Path, str | None],
               rel: str, kept: str, source_root: Path, owner: tuple[int, int] | None,
               chmod: int | None, exclude: PatternMatcher | None,
               ignore: PatternMatcher | None = None, context: Path | None = None) -> None:
    """``COPY --parents``: one source (``rel`` in ``source_root``) at its kept path
    under the destination; the directories on the way keep their sources' modes."""
    clean = posixpath.normpath("/" + rel).lstrip("/")
    base = clean if kept == "." else clean[: len(clean) - len(kept)]
    into = make_parents(root, request.dest, kept, rooted.resolve(source_root, base),
                        owner)
    host = item[1]
    if host.is_dir():
        into = into + (posixpath.basename(kept) if kept != "." else "")
        if kept != ".":
            mode = stat.S_IMODE(host.stat().st_mode)
            make_dir(root, into, owner, mode)
    copy_into(root, into, [item], owner, chmod, context=context,
              matcher=ignore if context is not None else None,
              unpack=request.unpack, exclude=exclude, keep_owner=context is None)


def _checked(items: list[tuple[str, Path, str]]) -> list[tuple[str, Path, str | None]]:
    """Context sources whose links lead nowhere are refused like missing files."""
    out: list[tuple[str, Path, str | None]] = []
    for name, host, rel in items:
        if not os.path.exists(host):
            raise NotFound(f"failed to compute cache key: {rel}: not found in build context")
        out.append((name, host, rel))
    return out

