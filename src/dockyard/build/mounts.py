"""``RUN --mount=...`` specifications: bind, cache, tmpfs, secret and ssh mounts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .flags import FlagError, csv_fields, parse_go_bool, parse_ram_bytes, suggest

__all__ = ["MOUNT_TYPES", "SHARING_MODES", "Mount", "parse_mount"]

MOUNT_TYPES = ("bind", "cache", "tmpfs", "secret", "ssh")
SHARING_MODES = ("shared", "private", "locked")
_ALL_KEYS = ["type", "from", "source", "target", "readonly", "id", "sharing", "required",
             "size", "mode", "uid", "gid", "src", "dst", "destination", "ro", "rw",
             "readwrite", "env"]

Expander = Callable[[str], str]


@dataclass
class Mount:
    """One ``--mount`` of a RUN instruction, fields as BuildKit names them."""

    type: str = "bind"
    from_: str = ""
    source: str = ""
    target: str = ""
    read_only: bool = False
    size_limit: int = 0
    cache_id: str = ""
    cache_sharing: str = ""
    required: bool = False
    env: str | None = None
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None


def _bool(key: str, value: str) -> bool:
    try:
        return parse_go_bool(value)
    except ValueError:
        raise FlagError(f"invalid value for {key}: {value}") from None


def _uint(value: str, base: int, what: str) -> int:
    try:
        number = int(value, base) if value.isascii() and value.isalnum() else -1
    except ValueError:
        number = -1
    if not 0 <= number < 2**32:
        raise FlagError(f"invalid value {value} for {what}")
    return number


def parse_mount(spec: str, expand: Expander | None) -> Mount:
    """Parse one ``--mount`` value.

    Without ``expand`` (at parse time) only ``from`` is checked, as BuildKit does;
    the rest is read once the instruction's variables are known.
    """
    try:
        fields = csv_fields(spec)
    except ValueError as err:
        raise FlagError(f"failed to parse csv mounts: {err}") from None
    m = Mount()
    ro_auto = True
    for item in fields:
        key, has_value, value = item.partition("=")
        key = key.lower()
        if not has_value:
            if expand is None:
                continue
            if key in ("readonly", "ro"):
                m.read_only, ro_auto = True, False
            elif key in ("readwrite", "rw"):
                m.read_only, ro_auto = False, False
            elif key == "required":
                if m.type not in ("secret", "ssh"):
                    raise FlagError(f"unexpected key '{key}' for mount type '{m.type}'")
                m.required = True
            else:
                raise FlagError(f"invalid field '{item}' must be a key=value pair")
            continue
        if expand is not None:
            value = expand(value)
        elif key == "from":
            idx = value.find("$")
            if idx not in (-1, len(value) - 1):
                raise FlagError(f"'{key}' doesn't support variable expansion, "
                                "define alias stage instead")
        else:
            continue
        ro_auto = _apply(m, key, value, item, ro_auto)
    _check(m)
    if ro_auto:
        m.read_only = m.type not in ("cache", "tmpfs")
    return m


def _apply(m: Mount, key: str, value: str, item: str, ro_auto: bool) -> bool:
    if key == "type":
        if value.lower() not in MOUNT_TYPES:
            raise FlagError(suggest(f'unsupported mount type "{value}"', value,
                                    list(MOUNT_TYPES), case_sensitive=True))
        m.type = value.lower()
    elif key == "from":
        m.from_ = value
    elif key in ("source", "src"):
        m.source = value
    elif key in ("target", "dst", "destination"):
        m.target = value
    elif key in ("readonly", "ro"):
        m.read_only = _bool(key, value)
        return False
    elif key in ("readwrite", "rw"):
        m.read_only = not _bool(key, value)
        return False
    elif key == "required":
        if m.type not in ("secret", "ssh"):
            raise FlagError(f"unexpected key '{key}' for mount type '{m.type}'")
        m.required = _bool(key, value)
    elif key == "size":
        if m.type != "tmpfs":
            raise FlagError(f"unexpected key '{key}' for mount type '{m.type}'")
        try:
            m.size_limit = parse_ram_bytes(value)
        except ValueError:
            raise FlagError(f"invalid value for {key}: {value}") from None
    elif key == "id":
        m.cache_id = value
    elif key == "sharing":
        if value.lower() not in SHARING_MODES:
            raise FlagError(suggest(f'unsupported sharing value "{value}"', value,
                                    list(SHARING_MODES), case_sensitive=True))
        m.cache_sharing = value.lower()
    elif key == "mode":
        m.mode = _uint(value, 8, "mode")
    elif key == "uid":
        m.uid = _uint(value, 10, "uid")
    elif key == "gid":
        m.gid = _uint(value, 10, "gid")
    elif key == "env":
        m.env = value
    else:
        raise FlagError(suggest(f"unexpected key '{key}' in '{item}'", key, _ALL_KEYS,
                                case_sensitive=True))
    return ro_auto


def _check(m: Mount) -> None:
    if m.type not in ("secret", "ssh", "cache"):
        for name in ("mode", "uid", "gid"):
            if getattr(m, name) is not None:
                raise FlagError(f'{name} not allowed for "{m.type}" type mounts')
    if m.type == "secret":
        if m.from_:
            raise FlagError("secret mount should not have a from")
        if m.cache_sharing:
            raise FlagError("secret mount should not define sharing")
        if not (m.source or m.target or m.cache_id):
            raise FlagError("invalid secret mount. one of source, target required")
        if m.source and m.cache_id:
            raise FlagError("both source and id can't be set")
    if m.cache_sharing and m.type != "cache":
        raise FlagError(f"invalid cache sharing set for {m.type} mount")
