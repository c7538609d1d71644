"""Docker's number words: byte sizes in and out, durations in human words.

These follow the docker CLI's `go-units` rules so that scripts written for docker read
and print the same values: ``RAMInBytes`` (binary multipliers, ``b``/``k``/``m``/``g``
suffixes, optional ``i`` and ``b``), ``HumanSize`` (decimal, 4 significant digits) and
``HumanDuration`` ("About a minute", "3 hours").
"""

from __future__ import annotations

import re

from dockyard.engine.status import human_duration
from dockyard.errors import InvalidArgument

__all__ = [
    "binary_size",
    "human_duration",
    "human_size",
    "parse_bytes",
    "parse_decimal_bytes",
]

_SIZE = re.compile(r"([0-9]+(?:\.[0-9]+)?) ?([kKmMgGtTpP])?[iI]?[bB]?")
_PREFIX = "kmgtp"


def _parse(text: str, base: int) -> int:
    match = _SIZE.fullmatch(text)
    if match is None:
        raise InvalidArgument(f"invalid size: '{text}'")
    size = float(match.group(1))
    prefix = (match.group(2) or "").lower()
    if prefix:
        size *= base ** (_PREFIX.index(prefix) + 1)
    if size >= 1 << 63:  # more than an int64 holds
        raise InvalidArgument(f"invalid size: '{text}'")
    return int(size)


def parse_bytes(text: str) -> int:
    """Docker's RAMInBytes: ``512m`` → 536870912; ``1.5g``; ``100`` bytes; ``2KiB``."""
    return _parse(text, 1024)


def parse_decimal_bytes(text: str) -> int:
    """Docker's FromHumanSize: like :func:`parse_bytes` with powers of 1000."""
    return _parse(text, 1000)


_DECIMAL_UNITS = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]


def _go_g(value: float, precision: int) -> str:
    """Go's ``%.<precision>g``: like C's, which Python's ``%g`` follows."""
    return f"{value:.{precision}g}"


def human_size(size: float, precision: int = 4) -> str:
    """Docker's HumanSizeWithPrecision: ``1000`` → ``1kB``, ``1500000`` → ``1.5MB``."""
    i = 0
    while size >= 1000.0 and i < len(_DECIMAL_UNITS) - 1:
        size /= 1000.0
        i += 1
    return f"{_go_g(size, precision)}{_DECIMAL_UNITS[i]}"


_BINARY_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"]


def binary_size(size: float) -> str:
    """Docker's BytesSize: ``1024`` → ``1KiB``, ``8110000000`` → ``7.553GiB``."""
    i = 0
    while size >= 1024.0 and i < len(_BINARY_UNITS) - 1:
        size /= 1024.0
        i += 1
    return f"{_go_g(size, 4)}{_BINARY_UNITS[i]}"
