"""JSON in and out of blobs: one stable encoding so equal documents hash equally."""

from __future__ import annotations

import json
from typing import Any

from dockyard.errors import InvalidConfig

__all__ = ["dumps", "loads"]


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON with keys in the order given (stable for equal inputs)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def loads(data: bytes | str, where: str) -> Any:
    """Parse JSON; an error names ``where``."""
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as err:
        raise InvalidConfig(f"{where}: not valid json ({err.__class__.__name__})") from None
