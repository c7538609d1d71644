"""The few rtnetlink requests the bridge driver makes, in the standard library.

Links (bridge, veth pair with its peer made in another namespace), addresses, a default
route, up/master, delete. pyroute2 speaks all of netlink, but importing it costs
~130 ms, which every ``run`` on a bridge would pay; these eight messages do not need
it. Each call opens a socket in the calling thread's network namespace, sends its
request (or, for :func:`configure`, several in one datagram) with ``NLM_F_ACK`` and
raises ``OSError`` (with the kernel's errno) on a negative answer.
"""

from __future__ import annotations

import errno
import os
import socket
import struct

__all__ = ["addr_add", "bridge_add", "configure", "link_del", "link_names", "link_set",
           "route_add_default", "veth_add"]

_RTM_NEWLINK, _RTM_DELLINK, _RTM_NEWADDR, _RTM_NEWROUTE = 16, 17, 20, 24
_NLMSG_ERROR = 2
_F_REQUEST, _F_ACK, _F_EXCL, _F_CREATE = 0x1, 0x4, 0x200, 0x400
_IFLA_ADDRESS, _IFLA_IFNAME, _IFLA_MTU, _IFLA_MASTER = 1, 3, 4, 10
_IFLA_LINKINFO, _IFLA_NET_NS_FD = 18, 28
_INFO_KIND, _INFO_DATA, _VETH_PEER = 1, 2, 1
_IFA_ADDRESS, _IFA_LOCAL = 1, 2
_RTA_OIF, _RTA_GATEWAY = 4, 5
_IFF_UP = 1
_seq = 0


def _attr(kind: int, data: bytes) -> bytes:
    head = struct.pack("=HH", 4 + len(data), kind)
    return head + data + b"\0" * (-len(data) % 4)


def _str(kind: int, text: str) -> bytes:
    return _attr(kind, text.encode() + b"\0")


def _u32(kind: int, value: int) -> bytes:
    return _attr(kind, struct.pack("=I", value))


def _ifinfo(index: int = 0, flags: int = 0, change: int = 0) -> bytes:
    return struct.pack("=BxHiII", socket.AF_UNSPEC, 0, index, flags, change)


def _mac(text: str) -> bytes:
    return bytes(int(part, 16) for part in text.split(":"))


def _message(kind: int, flags: int, body: bytes) -> tuple[int, bytes]:
    global _seq
    _seq += 1
    head = struct.pack("=IHHII", 16 + len(body), kind, flags | _F_REQUEST | _F_ACK, _seq, 0)
    return _seq, head + body


def _send(messages: list[tuple[int, bytes]], exist_ok: frozenset[int] = frozenset()
          ) -> None:
    """Send the messages in one datagram (the kernel handles them in order) and wait
    for every acknowledgement; the first error raises (but EEXIST for the sequence
    numbers in ``exist_ok``)."""
    waiting = {seq for seq, _ in messages}
    failed: OSError | None = None
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0) as sock:  # NETLINK_ROUTE
        sock.bind((0, 0))
        sock.sendall(b"".join(raw for _, raw in messages))
        while waiting:
            data = sock.recv(65536)
            offset = 0
            while offset + 16 <= len(data):
                length, mtype, _, seq, _ = struct.unpack_from("=IHHII", data, offset)
                if mtype == _NLMSG_ERROR and seq in waiting:
                    waiting.discard(seq)
                    (err,) = struct.unpack_from("=i", data, offset + 16)
                    if err and failed is None and not (
                            -err == errno.EEXIST and seq in exist_ok):
                        failed = OSError(-err, os.strerror(-err))
                offset += max(length, 16) + (-length % 4)
    if failed is not None:
        raise failed


def _request(kind: int, flags: int, body: bytes) -> None:
    _send([_message(kind, flags, body)])


def bridge_add(name: str, mtu: int) -> None:
    """``ip link add NAME mtu MTU type bridge`` (EEXIST when it exists)."""
    info = _attr(_IFLA_LINKINFO, _str(_INFO_KIND, "bridge"))
    _request(_RTM_NEWLINK, _F_CREATE | _F_EXCL,
             _ifinfo() + _str(_IFLA_IFNAME, name) + _u32(_IFLA_MTU, mtu) + info)


