"""Instruction flags (``--from=x``, ``--link``) and the Go value syntaxes they use.

:class:`BuildFlags` follows BuildKit's ``BFlags``: each instruction declares its flags,
then the words the parser collected are checked against them. The helpers read
values the way Go's ``strconv``, ``time.ParseDuration``, ``go-units`` and
``encoding/csv`` do, since Dockerfiles are written against those.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dockyard.errors import InvalidArgument

__all__ = [
    "BuildFlags",
    "Flag",
    "FlagError",
    "csv_fields",
    "parse_go_bool",
    "parse_go_duration",
    "parse_ram_bytes",
    "suggest",
]


class FlagError(InvalidArgument):
    """An instruction's flag or a flag value is wrong."""


@dataclass
class Flag:
    """One declared flag and what the instruction gave it."""

    name: str
    kind: str  # "bool", "string" or "strings"
    value: str = ""
    values: list[str] = field(default_factory=list)
    used: bool = False

    @property
    def is_true(self) -> bool:
        """The value of a boolean flag."""
        return self.value == "true"


class BuildFlags:
    """The flags an instruction accepts, parsed from the words after it."""

    def __init__(self, args: list[str]) -> None:
        self.args = list(args)
        self.flags: dict[str, Flag] = {}
        self.used: list[str] = []

    def add_bool(self, name: str, default: bool = False) -> Flag:
        """Declare ``--name`` / ``--name=true|false``."""
        return self._add(Flag(name, "bool", "true" if default else "false"))

    def add_string(self, name: str, default: str = "") -> Flag:
        """Declare ``--name=value`` (given at most once)."""
        return self._add(Flag(name, "string", default))

    def add_strings(self, name: str) -> Flag:
        """Declare ``--name=value`` that may repeat."""
        return self._add(Flag(name, "strings"))

    def _add(self, flag: Flag) -> Flag:
        if flag.name in self.flags:
            raise FlagError(f"duplicate flag defined: {flag.name}")
        self.flags[flag.name] = flag
        return flag

    def parse(self) -> None:
        """Check every given flag against the declared ones and store its value."""
        for arg in self.args:
            if arg == "--":
                return
            if not arg.startswith("--"):
                raise FlagError(f"arg should start with -- : {arg}")
            flag_name, has_value, value = arg.partition("=")
            name = flag_name[2:]
            flag = self.flags.get(name)
            if flag is None:
                message = f"unknown flag: {flag_name}"
                raise FlagError(suggest(message, name, sorted(self.flags), case_sensitive=True))
            if flag.used and flag.kind != "strings":
                raise FlagError(f"duplicate flag specified: {flag_name}")
            if not flag.used:
                self.used.append(name)
            flag.used = True
            if flag.kind == "bool":
                if has_value and not value:
                    raise FlagError(f"missing a value on flag: {flag_name}")
                if value.lower() in ("true", ""):
                    flag.value = "true"
                elif value.lower() == "false":
                    flag.value = "false"
                else:
                    raise FlagError(
                        f"expecting boolean value for flag {flag_name}, not: {value}")
            elif not has_value:
                raise FlagError(f"missing a value on flag: {flag_name}")
            elif flag.kind == "string":
                flag.value = value
            else:
                flag.values.append(value)


def _levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def suggest(message: str, value: str, options: list[str], *, case_sensitive: bool) -> str:
    """Append BuildKit's ``(did you mean x?)`` when an option is within 2 edits."""
    probe = value if case_sensitive else value.lower()
    best, best_dist = "", 3
    for option in options:
        cand = option if case_sensitive else option.lower()
        if cand == probe:
            return message
        dist = _levenshtein(probe, cand)
        if dist < best_dist:
            best, best_dist = cand, dist
    if not best:
        return message
    if not case_sensitive and value == value.upper() and value != value.lower():
        best = best.upper()
    return f"{message} (did you mean {best}?)"


_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def parse_go_bool(text: str) -> bool:
    """Go's ``strconv.ParseBool``."""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"invalid boolean: {text}")


