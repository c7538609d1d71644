"""``--log-driver`` and ``--log-opt``: validation and the monitor's ``log`` section.

Drivers: ``json-file`` (default; unlike Docker it rotates by default: max-size 10m,
max-file 3), ``local`` (Docker's defaults: 20m, 5 files, compressed) and ``none``.
"""

from __future__ import annotations

import re
from typing import TypedDict

from dockyard.errors import InvalidArgument

__all__ = ["DRIVERS", "LogConfig", "log_attrs", "parse_log_config", "parse_size"]

DRIVERS = ("json-file", "local", "none")


class LogConfig(TypedDict):
    """What the monitor needs to write logs (the ``log`` key of its launch file)."""

    driver: str
    max_size: int  # bytes; -1 means never rotate
    max_file: int
    compress: bool
    attrs: dict[str, str]


_DEFAULTS = {"json-file": ("10m", "3", "false"), "local": ("20m", "5", "true")}
_COMMON = {"max-size", "max-file", "compress", "labels", "labels-regex", "env", "env-regex", "tag"}
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
# Compiled at import: a warm engine's workers inherit it instead of compiling per command.
_SIZE = re.compile(r"(\d+(?:\.\d+)?) ?([kmgtp]?)i?b?")


def parse_size(value: str, field: str = "max-size") -> int:
    """Docker's ``RAMInBytes``: ``10m``, ``1.5g``, ``512k``, ``100`` (binary units)."""
    m = _SIZE.fullmatch(value.strip().lower())
    if not m:
        raise InvalidArgument(f"invalid {field}: {value!r}: expected a size such as 10m")
    n = int(float(m.group(1)) * _UNITS[m.group(2)])
    if n <= 0:
        raise InvalidArgument(f"invalid {field}: {value!r}: must be above zero")
    return n


def _parse_bool(value: str, field: str) -> bool:
    low = value.strip()
    if low in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if low in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise InvalidArgument(f"invalid {field}: {value!r}: expected true or false")


def parse_log_config(driver: str | None, opts: dict[str, str] | None = None,
                     labels: dict[str, str] | None = None,
                     env: list[str] | None = None) -> LogConfig:
    """Validate a driver and its options; the attrs come from the container's labels/env."""
    name = driver or "json-file"
    opts = dict(opts or {})
    if name not in DRIVERS:
        raise InvalidArgument(f"unknown log driver: {name!r} (supported: {', '.join(DRIVERS)})")
    for key in opts:
        if name == "none" or key not in _COMMON:
            raise InvalidArgument(f"unknown log opt {key!r} for {name} log driver")
    if name == "none":
        return LogConfig(driver=name, max_size=-1, max_file=1, compress=False, attrs={})
    d_size, d_file, d_compress = _DEFAULTS[name]
    max_size = parse_size(opts.get("max-size", d_size))
    raw_file = opts.get("max-file", d_file)
    try:
        max_file = int(raw_file)
    except ValueError:
        raise InvalidArgument(f"invalid max-file: {raw_file!r}: expected a number") from None
    if max_file < 1:
        raise InvalidArgument(f"invalid max-file: {raw_file!r}: must be at least 1")
    compress = _parse_bool(opts.get("compress", d_compress), "compress")
    if compress and max_file < 2:
        raise InvalidArgument("invalid compress: needs max-file of 2 or more")
    return LogConfig(driver=name, max_size=max_size, max_file=max_file, compress=compress,
                     attrs=log_attrs(opts, labels or {}, env or []))


def log_attrs(opts: dict[str, str], labels: dict[str, str], env: list[str]) -> dict[str, str]:
    """Docker's extra attributes: the labels and env vars the options name."""
    for key in ("labels-regex", "env-regex"):
        try:
            re.compile(opts.get(key, ""))
        except re.error as e:
            raise InvalidArgument(f"invalid {key}: {opts[key]!r}: {e}") from None
    attrs: dict[str, str] = {}
    wanted = {k.strip() for k in opts.get("labels", "").split(",") if k.strip()}
    regex = opts.get("labels-regex")
    for key, value in labels.items():
        if key in wanted or (regex and re.match(regex, key)):
            attrs[key] = value
    env_map = {e.partition("=")[0]: e.partition("=")[2] for e in env}
    wanted = {k.strip() for k in opts.get("env", "").split(",") if k.strip()}
    regex = opts.get("env-regex")
    for key, value in env_map.items():
        if key in wanted or (regex and re.match(regex, key)):
            attrs[key] = value
    return attrs
