"""--detach-keys parsing and the input filter that spots the sequence."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.engine.monitor import DEFAULT_DETACH_KEYS, DetachFilter, parse_detach_keys
from dockyard.errors import InvalidArgument


@pytest.mark.parametrize(("spec", "keys"), [
    ("ctrl-p,ctrl-q", b"\x10\x11"),
    ("", DEFAULT_DETACH_KEYS),
    ("ctrl-a", b"\x01"),
    ("CTRL-Z,x", b"\x1ax"),
    ("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_", bytes([0, 27, 28, 29, 30, 31])),
    ("a,b,c", b"abc"),
])
def test_parse(spec: str, keys: bytes) -> None:
    assert parse_detach_keys(spec) == keys


@pytest.mark.parametrize("spec", ["ctrl-1", "ctrl-", "ctrl-ab", "shift-a", "ab", "é", "a,,b"])
def test_bad_keys_are_named(spec: str) -> None:
    with pytest.raises(InvalidArgument, match="invalid detach keys"):
        parse_detach_keys(spec)


def _reference(stream: bytes, keys: bytes) -> tuple[bytes, bool]:
    i = stream.find(keys)
    return (stream, False) if i < 0 else (stream[:i], True)


@given(st.lists(st.binary(max_size=8).map(lambda b: bytes(x % 4 for x in b)), max_size=10),
       st.binary(min_size=1, max_size=3).map(lambda b: bytes(x % 4 for x in b)))
def test_filter_matches_reference(chunks: list[bytes], keys: bytes) -> None:
    f = DetachFilter(keys)
    out = b""
    detached = False
    for c in chunks:
        fwd, detached = f.feed(c)
        out += fwd
        if detached:
            break
    stream = b"".join(chunks)
    want, want_detached = _reference(stream, keys)
    assert detached == want_detached
    if detached:
        assert out == want
    else:
        # Only a trailing prefix of the sequence may still be held back.
        assert stream.startswith(out)
        held = stream[len(out):]
        assert keys.startswith(held) and len(held) < len(keys)


def test_held_prefix_is_released_when_broken() -> None:
    f = DetachFilter()
    assert f.feed(b"ab\x10") == (b"ab", False)
    assert f.feed(b"c") == (b"\x10c", False)
    assert f.feed(b"\x10\x10\x11rest") == (b"\x10", True)


def test_no_keys_forwards_everything() -> None:
    assert DetachFilter(b"").feed(b"\x10\x11") == (b"\x10\x11", False)


def test_overlapping_prefix_still_detaches() -> None:
    """A held prefix broken by a byte that itself restarts the sequence (found by
    hypothesis: ^C then ^C^C@ with keys ^C^C@)."""
    f = DetachFilter(b"\x03\x03\x00")
    assert f.feed(b"\x03") == (b"", False)
    assert f.feed(b"\x03\x03\x00") == (b"\x03", True)
    g = DetachFilter(b"\x01\x02\x01\x03")
    assert g.feed(b"x\x01\x02\x01\x02\x01\x03y") == (b"x\x01\x02", True)