def veth_add(name: str, peer: str, peer_netns_fd: int, mtu: int, peer_mac: str,
             master: str = "", up: bool = False) -> None:
    """A veth pair: ``name`` here, ``peer`` (with ``peer_mac``) in the namespace of
    ``peer_netns_fd``; with ``master``, ``name`` is made a port of that bridge, and
    with ``up`` it comes up, all in the one request."""
    flags = _ifinfo(0, _IFF_UP, _IFF_UP) if up else _ifinfo()
    # the peer cannot come up here (the kernel opens it before the pair is joined)
    peer_attrs = (_ifinfo() + _str(_IFLA_IFNAME, peer) + _u32(_IFLA_MTU, mtu)
                  + _attr(_IFLA_ADDRESS, _mac(peer_mac))
                  + _u32(_IFLA_NET_NS_FD, peer_netns_fd))
    info = _attr(_IFLA_LINKINFO, _str(_INFO_KIND, "veth")
                 + _attr(_INFO_DATA, _attr(_VETH_PEER, peer_attrs)))
    port = _u32(_IFLA_MASTER, socket.if_nametoindex(master)) if master else b""
    _request(_RTM_NEWLINK, _F_CREATE | _F_EXCL,
             flags + _str(_IFLA_IFNAME, name) + _u32(_IFLA_MTU, mtu) + port + info)


def link_set(name: str, *, up: bool = True, master: str = "") -> None:
    """Bring ``name`` up, and put it on the bridge ``master`` when given."""
    index = socket.if_nametoindex(name)
    attrs = _u32(_IFLA_MASTER, socket.if_nametoindex(master)) if master else b""
    _request(_RTM_NEWLINK, 0,
             _ifinfo(index, _IFF_UP if up else 0, _IFF_UP) + attrs)


def link_del(name: str) -> None:
    _request(_RTM_DELLINK, 0, _ifinfo() + _str(_IFLA_IFNAME, name))


def _addr(index: int, address: str, prefixlen: int) -> tuple[int, bytes]:
    raw = socket.inet_aton(address)
    body = struct.pack("=BBBBI", socket.AF_INET, prefixlen, 0, 0, index)
    return _message(_RTM_NEWADDR, _F_CREATE | _F_EXCL,
                    body + _attr(_IFA_LOCAL, raw) + _attr(_IFA_ADDRESS, raw))


def _default_route(gateway: str, index: int) -> tuple[int, bytes]:
    body = struct.pack("=BBBBBBBBI", socket.AF_INET, 0, 0, 0, 254, 3, 0, 1, 0)
    return _message(_RTM_NEWROUTE, _F_CREATE | _F_EXCL,
                    body + _attr(_RTA_GATEWAY, socket.inet_aton(gateway))
                    + _u32(_RTA_OIF, index))


def addr_add(name: str, address: str, prefixlen: int) -> None:
    """``ip addr add ADDRESS/PREFIXLEN dev NAME`` (IPv4)."""
    _send([_addr(socket.if_nametoindex(name), address, prefixlen)])


def route_add_default(gateway: str, dev: str) -> None:
    """``ip route add default via GATEWAY dev DEV`` in the main table."""
    _send([_default_route(gateway, socket.if_nametoindex(dev))])


def configure(ifname: str, address: str, prefixlen: int, gateway: str = "") -> None:
    """In one datagram: ``lo`` and ``ifname`` up, ``address/prefixlen`` on ``ifname``
    and, with ``gateway``, the default route through it."""
    index = socket.if_nametoindex(ifname)
    messages = [_message(_RTM_NEWLINK, 0,
                         _ifinfo(socket.if_nametoindex("lo"), _IFF_UP, _IFF_UP)),
                _addr(index, address, prefixlen),
                _message(_RTM_NEWLINK, 0, _ifinfo(index, _IFF_UP, _IFF_UP))]
    if gateway:
        messages.append(_default_route(gateway, index))
    _send(messages, exist_ok=frozenset({messages[-1][0]}) if gateway else frozenset())


def link_names() -> list[str]:
    """The interfaces of the calling thread's namespace."""
    return [name for _, name in socket.if_nameindex()]
