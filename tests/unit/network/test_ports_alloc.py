"""Host port choice: overlap rules and ranges (binds only on 127.0.0.1)."""

from __future__ import annotations

import re
import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.errors import Conflict
from dockyard.network.ports import PublishedPort
from dockyard.network.ports_alloc import choose_host_port, ephemeral_range, overlaps


@pytest.mark.parametrize("proto, ip, port, other, expect", [
    ("tcp", "0.0.0.0", 80, PublishedPort("tcp", 1, "0.0.0.0", 80), True),
    ("tcp", "127.0.0.1", 80, PublishedPort("tcp", 1, "0.0.0.0", 80), True),
    ("tcp", "0.0.0.0", 80, PublishedPort("tcp", 1, "127.0.0.1", 80), True),
    ("tcp", "127.0.0.1", 80, PublishedPort("tcp", 1, "127.0.0.2", 80), False),
    ("udp", "0.0.0.0", 80, PublishedPort("tcp", 1, "0.0.0.0", 80), False),
    ("tcp", "0.0.0.0", 81, PublishedPort("tcp", 1, "0.0.0.0", 80), False),
])
def test_overlaps(proto: str, ip: str, port: int, other: PublishedPort, expect: bool) -> None:
    assert overlaps(proto, ip, port, other) is expect


@given(st.lists(st.integers(20000, 20010), max_size=11, unique=True))
def test_range_choice_skips_taken(taken_ports: list[int]) -> None:
    taken = [PublishedPort("udp", 1, "127.0.0.1", p) for p in taken_ports]
    free = sorted(set(range(20000, 20011)) - set(taken_ports))
    if not free:
        with pytest.raises(Conflict, match=re.escape(
                "Bind for 127.0.0.1:20000-20010 failed: port is already allocated")):
            choose_host_port("udp", "127.0.0.1", "20000-20010", taken)
        return
    assert choose_host_port("udp", "127.0.0.1", "20000-20010", taken) == free[0]


def test_any_port_comes_from_the_ephemeral_range() -> None:
    low, high = ephemeral_range()
    assert low <= choose_host_port("tcp", "127.0.0.1", "", []) <= high


def test_a_listener_makes_the_port_taken() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        with pytest.raises(Conflict, match=re.escape(f"Bind for 127.0.0.1:{port} failed")):
            choose_host_port("tcp", "127.0.0.1", str(port), [])