_UNITS_NS = {
    "ns": 1, "us": 1_000, "\u00b5s": 1_000, "\u03bcs": 1_000, "ms": 1_000_000,
    "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000,
}
_DURATION_NUMBER = re.compile(r"([0-9]*)(?:\.([0-9]*))?")


def parse_go_duration(text: str) -> int:
    """Go's ``time.ParseDuration``, in nanoseconds (``1m30s``, ``1.5h``, ``300ms``)."""
    quoted = '"' + text + '"'
    rest = text
    sign = 1
    if rest[:1] in ("-", "+"):
        sign = -1 if rest[0] == "-" else 1
        rest = rest[1:]
    if rest == "0":
        return 0
    if not rest:
        raise ValueError(f"time: invalid duration {quoted}")
    total = 0
    while rest:
        m = _DURATION_NUMBER.match(rest)
        assert m is not None  # the pattern matches the empty string
        whole, frac = m.group(1), m.group(2) or ""
        if not whole and not frac:
            raise ValueError(f"time: invalid duration {quoted}")
        rest = rest[m.end():]
        end = 0
        while end < len(rest) and rest[end] != "." and not rest[end].isdigit():
            end += 1
        unit_name, rest = rest[:end], rest[end:]
        if not unit_name:
            raise ValueError(f"time: missing unit in duration {quoted}")
        unit = _UNITS_NS.get(unit_name)
        if unit is None:
            raise ValueError(f'time: unknown unit "{unit_name}" in duration {quoted}')
        ns = int(whole or "0") * unit
        if frac:
            ns += int(frac) * unit // 10 ** len(frac)
        total += ns
        if total > 2**63 - 1:
            raise ValueError(f"time: invalid duration {quoted}")
    return sign * total


_BINARY = {"k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}


def parse_ram_bytes(text: str) -> int:
    """go-units ``RAMInBytes``: ``64m``, ``1.5GiB``, ``1024`` (binary multiples)."""
    sep = max(text.rfind(c) for c in "0123456789. ")
    if sep < 0:
        raise ValueError(f"invalid size: '{text}'")
    if text[sep] == " ":
        num, suffix = text[:sep], text[sep + 1:]
    else:
        num, suffix = text[:sep + 1], text[sep + 1:]
    try:
        size = float(num)
    except ValueError:
        raise ValueError(f"invalid size: '{text}'") from None
    if size < 0 or size != size:
        raise ValueError(f"invalid size: '{text}'")
    if not suffix:
        return int(size)
    low = suffix.lower()
    bad = ValueError(f"invalid suffix: '{low}'")
    if len(low) > 3:
        raise bad
    if low[0] == "b":
        if len(low) > 1:
            raise bad
        return int(size)
    if low[0] not in _BINARY:
        raise bad
    if (len(low) == 2 and low[1] != "b") or (len(low) == 3 and low[1:] != "ib"):
        raise bad
    return int(size * _BINARY[low[0]])


def csv_fields(line: str) -> list[str]:
    """One CSV record split into fields as Go's ``encoding/csv`` reads it (strict quotes)."""
    fields: list[str] = []
    pos = 0
    n = len(line)
    while True:
        if pos < n and line[pos] == '"':
            pos += 1
            buf: list[str] = []
            while True:
                end = line.find('"', pos)
                if end < 0:
                    raise ValueError('extraneous or missing " in quoted-field')
                buf.append(line[pos:end])
                pos = end + 1
                if pos < n and line[pos] == '"':
                    buf.append('"')
                    pos += 1
                    continue
                if pos < n and line[pos] != ",":
                    raise ValueError('extraneous or missing " in quoted-field')
                break
            fields.append("".join(buf))
        else:
            end = line.find(",", pos)
            end = n if end < 0 else end
            value = line[pos:end]
            if '"' in value:
                raise ValueError('bare " in non-quoted-field')
            fields.append(value)
            pos = end
        if pos >= n:
            return fields
        pos += 1  # the comma
