"""Turn ``--user`` and ``--group-add`` into uid, gid and supplementary gids.

Follows libcontainer's ``GetExecUser`` as dockerd uses it: names are looked up in the
container's own /etc/passwd and /etc/group (read through :mod:`rooted`), numbers need no
entry, an unknown name is an error, and the user's groups are added.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dockyard.engine import rooted
from dockyard.errors import InvalidArgument

__all__ = ["ExecUser", "parse_group", "parse_passwd", "resolve_user"]


@dataclass(frozen=True)
class ExecUser:
    uid: int = 0
    gid: int = 0
    additional_gids: list[int] = field(default_factory=list)
    home: str = "/"


def parse_passwd(text: str) -> list[tuple[str, int, int, str]]:
    """(name, uid, gid, home) for each well-formed line."""
    out = []
    for line in text.splitlines():
        f = line.split(":")
        if len(f) < 7 or line.startswith("#"):
            continue
        try:
            out.append((f[0], int(f[2]), int(f[3]), f[5]))
        except ValueError:
            continue
    return out


def parse_group(text: str) -> list[tuple[str, int, list[str]]]:
    """(name, gid, members) for each well-formed line."""
    out = []
    for line in text.splitlines():
        f = line.split(":")
        if len(f) < 4 or line.startswith("#"):
            continue
        try:
            out.append((f[0], int(f[2]), [m for m in f[3].split(",") if m]))
        except ValueError:
            continue
    return out


def _number(text: str) -> int | None:
    try:
        value = int(text)
    except ValueError:
        return None
    if value < 0 or value > 2**31 - 1:
        raise InvalidArgument(f"uids and gids must be in range 0-{2**31 - 1}")
    return value


def resolve_user(rootfs: Path, user: str, group_add: list[str] | None = None) -> ExecUser:
    """The process identity for ``user`` (``name``, ``uid``, ``name:group``, ``uid:gid``)."""
    passwd = parse_passwd(rooted.read_text(rootfs, "/etc/passwd") or "")
    groups = parse_group(rooted.read_text(rootfs, "/etc/group") or "")
    name_part, _, group_part = (user or "").partition(":")
    uid, gid, home, matched = 0, 0, "/", ""
    if name_part:
        num = _number(name_part)
        entry = next((p for p in passwd if (p[1] == num if num is not None
                                            else p[0] == name_part)), None)
        if entry is None and num is None:
            raise InvalidArgument(
                f"unable to find user {name_part}: no matching entries in passwd file")
        if entry is not None:
            matched, uid, gid, home = entry[0], entry[1], entry[2], entry[3]
        else:
            uid = num or 0
    else:
        entry = next((p for p in passwd if p[1] == 0), None)
        if entry is not None:
            matched, gid, home = entry[0], entry[2], entry[3]
    sgids: list[int] = []
    if group_part:
        gnum = _number(group_part)
        gentry = next((g for g in groups if (g[1] == gnum if gnum is not None
                                             else g[0] == group_part)), None)
        if gentry is None and gnum is None:
            raise InvalidArgument(
                f"unable to find group {group_part}: no matching entries in group file")
        gid = gentry[1] if gentry is not None else (gnum or 0)
    else:
        sgids = [gid] + [g[1] for g in groups if matched and matched in g[2] and g[1] != gid]
    for extra in group_add or []:
        gnum = _number(extra)
        gentry = next((g for g in groups if (g[1] == gnum if gnum is not None
                                             else g[0] == extra)), None)
        if gentry is None and gnum is None:
            raise InvalidArgument(
                f"unable to find group {extra}: no matching entries in group file")
        value = gentry[1] if gentry is not None else (gnum or 0)
        if value not in sgids:
            sgids.append(value)
    return ExecUser(uid, gid, sgids, home)
