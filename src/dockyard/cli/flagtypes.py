"""click parameter types that parse a flag's value with docker's rules and messages.

Kept apart from ``runflags`` so that commands other than ``run``/``create`` can use them
without importing every ``run`` flag.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from dockyard.errors import InvalidArgument

__all__ = ["BYTES", "INT", "FlagError", "Parsed"]


class FlagError(click.BadParameter):
    """A flag's value failed to parse; shown as docker shows it."""

    def __init__(self, value: str, message: str, param: click.Parameter | None) -> None:
        super().__init__(message, param=param)
        self.value = value

    def format_message(self) -> str:
        names = ""
        if self.param is not None:
            shorts = [o for o in self.param.opts if not o.startswith("--")]
            longs = [o for o in self.param.opts if o.startswith("--")]
            names = ", ".join(shorts[:1] + longs[:1])
        return f'invalid argument "{self.value}" for "{names}" flag: {self.message}'


class Parsed(click.ParamType[Any, Any]):
    """A click type that runs one of ``opts``'s parsers and reports docker's message."""

    def __init__(self, parse: Callable[[str], Any], name: str = "value") -> None:
        self.parse = parse
        self.name = name

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return self.parse(value)
        except InvalidArgument as err:
            raise FlagError(value, str(err), param)


def _bytes(text: str) -> int:
    from dockyard.cli.units import parse_bytes

    return parse_bytes(text)


def _int(text: str) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise InvalidArgument(f'strconv.ParseInt: parsing "{text}": invalid syntax')
    if not -(1 << 63) <= value < (1 << 63):
        raise InvalidArgument(f'strconv.ParseInt: parsing "{text}": value out of range')
    return value


BYTES = Parsed(_bytes, "bytes")
INT = Parsed(_int, "int")
