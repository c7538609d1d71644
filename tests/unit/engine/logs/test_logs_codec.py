"""json-file lines exactly as Docker writes them; the local format round-trips."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.engine.logs.codec import (
    decode_json_line,
    decode_local,
    encode_attrs,
    encode_json_line,
    encode_local,
    escape_json,
)

T = 1_764_237_600_123_456_789  # 2025-11-27T10:00:00.123456789Z


def test_docker_line_shape() -> None:
    line = encode_json_line(b"hello\n", "stdout", T)
    assert line == b'{"log":"hello\\n","stream":"stdout","time":"2025-11-27T10:00:00.123456789Z"}\n'


def test_attrs_come_before_time_sorted() -> None:
    attrs = encode_attrs({"zeta": "1", "alpha": "<x>"})
    line = encode_json_line(b"x", "stderr", T - 456_789, attrs)
    assert line == (b'{"log":"x","stream":"stderr","attrs":{"alpha":"\\u003cx\\u003e","zeta":"1"},'
                    b'"time":"2025-11-27T10:00:00.123Z"}\n')


@pytest.mark.parametrize(("raw", "escaped"), [
    (b'a"b\\c', 'a\\"b\\\\c'),
    (b"\t\r\n", "\\u0009\\r\\n"),
    (b"\x00\x1b\x7f", "\\u0000\\u001b\x7f"),
    (b"<a href='x'>&", "\\u003ca href='x'\\u003e\\u0026"),
    ("é€\u2028\u2029".encode(), "é€\\u2028\\u2029"),
    (b"\xff\xfe", "\\ufffd\\ufffd"),
    (b"\xe2\x82!", "\\ufffd\\ufffd!"),  # a truncated sequence: one per byte, as Go
    ("\ufffd".encode(), "\ufffd"),  # a valid U+FFFD stays as it is
])
def test_escaping_matches_docker(raw: bytes, escaped: str) -> None:
    assert escape_json(raw) == escaped


@given(st.binary(max_size=300), st.sampled_from(["stdout", "stderr"]),
       st.integers(min_value=0, max_value=4_102_444_800 * 10**9))
def test_json_lines_are_valid_json_and_decode(data: bytes, stream: str, ts: int) -> None:
    line = encode_json_line(data, stream, ts)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    obj = json.loads(line)
    want = "".join("\ufffd" if 0xDC80 <= ord(ch) <= 0xDCFF else ch
                   for ch in data.decode("utf-8", "surrogateescape"))
    assert obj["log"] == want
    log, s, t, attrs = decode_json_line(line.rstrip(b"\n"))
    assert (log, s, t, attrs) == (want.encode(), stream, ts, {})


@pytest.mark.parametrize("bad", [b"", b"{", b'{"log": 1}', b'{"stream":"stdout"}', b"[1]",
                                 b'{"log":"x","time":"yesterday"}'])
def test_bad_json_lines_raise(bad: bytes) -> None:
    with pytest.raises(ValueError):
        decode_json_line(bad)


@given(st.lists(st.tuples(st.binary(max_size=100), st.sampled_from(["stdout", "stderr"]),
                          st.integers(min_value=-(2**62), max_value=2**62)), max_size=20))
def test_local_records_round_trip(records: list[tuple[bytes, str, int]]) -> None:
    buf = b"".join(encode_local(d, s, t) for d, s, t in records)
    out = []
    pos = 0
    while True:
        rec, pos = decode_local(buf, pos)
        if rec is None:
            break
        out.append(rec)
    assert out == records and pos == len(buf)


def test_local_partial_record_waits_and_corrupt_raises() -> None:
    rec = encode_local(b"hello", "stdout", 5)
    assert decode_local(rec[:-1]) == (None, 0)
    assert decode_local(rec[:3]) == (None, 0)
    bad = bytearray(rec)
    bad[-1] ^= 0xFF
    with pytest.raises(ValueError, match="bad local log record"):
        decode_local(bytes(bad))
    bad = bytearray(rec)
    bad[4] = 9
    with pytest.raises(ValueError, match="stream 9"):
        decode_local(bytes(bad))
    with pytest.raises(ValueError):
        decode_local(b"\x00\x00\x00\x02ab\x00\x00\x00\x02")
