"""Bandwidth limits of a container's veth with tc (``--egress-rate``/``--ingress-rate``).

Both directions use a token bucket (tbf) where the traffic is *sent*, because that is
where shaping measures right (TCP backs off from a full queue instead of losing
policed packets): egress on the container's own end of the veth (``eth0`` in its
namespace), ingress on the peer end in the host namespace. The limit on the
container's end is out of the container's reach unless it has CAP_NET_ADMIN.
Rates are bits per second (``EgressRate``/``IngressRate`` in HostConfig); 0 is none.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from dockyard.errors import InvalidArgument, NotFound, SystemFailure
from dockyard.network.dns_netns import in_netns

__all__ = ["MAX_RATE", "format_rate", "get_rate", "parse_rate", "set_rate"]

# tbf's rate field counts bytes per second in 32 bits.
MAX_RATE = (2**32 - 1) * 8

_UNITS = {
    "": 1, "bit": 1, "kbit": 10**3, "mbit": 10**6, "gbit": 10**9, "tbit": 10**12,
    "kibit": 2**10, "mibit": 2**20, "gibit": 2**30, "tibit": 2**40,
    "bps": 8, "kbps": 8 * 10**3, "mbps": 8 * 10**6, "gbps": 8 * 10**9,
    "k": 10**3, "m": 10**6, "g": 10**9,
}
_RATE = re.compile(r"([0-9]+(?:\.[0-9]+)?)([a-z]*)")


def parse_rate(text: str) -> int:
    """``10mbit`` → 10_000_000 bits/s (tc's units: ``bit``/``kbit``/``mibit``…, ``bps``
    and ``kbps``… are bytes per second; a bare number is bits per second).

    The message of the ``InvalidArgument`` names what is wrong, not the value: the CLI
    puts it after docker's ``invalid argument "VALUE" for "--egress-rate" flag:``.
    """
    m = _RATE.fullmatch(text.strip().lower())
    if m is None or m.group(2) not in _UNITS:
        raise InvalidArgument("expected a rate like 10mbit, 512kbit or 1gbit")
    rate = int(float(m.group(1)) * _UNITS[m.group(2)])
    if rate > MAX_RATE:
        raise InvalidArgument(f"above the largest rate tc can shape ({format_rate(MAX_RATE)})")
    if 0 < rate < 8000:
        raise InvalidArgument("below the smallest rate, 8kbit")
    return rate


def format_rate(bits: int) -> str:
    """bits/s → the shortest exact tc-style spelling (20000000 → ``20mbit``)."""
    for unit, size in (("gbit", 10**9), ("mbit", 10**6), ("kbit", 10**3)):
        if bits and bits % size == 0:
            return f"{bits // size}{unit}"
    return f"{bits}bit"


@contextmanager
def _ipr(netns: str | None) -> Iterator[Any]:
    from pyroute2 import IPRoute

    with in_netns(netns) if netns else nullcontext():
        ipr = IPRoute()
        try:
            yield ipr
        finally:
            ipr.close()


def _index(ipr: Any, ifname_or_index: str | int) -> int:
    if isinstance(ifname_or_index, int):
        return ifname_or_index
    found = ipr.link_lookup(ifname=ifname_or_index)
    if not found:
        raise NotFound(f"no such network interface: {ifname_or_index}")
    return int(found[0])


def _apply(ipr: Any, index: int, rate: int | None) -> None:
    if rate is None:
        return
    from pyroute2.netlink.exceptions import NetlinkError

    try:
        if rate == 0:
            if _tbf_rate(ipr, index):
                ipr.tc("del", index=index, root=True)
            return
        byte_rate = rate // 8
        # ~10 ms of traffic per bucket (at least a few full frames) and 50 ms of queue.
        burst = max(byte_rate // 100, 4 * 1514)
        ipr.tc("replace", "tbf", index=index, handle="1:", rate=f"{rate}bit",
               burst=burst, latency="50ms")
    except NetlinkError as err:
        raise SystemFailure(f"tc: setting a {format_rate(rate)} limit: {err}") from None


def _peer_index(ipr: Any, index: int) -> int:
    link = ipr.get_links(index)[0]
    peer = link.get_attr("IFLA_LINK")
    if not peer:
        raise InvalidArgument(f"interface {index} is not a veth: no peer to shape ingress on")
    return int(peer)


def set_rate(ifname_or_index: str | int, netns: str | None, *,
             egress: int | None = None, ingress: int | None = None) -> None:
    """Limit the container end of a veth (``eth0`` inside ``netns``, a path like
    ``/proc/PID/ns/net``) to ``egress`` bits/s sent and ``ingress`` received.

    None leaves a direction as it is, 0 removes its limit. The ingress limit sits on
    the veth's peer in the caller's namespace (where the bridge is).
    """
    for rate in (egress, ingress):
        if rate is not None and not 0 <= rate <= MAX_RATE:
            raise InvalidArgument(f"rate out of range: {rate} bits/s")
    with _ipr(netns) as ipr:
        index = _index(ipr, ifname_or_index)
        _apply(ipr, index, egress)
        peer = _peer_index(ipr, index) if ingress is not None else 0
    if ingress is not None:
        with _ipr(None) as host:
            _apply(host, peer, ingress)


def _tbf_rate(ipr: Any, index: int) -> int:
    for q in ipr.get_qdiscs(index=index):
        if q.get_attr("TCA_KIND") == "tbf" and q["handle"] == 0x10000:
            parms = q.get_attr("TCA_OPTIONS").get_attr("TCA_TBF_PARMS")
            return int(parms["rate"]) * 8
    return 0


def get_rate(ifname_or_index: str | int, netns: str | None) -> tuple[int, int]:
    """(egress, ingress) bits/s now in force on the veth; 0 where none."""
    with _ipr(netns) as ipr:
        index = _index(ipr, ifname_or_index)
        egress = _tbf_rate(ipr, index)
        peer = _peer_index(ipr, index)
    with _ipr(None) as host:
        return egress, _tbf_rate(host, peer)
