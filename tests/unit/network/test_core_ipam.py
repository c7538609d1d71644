"""IPAM: pools, serial allocation, --ip checks (pure logic)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.errors import Conflict, InvalidArgument
from dockyard.network import ipam


@pytest.mark.parametrize(("subnet", "gateway", "ip_range", "message"), [
    ("nonsense", "", "", "invalid CIDR address: nonsense"),
    ("10.0.0.0/33", "", "", "invalid CIDR address: 10.0.0.0/33"),
    ("fd00::/64", "", "", "only IPv4"),
    ("10.0.0.0/24", "10.0.1.1", "", "no matching subnet for gateway 10.0.1.1"),
    ("10.0.0.0/24", "10.0.0.255", "", "invalid gateway 10.0.0.255"),
    ("10.0.0.0/24", "gw", "", "invalid gateway address: gw"),
    ("10.0.0.0/24", "", "10.0.1.0/25", "no matching subnet for range 10.0.1.0/25"),
    ("10.0.0.0/31", "", "", "too small"),
])
def test_bad_pools_are_refused_with_dockers_message(subnet: str, gateway: str,
                                                    ip_range: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        ipam.parse_pool(subnet, gateway, ip_range)


def test_pool_defaults_gateway_to_first_host_and_normalises_subnet() -> None:
    pool = ipam.parse_pool("10.1.2.3/16")
    assert pool.subnet == IPv4Network("10.1.0.0/16")
    assert pool.gateway == IPv4Address("10.1.0.1")
    assert pool.to_config() == {"Subnet": "10.1.0.0/16", "Gateway": "10.1.0.1"}
    ranged = ipam.parse_pool("10.1.0.0/16", "10.1.0.254", "10.1.5.0/24")
    assert ranged.to_config()["IPRange"] == "10.1.5.0/24"
    assert ipam.Pool.from_config(ranged.to_config()) == ranged


def test_default_subnet_skips_what_is_taken() -> None:
    assert ipam.default_subnet([]) == IPv4Network("172.17.0.0/16")
    taken = [IPv4Network("172.17.5.0/24"), IPv4Network("172.16.0.0/12")]
    assert ipam.default_subnet(taken) == IPv4Network("192.168.0.0/20")
    with pytest.raises(Conflict, match="non-overlapping"):
        ipam.default_subnet([IPv4Network("0.0.0.0/0")])


def test_allocation_is_serial_and_wraps() -> None:
    pool = ipam.parse_pool("10.0.0.0/29")  # hosts .1-.6, gateway .1
    assert ipam.allocate(pool, []) == IPv4Address("10.0.0.2")
    assert ipam.allocate(pool, [], IPv4Address("10.0.0.2")) == IPv4Address("10.0.0.3")
    # after the last host it wraps to the first free one
    assert ipam.allocate(pool, [IPv4Address("10.0.0.2")], IPv4Address("10.0.0.6")) == \
        IPv4Address("10.0.0.3")
    full = [IPv4Address(f"10.0.0.{n}") for n in range(2, 7)]
    with pytest.raises(Conflict, match="no available IPv4 addresses"):
        ipam.allocate(pool, full)


def test_allocation_stays_in_the_ip_range() -> None:
    pool = ipam.parse_pool("10.0.0.0/24", "", "10.0.0.128/30")
    got: list[IPv4Address] = []
    for _ in range(4):
        got.append(ipam.allocate(pool, got, got[-1] if got else None))
    with pytest.raises(Conflict):
        ipam.allocate(pool, got)
    assert [str(a) for a in got] == ["10.0.0.128", "10.0.0.129", "10.0.0.130",
                                     "10.0.0.131"]


@settings(max_examples=60, deadline=None)
@given(prefix=st.integers(24, 29), seed=st.lists(st.booleans(), max_size=80),
       start=st.integers(0, 255))
def test_allocation_never_repeats_and_never_leaves_the_pool(
        prefix: int, seed: list[bool], start: int) -> None:
    """Allocate and release at random: every address is a host of the subnet, never
    the gateway, never one in use."""
    pool = ipam.parse_pool(f"10.9.{start}.0/{prefix}")
    used: list[IPv4Address] = []
    last = None
    for release in seed:
        if release and used:
            used.pop(len(used) // 2)
            continue
        try:
            addr = ipam.allocate(pool, used, last)
        except Conflict:
            assert len(used) == pool.subnet.num_addresses - 3  # net, broadcast, gateway
            continue
        assert addr not in used and addr != pool.gateway
        assert addr in pool.subnet
        assert addr not in (pool.subnet.network_address, pool.subnet.broadcast_address)
        used.append(addr)
        last = addr


@pytest.mark.parametrize(("ip", "used", "error", "message"), [
    ("10.0.1.5", [], InvalidArgument, "Invalid address 10.0.1.5: It does not belong"),
    ("10.0.0.0", [], InvalidArgument, "does not belong"),
    ("10.0.0.255", [], InvalidArgument, "does not belong"),
    ("10.0.0.1", [], Conflict, "Address already in use: 10.0.0.1"),
    ("10.0.0.7", ["10.0.0.7"], Conflict, "Address already in use"),
    ("ten", [], InvalidArgument, "invalid IPv4 address: ten"),
])
def test_requested_address_checks(ip: str, used: list[str], error: type[Exception],
                                  message: str) -> None:
    pool = ipam.parse_pool("10.0.0.0/24")
    with pytest.raises(error, match=message):
        ipam.check_requested(pool, ip, [IPv4Address(u) for u in used])
    assert ipam.check_requested(pool, "10.0.0.9", []) == IPv4Address("10.0.0.9")


def test_mac_follows_the_address_like_docker() -> None:
    assert ipam.mac_for(IPv4Address("172.17.0.2")) == "02:42:ac:11:00:02"
