"""rtnetlink encoding (pure), and the kernel's errors coming back as OSError."""

from __future__ import annotations

import errno
import socket
import struct
from pathlib import Path

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


def test_a_batch_waits_for_every_answer_and_raises_the_first_error(tmp_path: Path) -> None:
    """Several requests in one datagram (in a namespace of its own): each is answered;
    the first failure raises, EEXIST only where it is allowed."""
    from dockyard.network import netns

    def body() -> None:
        lo = socket.if_nametoindex("lo")
        rtnl._send([rtnl._message(rtnl._RTM_NEWLINK, 0, rtnl._ifinfo(lo, 1, 1))])
        missing = [rtnl._message(rtnl._RTM_DELLINK, 0,
                                 rtnl._ifinfo() + rtnl._str(3, f"dynosuchlink{n}"))
                   for n in (1, 2)]
        with pytest.raises(OSError) as info:
            rtnl._send([rtnl._message(rtnl._RTM_NEWLINK, 0, rtnl._ifinfo(lo, 1, 1)),
                        *missing])
        assert info.value.errno == errno.ENODEV
        # lo came up with 127.0.0.1/8: adding it again is EEXIST, raised unless allowed
        with pytest.raises(FileExistsError):
            rtnl._send([rtnl._addr(lo, "127.0.0.1", 8)])
        again = rtnl._addr(lo, "127.0.0.1", 8)
        rtnl._send([again], exist_ok=frozenset({again[0]}))

    path = tmp_path / "ns"
    netns.create(path)
    try:
        netns.inside(path, body)
    finally:
        netns.remove(path)


def test_messages_carry_increasing_sequence_numbers_and_their_length() -> None:
    first, raw = rtnl._message(rtnl._RTM_NEWLINK, 0, b"x" * 16)
    second, _ = rtnl._message(rtnl._RTM_NEWLINK, 0, b"")
    assert second == first + 1
    length, kind, flags, seq, _ = struct.unpack_from("=IHHII", raw)
    assert (length, kind, seq) == (32, rtnl._RTM_NEWLINK, first)
    assert flags & (rtnl._F_REQUEST | rtnl._F_ACK) == rtnl._F_REQUEST | rtnl._F_ACK
