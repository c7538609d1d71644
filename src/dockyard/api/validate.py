"""Request bodies checked against the engine's TypedDicts before anything runs.

A wrong type is a 400 naming the field (``Config.Env: expected a list of strings``),
never a crash deep in the engine. Docker's string-or-list fields (``Cmd``,
``Entrypoint``, ``Shell``) are turned into lists first, as its ``strslice`` does.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from dockyard.errors import InvalidArgument

__all__ = ["check_typed", "expect_dict", "normalise_strslices"]

_STRSLICE = ("Cmd", "Entrypoint", "Shell")


def normalise_strslices(config: dict[str, Any]) -> None:
    """``"Cmd": "echo hi"`` means ``["echo hi"]`` to docker."""
    for key in _STRSLICE:
        if isinstance(config.get(key), str):
            config[key] = [config[key]]


def expect_dict(value: object, field: str) -> dict[str, Any]:
    """``value`` as a JSON object (None is an empty one), else a 400 naming ``field``."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidArgument(f"{field}: expected an object, got {_kind(value)}")
    return value


def _kind(value: object) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "an array", dict: "an object"}.get(type(value), type(value).__name__)


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if tp is str:
        return "a string"
    if tp is bool:
        return "a boolean"
    if tp is int:
        return "an integer"
    if origin is list:
        item = _describe(typing.get_args(tp)[0]).removeprefix("a ").removeprefix("an ")
        return f"a list of {item}s"
    if origin is dict:
        return "an object"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(tp) if a is not type(None))
    return "a value"


def _matches(value: object, tp: Any, field: str) -> bool:
    origin = typing.get_origin(tp)
    if tp is Any:
        return True
    if tp is type(None):
        return value is None
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, a, field) for a in typing.get_args(tp))
    if origin is typing.Literal:
        return value in typing.get_args(tp)
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool) and -2**63 <= value < 2**63
    if tp is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if tp is str:
        return isinstance(value, str) and "\x00" not in value
    if origin is list:
        (item,) = typing.get_args(tp)
        return isinstance(value, list) and all(_matches(v, item, field) for v in value)
    if origin is dict:
        _, item = typing.get_args(tp)
        return isinstance(value, dict) and all(_matches(v, item, field) for v in value.values())
    if typing.is_typeddict(tp):
        if not isinstance(value, dict):
            return False
        check_typed(value, tp, field)
        return True
    return True


def check_typed(body: dict[str, Any], typed: Any, prefix: str) -> None:
    """Raise InvalidArgument naming the first field of ``body`` whose type is wrong.

    Fields the TypedDict does not list are left for the engine (docker ignores them).
    """
    hints = typing.get_type_hints(typed)
    for key, value in body.items():
        if key not in hints:
            continue
        tp = hints[key]
        if value is None:
            continue  # docker treats null as "not set" for every field
        if not _matches(value, tp, f"{prefix}.{key}"):
            raise InvalidArgument(f"{prefix}.{key}: expected {_describe(tp)}, got {_kind(value)}")
