"""Address management for bridge networks: pure logic, no I/O.

A network has one IPv4 pool: a subnet, a gateway inside it and an optional
``--ip-range`` narrowing where containers' addresses come from. Addresses are handed
out serially after the last one given (like libnetwork's default allocator), so an
address just released is not reused at once. The caller keeps the set in use under
its own lock (:mod:`dockyard.network.store`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from dockyard.errors import Conflict, InvalidArgument

__all__ = [
    "DEFAULT_POOLS",
    "Pool",
    "allocate",
    "check_requested",
    "default_subnet",
    "mac_for",
    "parse_pool",
]

# Docker's default address pools: 172.17-31.0.0/16, then 192.168.0.0/16 in /20s.
DEFAULT_POOLS: tuple[IPv4Network, ...] = (
    *(IPv4Network(f"172.{n}.0.0/16") for n in range(17, 32)),
    *IPv4Network("192.168.0.0/16").subnets(new_prefix=20),
)


@dataclass(frozen=True)
class Pool:
    """One network's IPv4 configuration."""

    subnet: IPv4Network
    gateway: IPv4Address
    ip_range: IPv4Network | None = None

    @property
    def prefixlen(self) -> int:
        return self.subnet.prefixlen

    def to_config(self) -> dict[str, str]:
        """The ``IPAM.Config`` entry as docker shows it."""
        out = {"Subnet": str(self.subnet), "Gateway": str(self.gateway)}
        if self.ip_range is not None:
            out["IPRange"] = str(self.ip_range)
        return out

    @classmethod
    def from_config(cls, entry: dict[str, str]) -> Pool:
        """From an ``IPAM.Config`` entry; without a Gateway (docker omits one the user
        did not give) it is the subnet's first host."""
        ip_range = entry.get("IPRange")
        subnet = IPv4Network(entry["Subnet"])
        gateway = entry.get("Gateway")
        return cls(subnet, IPv4Address(gateway) if gateway else subnet.network_address + 1,
                   IPv4Network(ip_range) if ip_range else None)


def _network(text: str) -> IPv4Network:
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise InvalidArgument(f"invalid CIDR address: {text}") from None
    if not isinstance(net, IPv4Network):
        raise InvalidArgument(f"invalid CIDR address: {text} (only IPv4 is supported)")
    return net


def _address(text: str, what: str) -> IPv4Address:
    try:
        return IPv4Address(text)
    except ValueError:
        raise InvalidArgument(f"invalid {what}: {text}") from None


def parse_pool(subnet: str, gateway: str = "", ip_range: str = "") -> Pool:
    """Check ``--subnet``/``--gateway``/``--ip-range`` with docker's messages."""
    net = _network(subnet)
    if net.prefixlen > 30:
        raise InvalidArgument(f"invalid subnet {subnet}: too small for a gateway and hosts")
    if ip_range:
        rng = _network(ip_range)
        if not rng.subnet_of(net):
            raise InvalidArgument(f"no matching subnet for range {ip_range}")
    else:
        rng = None
    if gateway:
        gw = _address(gateway, "gateway address")
        if gw not in net:
            raise InvalidArgument(f"no matching subnet for gateway {gateway}")
        if gw in (net.network_address, net.broadcast_address):
            raise InvalidArgument(f"invalid gateway {gateway}: not a host address of {net}")
    else:
        gw = net.network_address + 1
    return Pool(net, gw, rng)


def default_subnet(taken: Iterable[IPv4Network]) -> IPv4Network:
    """The first default pool overlapping none of ``taken`` (host routes, networks)."""
    used = list(taken)
    for candidate in DEFAULT_POOLS:
        if not any(candidate.overlaps(t) for t in used):
            return candidate
    raise Conflict("could not find an available, non-overlapping IPv4 address pool "
                   "among the defaults to assign to the network")


def _hosts(pool: Pool) -> tuple[int, int]:
    """First and last assignable address of the pool (as ints)."""
    base = pool.ip_range or pool.subnet
    lo, hi = int(base.network_address), int(base.broadcast_address)
    net_lo, net_hi = int(pool.subnet.network_address), int(pool.subnet.broadcast_address)
    return max(lo, net_lo + 1), min(hi, net_hi - 1)


def allocate(pool: Pool, used: Iterable[IPv4Address], last: IPv4Address | None = None
             ) -> IPv4Address:
    """The next free address after ``last`` (wrapping), never the gateway or one in
    ``used``. Raises :class:`Conflict` when the pool is full."""
    taken = {int(a) for a in used} | {int(pool.gateway)}
    lo, hi = _hosts(pool)
    if hi < lo:
        raise Conflict(f"no available IPv4 addresses on network {pool.subnet}")
    start = int(last) + 1 if last is not None and lo <= int(last) < hi else lo
    span = hi - lo + 1
    if len(taken) < span + 1:  # cheap scan; a full pool skips it
        for step in range(span):
            cand = lo + (start - lo + step) % span
            if cand not in taken:
                return IPv4Address(cand)
    raise Conflict(f"no available IPv4 addresses on network {pool.subnet}")


def check_requested(pool: Pool, text: str, used: Iterable[IPv4Address]) -> IPv4Address:
    """A ``--ip`` address: inside the subnet, not the gateway, not in use."""
    addr = _address(text, "IPv4 address")
    if addr not in pool.subnet or addr in (pool.subnet.network_address,
                                           pool.subnet.broadcast_address):
        raise InvalidArgument(
            f"Invalid address {text}: It does not belong to any of this network's subnets")
    if addr == pool.gateway or addr in set(used):
        raise Conflict(f"Address already in use: {text}")
    return addr


def mac_for(addr: IPv4Address) -> str:
    """Docker's MAC for an address: 02:42 then the four address bytes."""
    return "02:42:" + ":".join(f"{b:02x}" for b in addr.packed)
