"""JSON without importing ``json``: the standard module pulls in ``re`` and compiles
patterns at import, a few milliseconds the runtime cannot spare on every start.

``loads`` drives the C scanner of ``_json`` directly and falls back to ``json.loads``
for anything unusual, which also produces the real error message. ``dumps`` writes
compact JSON for the plain data the runtime stores (dicts, lists, str, int, float,
bool, None).
"""

from __future__ import annotations

import _json

TYPE_CHECKING = False  # typing itself costs milliseconds per start

if TYPE_CHECKING:
    from typing import Any

__all__ = ["dumps", "loads"]


class _Context:
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = None
    memo: dict[str, str] = {}


_scan = _json.make_scanner(_Context())  # type: ignore[arg-type]
_WS = " \t\n\r"


def loads(raw: str | bytes) -> Any:
    """Parse a JSON document (``ValueError`` subclasses on bad input, as ``json``)."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    start = len(text) - len(text.lstrip(_WS))
    try:
        obj, end = _scan(text, start)
    except Exception:
        end = -1
    if end < 0 or text[end:].strip(_WS):
        import json

        return json.loads(text)
    return obj


def dumps(obj: Any) -> str:
    """Compact JSON text of plain data."""
    out: list[str] = []
    _encode(obj, out)
    return "".join(out)


def _encode(obj: Any, out: list[str]) -> None:
    if isinstance(obj, str):
        out.append(_json.encode_basestring_ascii(obj))
    elif obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, int):
        out.append(int.__repr__(obj))
    elif isinstance(obj, float):
        out.append(float.__repr__(obj))
    elif isinstance(obj, dict):
        out.append("{")
        for i, (k, v) in enumerate(obj.items()):
            if i:
                out.append(",")
            out.append(_json.encode_basestring_ascii(str(k)))
            out.append(":")
            _encode(v, out)
        out.append("}")
    elif isinstance(obj, (list, tuple)):
        out.append("[")
        for i, v in enumerate(obj):
            if i:
                out.append(",")
            _encode(v, out)
        out.append("]")
    else:
        raise TypeError(f"not json-serialisable: {type(obj).__name__}")
