"""COPY and ADD into a mounted build root: docker's rules for files, directories,
trailing slashes, ``--chown`` (names looked up in the destination's /etc/passwd and
/etc/group), ``--chmod``, .dockerignore and local tar archives.

Every path inside the destination (and inside a ``--from`` source) is resolved with
:func:`dockyard.engine.rooted.resolve`, so a symlink in an image never leads a copy
onto the host. Sources from the build context never follow a link out of it.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import posixpath
import shutil
import stat
import tarfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, cast

from dockyard.build import PatternMatcher, included_paths
from dockyard.engine import rooted
from dockyard.engine.users import parse_group, parse_passwd
from dockyard.errors import InvalidArgument, NotFound

__all__ = ["Owner", "copy_into", "make_dir", "make_parents", "parse_chmod", "resolve_chown",
           "source_paths"]

Owner = tuple[int, int] | None  # None keeps 0:0 like docker


def parse_chmod(text: str) -> int | None:
    """``--chmod=0755`` as a mode; only octal, as docker 20.10 accepts."""
    if not text:
        return None
    try:
        mode = int(text, 8)
    except ValueError:
        raise InvalidArgument(f"invalid chmod parameter: {text!r} is not an octal mode") from None
    if not 0 <= mode <= 0o7777:
        raise InvalidArgument(f"invalid chmod parameter: {text!r} is out of range")
    return mode


def _lookup(root: Path, path: str, name: str, what: str) -> list[str]:
    text = rooted.read_text(root, path)
    if text is None:
        raise InvalidArgument(f"unable to find {what} {name}: no {path} in the image")
    return text.splitlines()


def resolve_chown(root: Path, spec: str) -> tuple[int, int]:
    """``user[:group]`` (names or numbers) as numbers, as BuildKit resolves them."""
    user, _, group = spec.partition(":")
    if not user:
        raise InvalidArgument(f"invalid chown {spec!r}: user is empty")
    uid: int
    gid: int | None = None
    if user.isdigit():
        uid = int(user)
    else:
        entries = parse_passwd("\n".join(_lookup(root, "/etc/passwd", user, "user")))
        match = [e for e in entries if e[0] == user]
        if not match:
            raise InvalidArgument(f"unable to convert uid/gid chown string to host mapping: "
                                  f"no such user: {user}")
        uid, gid = match[0][1], match[0][2]
    if group:
        if group.isdigit():
            gid = int(group)
        else:
            groups = parse_group("\n".join(_lookup(root, "/etc/group", group, "group")))
            gmatch = [g for g in groups if g[0] == group]
            if not gmatch:
                raise InvalidArgument(f"unable to convert uid/gid chown string to host "
                                      f"mapping: no such group: {group}")
            gid = gmatch[0][1]
    return uid, uid if gid is None else gid


def make_dir(root: Path, path: str, owner: Owner, mode: int = 0o755) -> Path:
    """``mkdir -p`` inside ``root``; directories made here get ``owner``. The host path."""
    current = root
    for part in [p for p in path.split("/") if p not in ("", ".")]:
        nxt = rooted.resolve(root, str(current.relative_to(root) / part))
        if not os.path.lexists(nxt):
            # a link may lead to a missing path (still inside root): make all of it
            missing = [nxt]
            while not os.path.lexists(missing[-1].parent):
                missing.append(missing[-1].parent)
            for new in reversed(missing):
                os.mkdir(new, mode)
                os.chmod(new, mode)
                uid, gid = owner or (0, 0)
                os.lchown(new, uid, gid)
        elif not nxt.is_dir():
            raise InvalidArgument(f"cannot copy to {path}: {part} is not a directory")
        current = nxt
    return current


def source_paths(root: Path, patterns: Sequence[str]) -> list[tuple[str, Path, str]]:
    """Resolve ``COPY --from`` sources inside another stage's root: (name, host path,
    root-relative path)."""
    found: list[tuple[str, Path, str]] = []
    for pattern in patterns:
        clean = os.path.normpath("/" + pattern).lstrip("/")
        if not any(c in clean for c in "*?["):
            host = rooted.resolve(root, clean)
            if not os.path.lexists(host):
                raise NotFound(f"failed to compute cache key: {pattern}: not found")
            found.append((os.path.basename(clean) or ".", host, clean or "."))
            continue
        parent, base = os.path.split(clean)
        directory = rooted.resolve(root, parent)
        names = sorted(n for n in (os.listdir(directory) if directory.is_dir() else [])
                       if fnmatch.fnmatchcase(n, base))
        if not names:
            raise NotFound(f"failed to compute cache key: no source files were specified "
                           f"for pattern {pattern}")
        found += [(n, rooted.resolve(root, os.path.join(parent, n)), os.path.join(parent, n))
                  for n in names]
    return found


def make_parents(root: Path, dest: str, kept: str, source_root: Path, owner: Owner) -> str:
    """``COPY --parents``: make the directories of ``kept`` below ``dest`` with the
    modes their sources under ``source_root`` have; the directory ``kept`` goes into."""
    make_dir(root, dest, owner)
    at = dest.rstrip("/") or "/"
    parts = [p for p in posixpath.dirname(kept).split("/") if p not in ("", ".")]
    for i, part in enumerate(parts):
        at = posixpath.join(at, part)
        src = rooted.resolve(source_root, "/".join(parts[: i + 1]))
        mode = stat.S_IMODE(os.stat(src).st_mode) if src.is_dir() else 0o755
        make_dir(root, at, owner, mode)
    return at + "/"


def _walk_dir(src: Path, context: Path | None, matcher: PatternMatcher | None,
              rel: str | None) -> Iterator[str]:
    if matcher is not None and context is not None and rel is not None:
        start = "" if rel in ("", ".") else rel
        cut = len(start) + 1 if start else 0
        for path in included_paths(context, matcher, start):
            yield path[cut:]
        return
    for dirpath, dirnames, filenames in os.walk(src):
        base = os.path.relpath(dirpath, src)
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            yield name if base == "." else f"{base}/{name}"


def _copy_entry(src: Path, dst: Path, owner: Owner, chmod: int | None) -> None:
    st = os.lstat(src)
    if os.path.lexists(dst) and not (stat.S_ISDIR(st.st_mode) and dst.is_dir()
                                     and not dst.is_symlink()):
        if dst.is_dir() and not dst.is_symlink():
            shutil.rmtree(dst)
        else:
            os.unlink(dst)
    if stat.S_ISDIR(st.st_mode):
        if not os.path.lexists(dst):
            os.mkdir(dst)
    elif stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(src), dst)
    elif stat.S_ISREG(st.st_mode):
        with open(src, "rb") as fin, open(dst, "xb") as fout:
            shutil.copyfileobj(fin, fout, 1 << 20)
    else:
        return  # devices, fifos and sockets are not copied from a context
    uid, gid = owner if owner is not None else (0, 0)
    os.lchown(dst, uid, gid)
    if not stat.S_ISLNK(st.st_mode):
        os.chmod(dst, chmod if chmod is not None else stat.S_IMODE(st.st_mode))
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def copy_into(root: Path, dest: str, sources: Sequence[tuple[str, Path, str | None]],
              owner: Owner, chmod: int | None, *, context: Path | None = None,
              matcher: PatternMatcher | None = None, unpack: bool = False,
              exclude: PatternMatcher | None = None) -> None:
    """Copy ``(name, host path, context-relative path or None)`` sources to ``dest``.

    A directory's contents go into ``dest``; a file goes to ``dest/name`` when ``dest``
    ends with ``/`` or is a directory, else becomes ``dest``. ``matcher`` filters what
    is below a directory of ``context``; ``unpack`` extracts local tar archives (ADD);
    ``exclude`` (``--exclude``) drops paths below a directory, relative to it.
    """
    as_dir = dest.endswith("/") or dest.endswith("/.")
    if len(sources) > 1 and not as_dir:
        raise InvalidArgument("when using COPY with more than one source file, the "
                              "destination must be a directory and end with a /")
    for name, src, rel in sources:
        st = os.stat(src)
        if stat.S_ISDIR(st.st_mode):
            target = make_dir(root, dest, owner)
            for sub in _walk_dir(src, context, matcher, rel):
                if exclude is not None and exclude.matches(sub):
                    continue
                parent = make_dir(root, str(target.relative_to(root) / os.path.dirname(sub)),
                                  owner)
                _copy_entry(src / sub, parent / os.path.basename(sub), owner, chmod)
            continue
        if unpack and _is_archive(src):
            target = make_dir(root, dest, owner)
            _extract(src, target)
            continue
        existing = rooted.resolve(root, dest)
        if as_dir or (existing.is_dir() and not existing.is_symlink()):
            parent = make_dir(root, dest, owner)
            _copy_entry(src, parent / name, owner, chmod)
        else:
            parent = make_dir(root, os.path.dirname(dest.rstrip("/")) or "/", owner)
            _copy_entry(src, parent / os.path.basename(dest.rstrip("/")), owner, chmod)


def _is_archive(path: Path) -> bool:
    try:
        return path.is_file() and tarfile.is_tarfile(path)
    except OSError:
        return False


def _extract(archive: Path, target: Path) -> None:
    """Unpack like a layer: every entry confined to ``target``, owners and modes kept.

    Layers are never bzip2 or xz, but ADD archives may be (docker reads both): those
    are decompressed here and handed over as a plain tar.
    """
    import bz2
    import lzma

    from dockyard.errors import DockyardError
    from dockyard.images.layers import Format, apply_layer

    with contextlib.ExitStack() as stack:
        raw = stack.enter_context(open(archive, "rb"))
        head = raw.read(6)
        raw.seek(0)
        stream: BinaryIO = raw
        if head.startswith(b"BZh"):
            stream = cast(BinaryIO, stack.enter_context(bz2.BZ2File(raw)))
        elif head.startswith(b"\xfd7zXZ\x00"):
            stream = cast(BinaryIO, stack.enter_context(lzma.LZMAFile(raw)))
        try:
            apply_layer(stream, target, format=Format.DIR)
        except DockyardError as err:
            raise InvalidArgument(f"ADD {archive.name}: {err}") from None
