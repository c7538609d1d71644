"""Unpack layers into committed snapshots, and diff an active snapshot into a layer.

Who cleans what: ``unpack_layer`` prepares its own scratch snapshot and removes it on
any error (hostile entry, corrupt stream, diff id mismatch), so a failed unpack leaves
the snapshotter exactly as it found it. The caller still owns the stream.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from typing import BinaryIO

from dockyard.errors import AlreadyExists, NotFound

from ..layers import AppliedLayer, Format, Limits, apply_layer, diff_dirs, write_diff
from .base import Kind, Snapshotter

__all__ = ["chain_ids", "diff_snapshot", "has_committed", "unpack_layer"]


def chain_ids(diff_ids: Sequence[str]) -> list[str]:
    """OCI chain ids: the first is the first diff id, then sha256("<prev> <diff id>")."""
    out: list[str] = []
    for diff_id in diff_ids:
        if not out:
            out.append(diff_id)
        else:
            out.append("sha256:" + hashlib.sha256(f"{out[-1]} {diff_id}".encode()).hexdigest())
    return out


def has_committed(sn: Snapshotter, name: str) -> bool:
    """Whether committed snapshot ``name`` exists (e.g. a layer some image already has)."""
    try:
        return sn.stat(name).kind is Kind.COMMITTED
    except NotFound:
        return False


def unpack_layer(sn: Snapshotter, stream: BinaryIO, chain_id: str, parent: str | None, *,
                 limits: Limits | None = None,
                 expected_diff_id: str | None = None) -> AppliedLayer:
    """Apply ``stream`` over committed ``parent`` and commit it as ``chain_id``.

    If another process committed ``chain_id`` meanwhile, its snapshot is kept and ours
    dropped: the result is the same layer.
    """
    key = f"extract-{secrets.token_hex(6)} {chain_id}"
    sn.prepare(key, parent, labels={"dockyard.unpack": chain_id})
    try:
        target = sn.writable(key)
        applied = apply_layer(stream, target.path,
                              format=Format.OVERLAY if target.overlay else Format.DIR,
                              lowers=target.lowers, limits=limits,
                              expected_diff_id=expected_diff_id)
        try:
            sn.commit(chain_id, key)
        except AlreadyExists:
            sn.remove(key)
        return applied
    except BaseException:
        try:
            sn.remove(key)
        except NotFound:
            pass
        raise


def diff_snapshot(sn: Snapshotter, key: str, out: BinaryIO, *,
                  compression: str = "tar") -> str:
    """Write the changes of active ``key`` over its parent as a layer; its diff id."""
    target = sn.writable(key)
    if target.overlay:
        return write_diff(target.path, out, compression=compression)
    lower = target.lowers[0] if target.lowers else None
    return diff_dirs(lower, target.path, out, compression=compression)
