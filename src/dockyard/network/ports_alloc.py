"""Choosing host ports: a requested one, one of a range, or one from the ephemeral range.

A port is free when no published port overlaps it (same protocol and number, same
address or either is 0.0.0.0) and a test bind shows no host process holds it, as
docker's proxy would find when it binds. Callers hold the nft lock, so two ``run``s
never choose the same port.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Sequence

from dockyard.errors import Conflict, InvalidArgument
from dockyard.network.ports import PublishedPort, parse_port_range

__all__ = ["bind_free", "choose_host_port", "ephemeral_range", "overlaps"]

_SOCK = {"tcp": (socket.SOCK_STREAM, socket.IPPROTO_TCP),
         "udp": (socket.SOCK_DGRAM, socket.IPPROTO_UDP),
         "sctp": (socket.SOCK_STREAM, getattr(socket, "IPPROTO_SCTP", 132))}


def ephemeral_range() -> tuple[int, int]:
    """The kernel's ``ip_local_port_range`` (docker allocates from it too)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999


def overlaps(proto: str, host_ip: str, port: int, other: PublishedPort) -> bool:
    """Whether ``host_ip:port/proto`` collides with ``other`` (0.0.0.0 is every address)."""
    same_ip = host_ip == other.host_ip or "0.0.0.0" in (host_ip, other.host_ip)
    return other.proto == proto and other.host_port == port and same_ip


def bind_free(proto: str, host_ip: str, port: int) -> bool:
    """True unless binding ``host_ip:port`` fails because it is in use."""
    kind, number = _SOCK[proto]
    try:
        sock = socket.socket(socket.AF_INET, kind, number)
    except OSError:  # e.g. no sctp in this kernel: nothing can hold the port either
        return True
    with sock:
        if proto == "tcp":  # ignore TIME_WAIT leftovers; listeners still conflict
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host_ip, port))
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                return False
            if err.errno == errno.EADDRNOTAVAIL:
                raise InvalidArgument(
                    f"cannot publish on {host_ip}:{port}: not a local address") from None
            raise
    return True


def _free(proto: str, host_ip: str, port: int, taken: Sequence[PublishedPort]) -> bool:
    return (not any(overlaps(proto, host_ip, port, t) for t in taken)
            and bind_free(proto, host_ip, port))


def choose_host_port(proto: str, host_ip: str, spec: str,
                     taken: Sequence[PublishedPort]) -> int:
    """The host port for ``spec`` ('' = any, ``8080``, ``8000-8005``) or ``Conflict``."""
    if spec:
        try:
            low, high = parse_port_range(spec)
        except ValueError:
            raise InvalidArgument(f"invalid hostPort: {spec}") from None
        if low == 0 and high == 0:
            low, high = ephemeral_range()
    else:
        low, high = ephemeral_range()
    for port in range(max(low, 1), high + 1):
        if _free(proto, host_ip, port, taken):
            return port
    if spec:
        raise Conflict(f"Bind for {host_ip}:{spec} failed: port is already allocated")
    raise Conflict(f"no free host port in {low}-{high} for {host_ip}/{proto}")
