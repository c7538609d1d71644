"""The monitor's socket protocol, shared by the monitor process and its clients.

A client connects to ``$RUN/containers/<id>/monitor.sock`` and sends one request,
a JSON object on one line. Replies are JSON lines, except after ``attach``, where the
connection carries frames both ways: an 8-byte header (u8 type, three zero bytes,
u32 big-endian length, like Docker's stream multiplexing) and the payload.

Requests: ``{"op": "start"}`` → ``{"ok": true, "pid": N}`` or ``{"ok": false,
"error": "..."}``; ``{"op": "wait"}`` → ``{"StatusCode": N, "Error": null}`` when the
container ends; ``{"op": "resize", "height": H, "width": W}`` → ``{"ok": true}``;
``{"op": "state"}`` → the State record; ``{"op": "attach", "stdin": bool,
"stdout": bool, "stderr": bool}`` → ``{"ok": true, "tty": bool}``, then frames.

Standard library only, and only light C modules: the monitor imports this.
"""

from __future__ import annotations

import _json

__all__ = [
    "EXIT",
    "HEADER",
    "RESIZE",
    "STDERR",
    "STDIN",
    "STDIN_CLOSE",
    "STDOUT",
    "FrameReader",
    "code_version",
    "dumps",
    "encode_frame",
    "loads",
]

STDIN = 0  # client → monitor: bytes for the container's stdin
STDOUT = 1  # monitor → client
STDERR = 2  # monitor → client
EXIT = 3  # monitor → client: payload is the exit code in ASCII; the stream ends
STDIN_CLOSE = 4  # client → monitor: the client's input ended
RESIZE = 5  # client → monitor: payload "rows cols" in ASCII
HEADER = 8
MAX_FRAME = 1 << 20


def encode_frame(kind: int, payload: bytes = b"") -> bytes:
    """Header and payload of one frame."""
    return bytes((kind, 0, 0, 0)) + len(payload).to_bytes(4, "big") + payload


class FrameReader:
    """Collects bytes and yields complete ``(type, payload)`` frames."""

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self._buf += data
        out: list[tuple[int, bytes]] = []
        while len(self._buf) >= HEADER:
            size = int.from_bytes(self._buf[4:8], "big")
            if size > MAX_FRAME:
                raise ValueError(f"frame of {size} bytes is too large")
            if len(self._buf) < HEADER + size:
                break
            out.append((self._buf[0], self._buf[HEADER:HEADER + size]))
            self._buf = self._buf[HEADER + size:]
        return out


def dumps(obj: object) -> str:
    """Compact JSON of dicts, lists, strings, numbers, booleans and None."""
    if obj is None:
        return "null"
    if obj is True:
        return "true"
    if obj is False:
        return "false"
    if isinstance(obj, int | float):
        return repr(obj)
    if isinstance(obj, str):
        return str(_json.encode_basestring_ascii(obj))
    if isinstance(obj, dict):
        return "{" + ",".join(f"{dumps(str(k))}:{dumps(v)}" for k, v in obj.items()) + "}"
    if isinstance(obj, list | tuple):
        return "[" + ",".join(dumps(v) for v in obj) + "]"
    raise TypeError(f"cannot encode {type(obj).__name__} as json")


def _no_constant(name: str) -> object:
    raise ValueError(f"invalid json constant {name}")


class _Context:
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = staticmethod(_no_constant)
    memo: dict[str, str] = {}


_scan = _json.make_scanner(_Context())  # type: ignore[arg-type]


def loads(text: str | bytes) -> object:
    """Parse one JSON document with the C scanner (no ``re``, unlike ``json``)."""
    s = text.decode() if isinstance(text, bytes) else text
    s = s.strip()
    try:
        obj, end = _scan(s, 0)
    except StopIteration as e:
        raise ValueError(f"invalid json at offset {e.value}") from None
    if end != len(s):
        raise ValueError(f"invalid json: extra data at offset {end}")
    return obj


def code_version() -> str:
    """Names, sizes and mtimes of the monitor's and logs' sources, as one string.

    A spawner started before the code changed must not fork monitors running the old
    code: clients send this, and a spawner whose own differs steps aside.
    """
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    parts = []
    for d in (here, os.path.join(os.path.dirname(here), "logs")):
        for name in sorted(os.listdir(d)):
            if name.endswith(".py"):
                st = os.stat(os.path.join(d, name))
                parts.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
    return ",".join(parts)
