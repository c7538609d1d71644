"""Functions and value printing for ``template.py``, as Go and docker define them."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["FUNCS", "MISSING", "GoMap", "go_str", "go_type", "is_struct", "truth"]


class GoMap(dict[str, Any]):
    """A dict that Go would hold as a map: sorted keys in ``json`` and when printed."""


class _Missing:
    """A map key that is absent; Go prints it as ``<no value>``."""

    def __repr__(self) -> str:
        return "<no value>"


MISSING: Any = _Missing()


def _go_float(value: float) -> str:
    """Go's ``%v`` for a float64: shortest repr, exponent from 1e21 up."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mantissa, exp = text.split("e")
        sign = "-" if exp.startswith("-") else "+"
        return f"{mantissa}e{sign}{abs(int(exp)):02d}"
    return text


def go_str(value: Any) -> str:
    """How Go's template prints a value decoded from JSON."""
    if value is MISSING:
        return "<no value>"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, Mapping):
        if is_struct(value):
            return "{" + " ".join(go_str(v) for v in value.values()) + "}"
        return "map[" + " ".join(f"{k}:{go_str(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(go_str(v) for v in value) + "]"
    return str(value)


def is_struct(value: Mapping[str, Any]) -> bool:
    """Whether a dict stands for a Go struct (exported field names) rather than a map.

    Docker prints the typed object, so structs keep their field order and print as
    ``{a b}`` while maps (labels, options) are sorted and print as ``map[k:v]``.
    """
    if isinstance(value, GoMap):
        return False
    return bool(value) and all(
        isinstance(k, str) and k[:1].isascii() and k[:1].isupper() and k.isidentifier()
        for k in value)


def _sorted_maps(value: Any) -> Any:
    if isinstance(value, Mapping):
        keys = list(value) if is_struct(value) else sorted(value)
        return {k: _sorted_maps(value[k]) for k in keys if not callable(value[k])}
    if isinstance(value, (list, tuple)):
        return [_sorted_maps(v) for v in value]
    return value


def go_type(value: Any) -> str:
    """Go's name for the type a JSON value decodes to."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (int, float)):
        return "float64"
    if isinstance(value, (list, tuple)):
        return "[]interface {}"
    return "interface {}"


def truth(value: Any) -> bool:
    """Go's template truth: false, 0, nil and empty values are false."""
    if value is MISSING or value is None:
        return False
    if isinstance(value, (bool, int, float, str, list, tuple, Mapping)):
        return bool(value)
    return True


def _json(value: Any) -> str:
    if value is MISSING:
        value = None
    return json.dumps(_sorted_maps(value), ensure_ascii=False, separators=(",", ":"))


def _join(items: Any, sep: str) -> str:
    if not isinstance(items, (list, tuple)):
        raise TypeError(f"wrong type for value; expected []string; got {go_type(items)}")
    return sep.join(go_str(i) for i in items)


def _index(item: Any, *keys: Any) -> Any:
    for key in keys:
        if isinstance(item, Mapping):
            item = item.get(key, MISSING if not item else None)
            if item is MISSING:
                item = None
        elif isinstance(item, (list, tuple, str)):
            if not isinstance(key, int) or isinstance(key, bool):
                raise TypeError(f"cannot index slice/array with type {go_type(key)}")
            if not 0 <= key < len(item):
                raise IndexError(f"index out of range: {key}")
            item = item[key]
        elif item is None or item is MISSING:
            raise TypeError("index of untyped nil")
        else:
            raise TypeError(f"can't index item of type {go_type(item)}")
    return item


def _len(item: Any) -> int:
    if isinstance(item, (str, list, tuple, Mapping)):
        return len(item)
    raise TypeError(f"len of type {go_type(item)}")


def _comparable(a: Any, b: Any) -> tuple[Any, Any]:
    numbers = (int, float)
    differ = (isinstance(a, bool) != isinstance(b, bool)
              or isinstance(a, numbers) != isinstance(b, numbers)
              or isinstance(a, str) != isinstance(b, str))
    if differ and all(v is not None and v is not MISSING for v in (a, b)):
        raise TypeError("incompatible types for comparison")
    return a, b


