"""Query parameters as docker reads them: booleans, integers, the ``filters`` JSON."""

from __future__ import annotations

import json

from aiohttp import web

from dockyard.errors import InvalidArgument

__all__ = ["boolean", "filters", "integer", "text"]


def boolean(request: web.Request, name: str, default: bool = False) -> bool:
    """Docker's ``boolValue``: absent → default; "", "0", "no", "false", "none" → False."""
    if name not in request.query:
        return default
    return request.query[name].strip().lower() not in ("", "0", "no", "false", "none")


def integer(request: web.Request, name: str, default: int | None = None) -> int | None:
    value = request.query.get(name, "")
    if value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise InvalidArgument(f"invalid value for {name!r}: {value!r}: not an integer") from None
    if not -2**63 <= number < 2**63:
        raise InvalidArgument(f"invalid value for {name!r}: {value!r}: out of range")
    return number


def text(request: web.Request, name: str, default: str = "") -> str:
    value = request.query.get(name, default)
    if "\x00" in value:
        raise InvalidArgument(f"invalid value for {name!r}: contains a NUL byte")
    return value


def filters(request: web.Request) -> dict[str, list[str]]:
    """``filters={"status": ["running"]}`` (or the old ``{"status": {"running": true}}``)."""
    raw = request.query.get("filters", "")
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError as err:
        raise InvalidArgument(f"invalid filter: {err}") from None
    if not isinstance(data, dict):
        raise InvalidArgument("invalid filter: expected a JSON object")
    out: dict[str, list[str]] = {}
    for key, value in data.items():
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            out[key] = list(value)
        elif isinstance(value, dict) and all(isinstance(v, bool) for v in value.values()):
            out[key] = [k for k, v in value.items() if v]
        else:
            raise InvalidArgument(f"invalid filter {key!r}: expected a list of strings")
    return out
