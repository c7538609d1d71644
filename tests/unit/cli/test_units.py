"""Docker's size and duration words (go-units' RAMInBytes, HumanSize, HumanDuration)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.cli.units import (
    binary_size,
    human_duration,
    human_size,
    parse_bytes,
    parse_decimal_bytes,
)
from dockyard.errors import InvalidArgument


@pytest.mark.parametrize(("text", "expected"), [
    ("0", 0), ("32", 32), ("32b", 32), ("32B", 32), ("1k", 1024), ("1K", 1024),
    ("1kb", 1024), ("1KiB", 1024), ("1kib", 1024), ("32m", 32 << 20), ("32M", 32 << 20),
    ("32MB", 32 << 20), ("32 MiB", 32 << 20), ("1g", 1 << 30), ("2t", 2 << 40),
    ("1p", 1 << 50), ("1.5g", 3 << 29), ("0.5k", 512), ("6m", 6291456), ("1.0001k", 1024),
    ("1 ", 1),
])
def test_parse_bytes(text: str, expected: int) -> None:
    assert parse_bytes(text) == expected


@pytest.mark.parametrize("text", [
    "", "abc", "-1", "1x", "1\n", " 1", "1kk", "1.2.3", "1  m", "m", ".5m", "1,5m", "1e3",
    "\uff11", "1mbb", "0x10", "99999999999p", "9223372036854775808",
])
def test_parse_bytes_rejects(text: str) -> None:
    with pytest.raises(InvalidArgument, match=r"^invalid size: '"):
        parse_bytes(text)


def test_decimal_bytes() -> None:
    assert parse_decimal_bytes("1k") == 1000
    assert parse_decimal_bytes("1.5MB") == 1_500_000


@given(st.integers(min_value=0, max_value=10**9), st.sampled_from(["", "k", "m", "g"]))
def test_parse_bytes_multiplies(n: int, unit: str) -> None:
    factor = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit]
    assert parse_bytes(f"{n}{unit}") == n * factor
    assert parse_bytes(f"{n}{unit.upper()}b") == n * factor


@pytest.mark.parametrize(("size", "text"), [
    (0, "0B"), (1, "1B"), (999, "999B"), (1000, "1kB"), (1024, "1.024kB"),
    (1_500_000, "1.5MB"), (123_456_789, "123.5MB"), (10**12, "1TB"), (5.5, "5.5B"),
])
def test_human_size(size: float, text: str) -> None:
    assert human_size(size) == text


def test_human_size_precision_three() -> None:
    assert human_size(123_456_789, 3) == "123MB"
    assert human_size(4096, 3) == "4.1kB"


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "Less than a second"), (0.9, "Less than a second"), (1, "1 second"),
    (2, "2 seconds"), (59.9, "59 seconds"), (60, "About a minute"), (119, "About a minute"),
    (120, "2 minutes"), (3599, "59 minutes"), (3600, "About an hour"),
    (5399, "About an hour"), (5400, "2 hours"), (47 * 3600, "47 hours"),
    (48 * 3600, "2 days"), (13 * 86400, "13 days"), (14 * 86400, "2 weeks"),
    (59 * 86400, "8 weeks"), (60 * 86400, "2 months"), (729 * 86400, "24 months"),
    (730 * 86400, "2 years"),
])
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


@given(st.floats(min_value=0, max_value=1e10))
def test_human_duration_always_words(seconds: float) -> None:
    text = human_duration(seconds)
    assert text[0].isupper() or text[0].isdigit()


@pytest.mark.parametrize(("size", "text"), [
    (0, "0B"), (1023, "1023B"), (1024, "1KiB"), (1536, "1.5KiB"), (1 << 20, "1MiB"),
    (8110000000, "7.553GiB"), (1 << 40, "1TiB"),
])
def test_binary_size(size: int, text: str) -> None:
    assert binary_size(size) == text