def _eq(a: Any, *others: Any) -> bool:
    if not others:
        raise TypeError("missing argument for comparison")
    for b in others:
        x, y = _comparable(a, b)
        if x == y:
            return True
    return False


def _order(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        x, y = _comparable(a, b)
        if isinstance(x, (list, tuple, Mapping)) or x is None:
            raise TypeError("invalid type for comparison")
        return op(x, y)
    return compare


def _and(*args: Any) -> Any:
    for arg in args:
        if not truth(arg):
            return arg
    return args[-1]


def _or(*args: Any) -> Any:
    for arg in args:
        if truth(arg):
            return arg
    return args[-1]


def _print(*args: Any) -> str:
    # Go's fmt.Sprint adds spaces between operands when neither is a string.
    out = ""
    for i, arg in enumerate(args):
        if i and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            out += " "
        out += go_str(arg)
    return out


def _printf(fmt: str, *args: Any) -> str:
    out: list[str] = []
    i = 0
    argi = 0
    while i < len(fmt):
        c = fmt[i]
        if c != "%":
            out.append(c)
            i += 1
            continue
        j = i + 1
        while j < len(fmt) and fmt[j] in "-+# 0123456789.":
            j += 1
        if j >= len(fmt):
            out.append("%!(NOVERB)")
            break
        flags, verb = fmt[i + 1:j], fmt[j]
        i = j + 1
        if verb == "%":
            out.append("%")
            continue
        if argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        arg = args[argi]
        argi += 1
        if verb in "sv":
            text = go_str(arg)
            out.append(f"%{flags}s" % text)
        elif verb == "q":
            out.append(json.dumps(go_str(arg), ensure_ascii=False))
        elif verb == "d" and isinstance(arg, int):
            out.append(f"%{flags}d" % arg)
        elif (verb in "xXo" and isinstance(arg, int)) or (
                verb in "feg" and isinstance(arg, (int, float))):
            out.append(f"%{flags}{verb}" % arg)
        elif verb == "t" and isinstance(arg, bool):
            out.append(go_str(arg))
        else:
            out.append(f"%!{verb}({go_type(arg)}={go_str(arg)})")
    return "".join(out)


def _pad(source: str, prefix: int, suffix: int) -> str:
    if source == "":
        return source
    return " " * prefix + source + " " * suffix


def _truncate(source: str, length: int) -> str:
    return source if len(source) < length else source[:length]


def _slice(item: Any, *bounds: int) -> Any:
    if not bounds:
        return item
    start = bounds[0]
    end = bounds[1] if len(bounds) > 1 else len(item)
    if not 0 <= start <= end <= len(item):
        raise IndexError(f"index out of range: {start}:{end}")
    return item[start:end]


def _title(text: str) -> str:
    out: list[str] = []
    prev = " "
    for c in text:
        out.append(c.upper() if not (prev.isalnum() or prev == "_") else c)
        prev = c
    return "".join(out)


FUNCS: dict[str, Callable[..., Any]] = {
    # Go's builtins.
    "and": _and,
    "or": _or,
    "not": lambda v: not truth(v),
    "len": _len,
    "index": _index,
    "slice": _slice,
    "eq": _eq,
    "ne": lambda a, b: not _eq(a, b),
    "lt": _order(lambda a, b: a < b),
    "le": _order(lambda a, b: a <= b),
    "gt": _order(lambda a, b: a > b),
    "ge": _order(lambda a, b: a >= b),
    "print": _print,
    "println": lambda *a: " ".join(go_str(x) for x in a) + "\n",
    "printf": _printf,
    # docker's additions (cli/templates).
    "json": _json,
    "join": _join,
    "split": lambda s, sep: s.split(sep) if sep else list(s),
    "lower": lambda s: s.lower(),
    "upper": lambda s: s.upper(),
    "title": _title,
    "pad": _pad,
    "truncate": _truncate,
}
