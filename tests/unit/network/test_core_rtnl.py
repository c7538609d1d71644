"""rtnetlink encoding (pure), and the kernel's errors coming back as OSError."""

from __future__ import annotations

import errno
import struct

import pytest

from dockyard.network import rtnl


@pytest.mark.parametrize(("data", "length"), [(b"", 4), (b"a", 5), (b"abcd", 8), (b"abcde", 9)])
def test_attributes_are_padded_to_four_bytes(data: bytes, length: int) -> None:
    raw = rtnl._attr(7, data)
    assert struct.unpack_from("=HH", raw) == (length, 7)
    assert len(raw) % 4 == 0 and raw[4:4 + len(data)] == data


def test_strings_are_nul_terminated_and_macs_are_six_bytes() -> None:
    assert rtnl._str(3, "eth0")[4:9] == b"eth0\0"
    assert rtnl._mac("02:42:ac:11:00:02") == bytes([2, 0x42, 0xac, 0x11, 0, 2])
    assert len(rtnl._ifinfo(5, 1, 1)) == 16


def test_kernel_errors_come_back_with_their_errno() -> None:
    with pytest.raises(OSError) as info:
        rtnl.link_del("dynosuchlink0")
    assert info.value.errno == errno.ENODEV
    with pytest.raises(OSError):
        rtnl.link_set("dynosuchlink0")
