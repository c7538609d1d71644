"""Docker's time formats: RFC 3339 with nanoseconds, and the ``--since``/``--until`` parser.

Formatting is stdlib-light (``time`` only) because the monitor process imports it.
"""

from __future__ import annotations

import time

__all__ = ["ZERO_TIME", "format_fixed", "format_nano", "parse_nano", "parse_since"]

ZERO_TIME = "0001-01-01T00:00:00Z"
"""How Docker prints a time that never happened (``FinishedAt`` of a running container)."""


def _split(ns: int) -> tuple[str, int]:
    secs, frac = divmod(ns, 1_000_000_000)
    t = time.gmtime(secs)
    return f"{t[0]:04d}-{t[1]:02d}-{t[2]:02d}T{t[3]:02d}:{t[4]:02d}:{t[5]:02d}", frac


def format_nano(ns: int) -> str:
    """Go's ``time.RFC3339Nano`` in UTC: trailing zeros of the fraction dropped."""
    base, frac = _split(ns)
    if frac:
        base += "." + f"{frac:09d}".rstrip("0")
    return base + "Z"


def format_fixed(ns: int) -> str:
    """Docker's ``RFC3339NanoFixed`` (always nine digits), as ``logs -t`` prints."""
    base, frac = _split(ns)
    return f"{base}.{frac:09d}Z"


def _days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (integer arithmetic only)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_SECONDS: dict[str, int] = {}  # "YYYY-MM-DDTHH:MM:SS" -> epoch seconds; log lines repeat them


def _whole_seconds(head: str) -> int | None:
    secs = _SECONDS.get(head)
    if secs is not None:
        return secs
    if head[4] != "-" or head[7] != "-" or head[10] != "T" or head[13] != ":" \
            or head[16] != ":" or not (head[0:4] + head[5:7] + head[8:10] + head[11:13]
                                       + head[14:16] + head[17:19]).isdigit():
        return None
    y, mo, d = int(head[0:4]), int(head[5:7]), int(head[8:10])
    h, mi, sec = int(head[11:13]), int(head[14:16]), int(head[17:19])
    if not (1 <= mo <= 12 and 1 <= d <= _MONTH_DAYS[mo - 1] and h < 24 and mi < 60 and sec < 60):
        return None
    if mo == 2 and d == 29 and not (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)):
        return None
    secs = _days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec
    if len(_SECONDS) > 4096:
        _SECONDS.clear()
    _SECONDS[head] = secs
    return secs


def _parse_utc_fast(s: str) -> int | None:
    """The common case, ``YYYY-MM-DDTHH:MM:SS[.fffffffff]Z``, without strptime."""
    n = len(s)
    if n < 20 or s[-1] != "Z":
        return None
    secs = _whole_seconds(s[:19])
    if secs is None:
        return None
    frac = 0
    if n > 20:
        digits = s[20:-1]
        if s[19] != "." or not digits.isdigit() or len(digits) > 9:
            return None
        frac = int(digits) * 10 ** (9 - len(digits))
    return secs * 1_000_000_000 + frac


def parse_nano(text: str) -> int:
    """Nanoseconds since the epoch of an RFC 3339 time such as Docker writes."""
    import calendar

    s = text.strip()
    fast = _parse_utc_fast(s)
    if fast is not None:
        return fast
    try:
        head = time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise ValueError(f"not an rfc 3339 time: {text!r}") from None
    rest = s[19:]
    frac = 0
    if rest.startswith("."):
        digits = ""
        i = 1
        while i < len(rest) and rest[i].isdigit():
            digits += rest[i]
            i += 1
        if not digits:
            raise ValueError(f"not an rfc 3339 time: {text!r}")
        frac = int(digits[:9].ljust(9, "0"))
        rest = rest[i:]
    offset = 0
    if rest in ("Z", "z"):
        pass
    elif len(rest) == 6 and rest[0] in "+-" and rest[3] == ":":
        try:
            offset = (int(rest[1:3]) * 60 + int(rest[4:6])) * 60
        except ValueError:
            raise ValueError(f"not an rfc 3339 time: {text!r}") from None
        if rest[0] == "-":
            offset = -offset
    else:
        raise ValueError(f"not an rfc 3339 time: {text!r}")
    return (calendar.timegm(head) - offset) * 1_000_000_000 + frac


_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
          "m": 60_000_000_000, "h": 3_600_000_000_000}


def _parse_duration(text: str) -> int | None:
    """Go's ``time.ParseDuration`` for non-negative values, in nanoseconds; None if not one."""
    import re

    if not re.fullmatch(r"(?:\d+(?:\.\d*)?(?:ns|us|µs|ms|s|m|h))+", text):
        return None
    total = 0.0
    for num, unit in re.findall(r"(\d+(?:\.\d*)?)(ns|us|µs|ms|s|m|h)", text):
        total += float(num) * _UNITS[unit]
    return int(total)


def parse_since(value: str, field: str, now_ns: int | None = None) -> int:
    """Docker's ``--since``/``--until`` value to nanoseconds since the epoch.

    Accepts a Go duration relative to now (``10m``, ``1h30m``), a Unix time with an
    optional fraction (``1700000000.5``), an RFC 3339 time, or a date/time without a
    zone (taken as local time, as Docker does). ``field`` names the flag in errors.
    """
    from dockyard.errors import InvalidArgument

    now = time.time_ns() if now_ns is None else now_ns
    text = value.strip()
    bad = InvalidArgument(
        f"invalid value for {field}: failed to parse value as time or duration: {value!r}"
    )
    if not text:
        raise bad
    dur = _parse_duration(text)
    if dur is not None:
        return now - dur
    if text.replace(".", "", 1).isdigit():
        secs, _, frac = text.partition(".")
        if len(frac) > 9:
            raise bad
        return int(secs) * 1_000_000_000 + int(frac.ljust(9, "0") or "0")
    try:
        return parse_nano(text)
    except ValueError:
        pass
    for fmt in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            local = time.strptime(text, fmt)
        except ValueError:
            continue
        return int(time.mktime(local)) * 1_000_000_000
    raise bad
