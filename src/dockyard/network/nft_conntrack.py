"""Forgetting the UDP flows of a port that is no longer published.

UDP has no end: a client that keeps sending to a published port keeps its conntrack
entry, and with it the DNAT to the container that published the port before. When a
port is unpublished its UDP entries are deleted (docker does the same), so the next
datagram is translated by whatever rules are in force then. Best effort: if conntrack
cannot be reached the rules are gone anyway and entries time out (30-180 s).
"""

from __future__ import annotations

import socket
from collections.abc import Iterable

from dockyard.network.ports import PublishedPort

__all__ = ["forget_udp"]


def forget_udp(ports: Iterable[PublishedPort]) -> int:
    """Delete the conntrack entries of these ports' UDP flows; how many went."""
    udp = [p for p in ports if p.proto == "udp"]
    if not udp:
        return 0
    try:  # pyroute2 is heavy: only containers that published UDP pay for it
        from pyroute2 import Conntrack
        from pyroute2.netlink.nfnetlink.nfctsocket import NFCTAttrTuple
    except ImportError:
        return 0
    gone = 0
    try:
        ct = Conntrack()
    except OSError:
        return 0
    try:
        for p in udp:
            daddr = None if p.host_ip == "0.0.0.0" else p.host_ip
            wanted = NFCTAttrTuple(proto=socket.IPPROTO_UDP, dport=p.host_port, daddr=daddr)
            for entry in list(ct.dump_entries(tuple_orig=wanted)):
                try:
                    ct.delete(entry)
                    gone += 1
                except OSError:  # it went by itself meanwhile
                    pass
    except OSError:
        pass
    finally:
        ct.close()
    return gone
