"""Turn a snapshot's changes into an OCI layer tar.

``write_diff`` reads an overlay upper dir: 0:0 character devices become ``.wh.<name>``
entries and directories marked ``trusted.overlay.opaque=y`` get ``.wh..wh..opq``.
``diff_dirs`` compares two plain trees, for snapshotters without overlay. Both walk in
sorted order, so the same tree always gives the same bytes and the same diff id.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from dockyard.errors import InvalidArgument, NotFound

from .lowers import is_opaque, is_whiteout
from .tarwriter import LayerWriter

__all__ = ["diff_dirs", "write_diff"]


def _scan(path: str) -> list[tuple[str, os.stat_result]]:
    with os.scandir(path) as it:
        items = [(e.name, e.stat(follow_symlinks=False)) for e in it]
    items.sort(key=lambda item: os.fsencode(item[0]))
    return items


@contextlib.contextmanager
def _compressed(out: BinaryIO, compression: str) -> Iterator[BinaryIO]:
    if compression == "tar":
        yield out
    elif compression == "gzip":
        # mtime=0 and no file name keep the gzip bytes reproducible.
        with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, filename="",
                           compresslevel=6) as gz:
            yield gz  # type: ignore[misc]
    elif compression == "zstd":
        import zstandard

        with zstandard.ZstdCompressor().stream_writer(out, closefd=False) as zw:
            yield zw  # type: ignore[misc]
    else:
        raise InvalidArgument(f"layer compression: unknown {compression!r} "
                              "(want tar, gzip or zstd)")


def _check_dir(path: Path, what: str) -> None:
    if not path.is_dir():
        raise NotFound(f"{what}: no such directory: {path}")


def write_diff(upper: str | Path, out: BinaryIO, *, compression: str = "tar") -> str:
    """Write the layer tar of overlay upper dir ``upper`` to ``out``; return its diff id.

    ``compression`` (``tar``, ``gzip``, ``zstd``) applies to what is written; the diff
    id is always the sha256 of the uncompressed tar.
    """
    upper = Path(upper)
    _check_dir(upper, "upper dir")
    with _compressed(out, compression) as sink:
        writer = LayerWriter(sink)
        _walk_upper(writer, str(upper), "")
        return writer.close()


def _walk_upper(writer: LayerWriter, path: str, rel: str) -> None:
    for name, st in _scan(path):
        child_rel = f"{rel}/{name}" if rel else name
        child = os.path.join(path, name)
        if is_whiteout(st):
            writer.add_whiteout(child_rel, st.st_mtime_ns // 1_000_000_000)
            continue
        writer.add_path(child_rel, child, st)
        if stat.S_ISDIR(st.st_mode):
            if is_opaque(child):
                writer.add_opaque(child_rel, st.st_mtime_ns // 1_000_000_000)
            _walk_upper(writer, child, child_rel)


def diff_dirs(lower: str | Path | None, upper: str | Path, out: BinaryIO, *,
              compression: str = "tar") -> str:
    """Write the layer that turns tree ``lower`` (None: empty) into tree ``upper``.

    Files count as unchanged when type, mode, owner, size, mtime, link target, device
    and xattrs all match (content is not re-read, as in docker). Parents of changed
    entries are included; deletions become whiteouts.
    """
    upper = Path(upper)
    _check_dir(upper, "upper dir")
    if lower is not None:
        _check_dir(Path(lower), "lower dir")
    with _compressed(out, compression) as sink:
        writer = LayerWriter(sink)
        _diff(writer, None if lower is None else str(lower), str(upper), "", [])
        return writer.close()


def _same(a: os.stat_result, b: os.stat_result, pa: str, pb: str) -> bool:
    if (stat.S_IFMT(a.st_mode), a.st_mode, a.st_uid, a.st_gid) != \
            (stat.S_IFMT(b.st_mode), b.st_mode, b.st_uid, b.st_gid):
        return False
    if not stat.S_ISDIR(a.st_mode) and (a.st_size, a.st_mtime_ns) != (b.st_size, b.st_mtime_ns):
        return False
    if stat.S_ISDIR(a.st_mode) and a.st_mtime_ns != b.st_mtime_ns:
        return False
    if stat.S_ISLNK(a.st_mode) and os.readlink(pa) != os.readlink(pb):
        return False
    if (stat.S_ISCHR(a.st_mode) or stat.S_ISBLK(a.st_mode)) and a.st_rdev != b.st_rdev:
        return False
    return _xattr_map(pa) == _xattr_map(pb)


def _xattr_map(path: str) -> dict[str, bytes]:
    try:
        return {k: os.getxattr(path, k, follow_symlinks=False)
                for k in os.listxattr(path, follow_symlinks=False)}
    except OSError:
        return {}


def _diff(writer: LayerWriter, lower: str | None, upper: str, rel: str,
          pending: list[tuple[str, str, os.stat_result]]) -> None:
    """Emit changes below ``upper``; ``pending`` holds unchanged parent dirs that must be
    written before the first change found under them."""
    old = dict(_scan(lower)) if lower is not None else {}
    new = _scan(upper)
    new_names = {name for name, _ in new}
    upper_mtime = os.lstat(upper).st_mtime_ns // 1_000_000_000
    gone = sorted((n for n in old if n not in new_names), key=os.fsencode)
    events: list[tuple[bytes, str, os.stat_result | None]] = (
        [(os.fsencode(n), n, None) for n in gone] + [(os.fsencode(n), n, st) for n, st in new])
    events.sort(key=lambda e: e[0])
    for _, name, st in events:
        child_rel = f"{rel}/{name}" if rel else name
        child = os.path.join(upper, name)
        if st is None:
            _flush(writer, pending)
            writer.add_whiteout(child_rel, upper_mtime)
            continue
        before = old.get(name)
        lower_child = os.path.join(lower, name) if lower is not None else ""
        if before is not None and _same(before, st, lower_child, child):
            if stat.S_ISDIR(st.st_mode):
                pending.append((child_rel, child, st))
                _diff(writer, lower_child, child, child_rel, pending)
                if pending and pending[-1][0] == child_rel:  # nothing changed below it
                    pending.pop()
            continue
        _flush(writer, pending)
        writer.add_path(child_rel, child, st)
        if stat.S_ISDIR(st.st_mode):
            both_dirs = before is not None and stat.S_ISDIR(before.st_mode)
            _diff(writer, lower_child if both_dirs else None, child, child_rel, [])


def _flush(writer: LayerWriter, pending: list[tuple[str, str, os.stat_result]]) -> None:
    for rel, path, st in pending:
        writer.add_path(rel, path, st)
    pending.clear()
