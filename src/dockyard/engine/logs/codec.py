"""Record formats of the two file drivers.

``json-file`` lines are byte-for-byte what Docker writes:
``{"log":"hi\\n","stream":"stdout","time":"2026-11-27T10:00:00.123456789Z"}``, with an
``"attrs"`` object before ``"time"`` when log options add labels or env. Strings are
escaped like Docker's encoder: quotes, backslash, ``\\n \\r``, other control bytes
(tab too) and ``< > &`` as ``\\u00XX``, U+2028/U+2029 escaped, each invalid UTF-8 byte
as ``\\ufffd``.

``local`` is our own compact binary format (Docker's is protobuf): per record a
big-endian u32 body length, the body (u8 stream 1=stdout 2=stderr, u8 flags bit0=partial,
i64 time in ns, the bytes), then the length again so a file can be read backwards.

Standard library only, imported by the monitor process: keep imports light.
"""

from __future__ import annotations

from .timefmt import format_nano, parse_nano

TYPE_CHECKING = False  # not typing's: importing typing would cost the monitor memory
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = [
    "LOCAL_HEADER",
    "decode_json_line",
    "decode_local",
    "encode_attrs",
    "encode_json_line",
    "encode_local",
    "escape_json",
]

_ESCAPES: dict[int, str] = {c: f"\\u{c:04x}" for c in range(0x20)}
_ESCAPES.update({ord("\n"): "\\n", ord("\r"): "\\r",
                 ord('"'): '\\"', ord("\\"): "\\\\",
                 ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026",
                 0x2028: "\\u2028", 0x2029: "\\u2029"})
# Invalid UTF-8 arrives as lone surrogates (surrogateescape: one per byte, as Go decodes).
_ESCAPES.update({c: "\\ufffd" for c in range(0xDC80, 0xDD00)})


def escape_json(data: bytes | str) -> str:
    """The body of a JSON string for ``data``, escaped as Docker's log encoder does."""
    text = data if isinstance(data, str) else data.decode("utf-8", "surrogateescape")
    return text.translate(_ESCAPES)


def encode_json_line(data: bytes, stream: str, time_ns: int, attrs: str = "") -> bytes:
    """One json-file line. ``attrs`` is an already encoded JSON object, or empty."""
    extra = f',"attrs":{attrs}' if attrs else ""
    return (
        f'{{"log":"{escape_json(data)}","stream":"{stream}"{extra},'
        f'"time":"{format_nano(time_ns)}"}}\n'
    ).encode()


def encode_attrs(attrs: dict[str, str]) -> str:
    """A JSON object with sorted keys (Go marshals maps sorted)."""
    items = ",".join(
        f'"{escape_json(k)}":"{escape_json(v)}"' for k, v in sorted(attrs.items())
    )
    return "{" + items + "}" if attrs else ""


_json_decode: Callable[[str], Any] | None = None


def decode_json_line(line: bytes) -> tuple[bytes, str, int, dict[str, str]]:
    """``(log bytes, stream, time ns, attrs)`` of one json-file line; ValueError if bad."""
    global _json_decode
    if _json_decode is None:  # json is imported on first read: the monitor never reads
        import json

        _json_decode = json.JSONDecoder().decode
    try:
        obj = _json_decode(line.decode("utf-8", "surrogateescape"))
        log = obj["log"].encode("utf-8", "surrogatepass")
        stream = obj.get("stream", "stdout")
        attrs = obj.get("attrs") or {}
        return log, stream, parse_nano(obj["time"]), attrs
    except (KeyError, TypeError, AttributeError, ValueError) as e:
        raise ValueError(f"bad json-file log line: {e}") from None


LOCAL_HEADER = 4
_STREAMS = {"stdout": 1, "stderr": 2}
_NAMES = {1: "stdout", 2: "stderr"}


def encode_local(data: bytes, stream: str, time_ns: int, partial: bool = False) -> bytes:
    """One ``local`` record (see the module docstring)."""
    body_len = 10 + len(data)
    size = body_len.to_bytes(4, "big")
    return b"".join((
        size,
        bytes((_STREAMS[stream], 1 if partial else 0)),
        time_ns.to_bytes(8, "big", signed=True),
        data,
        size,
    ))


def decode_local(buf: bytes, offset: int = 0) -> tuple[tuple[bytes, str, int] | None, int]:
    """Decode the record at ``offset``: ``((data, stream, time ns), next offset)``.

    Returns ``(None, offset)`` when ``buf`` holds only part of a record (a writer is
    mid-write); raises ValueError on a record that cannot be right.
    """
    if len(buf) - offset < 4:
        return None, offset
    body_len = int.from_bytes(buf[offset:offset + 4], "big")
    end = offset + 4 + body_len + 4
    if body_len < 10:
        raise ValueError(f"bad local log record at offset {offset}")
    if len(buf) < end:
        return None, offset
    if buf[end - 4:end] != buf[offset:offset + 4]:
        raise ValueError(f"bad local log record at offset {offset}")
    stream = _NAMES.get(buf[offset + 4])
    if stream is None:
        raise ValueError(f"bad local log record at offset {offset}: stream {buf[offset + 4]}")
    ts = int.from_bytes(buf[offset + 6:offset + 14], "big", signed=True)
    return (bytes(buf[offset + 14:end - 4]), stream, ts), end
