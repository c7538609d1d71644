"""A small test-made network: bridges with "container" namespaces, an "outside"
namespace wired to the host, and a dummy link holding a non-loopback host address.

Every name carries the session token; ``World.close`` removes all of it. Servers run
as threads on sockets created inside the namespaces (``netns_socket``) and answer
with the peer address they saw, so tests can check masquerade.
"""

from __future__ import annotations

import ipaddress
import random
import socket
import subprocess
import threading
from dataclasses import dataclass, field

from dockyard.network.dns_netns import netns_socket


def ip(*args: str, ns: str | None = None) -> None:
    cmd = ["ip", *(["-n", ns] if ns else []), *args]
    subprocess.run(cmd, check=True, capture_output=True, timeout=10)


def free_subnet() -> ipaddress.IPv4Network:
    used = subprocess.run(["ip", "-4", "route", "show", "table", "all"], capture_output=True,
                          text=True, check=True).stdout
    while True:
        net = ipaddress.ip_network(f"10.{random.randint(100, 250)}.{random.randint(0, 255)}.0/24")
        if f"10.{net.network_address.packed[1]}.{net.network_address.packed[2]}." not in used:
            return net


@dataclass
class Endpoint:
    """Shaped like dockyard.network.model.Endpoint for ``nft.publish``."""

    endpoint_id: str
    address: str
    prefixlen: int
    bridge: str
    netns: str
    gateway: str
    veth: str


@dataclass
class World:
    token: str
    links: list[str] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)
    servers: list[socket.socket] = field(default_factory=list)
    n: int = 0

    def _name(self, kind: str) -> str:
        self.n += 1
        return f"{kind}{self.token}{self.n}"

    def bridge(self) -> tuple[str, ipaddress.IPv4Network]:
        name, net = self._name("b"), free_subnet()
        ip("link", "add", name, "type", "bridge")
        self.links.append(name)
        ip("addr", "add", f"{net[1]}/{net.prefixlen}", "dev", name)
        ip("link", "set", name, "up")
        return name, net

    def container(self, bridge: str, net: ipaddress.IPv4Network, host: int) -> Endpoint:
        ns, host_side = self._name("n"), self._name("v")
        ip("netns", "add", ns)
        self.namespaces.append(ns)
        ip("link", "add", host_side, "type", "veth", "peer", "name", "eth0", "netns", ns)
        self.links.append(host_side)
        ip("link", "set", host_side, "master", bridge, "up")
        ip("addr", "add", f"{net[host]}/{net.prefixlen}", "dev", "eth0", ns=ns)
        ip("link", "set", "eth0", "up", ns=ns)
        ip("link", "set", "lo", "up", ns=ns)
        ip("route", "add", "default", "via", str(net[1]), ns=ns)
        return Endpoint(ns, str(net[host]), net.prefixlen, bridge, ns, str(net[1]), host_side)

    def outside(self) -> tuple[str, str, str]:
        """A namespace reached through a veth: (netns, its address, the host's address)."""
        ns, host_side, net = self._name("n"), self._name("v"), free_subnet()
        ip("netns", "add", ns)
        self.namespaces.append(ns)
        ip("link", "add", host_side, "type", "veth", "peer", "name", "eth0", "netns", ns)
        self.links.append(host_side)
        ip("addr", "add", f"{net[1]}/24", "dev", host_side)
        ip("link", "set", host_side, "up")
        ip("addr", "add", f"{net[2]}/24", "dev", "eth0", ns=ns)
        ip("link", "set", "eth0", "up", ns=ns)
        ip("link", "set", "lo", "up", ns=ns)
        ip("route", "add", "default", "via", str(net[1]), ns=ns)
        return ns, str(net[2]), str(net[1])

    def local_address(self) -> str:
        """A non-loopback address of the host itself, on a veth of ours (no dummy
        driver on this kernel)."""
        name, peer, net = self._name("d"), self._name("d"), free_subnet()
        ip("link", "add", name, "type", "veth", "peer", "name", peer)
        self.links.append(name)
        ip("addr", "add", f"{net[1]}/32", "dev", name)
        ip("link", "set", name, "up")
        ip("link", "set", peer, "up")
        return str(net[1])

    def serve(self, ns: str | None, port: int, kind: int = socket.SOCK_STREAM) -> None:
        """Answer each TCP connection / UDP datagram with ``hello from <peer ip>``."""
        sock = (netns_socket(f"/run/netns/{ns}", socket.AF_INET, kind) if ns
                else socket.socket(socket.AF_INET, kind))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("0.0.0.0", port))
        if kind == socket.SOCK_STREAM:
            sock.listen(8)
        self.servers.append(sock)
        threading.Thread(target=_answer, args=(sock, kind), daemon=True).start()

    def close(self) -> None:
        for s in self.servers:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        for ns in self.namespaces:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        for link in reversed(self.links):
            subprocess.run(["ip", "link", "del", link], capture_output=True)


def _answer(sock: socket.socket, kind: int) -> None:
    while True:
        try:
            if kind == socket.SOCK_STREAM:
                conn, peer = sock.accept()
                with conn:
                    conn.sendall(f"hello from {peer[0]}".encode())
            else:
                _, peer = sock.recvfrom(512)
                if peer is None:  # shut down
                    return
                sock.sendto(f"hello from {peer[0]}".encode(), peer)
        except OSError:
            return


def ask(addr: str, port: int, *, ns: str | None = None, kind: int = socket.SOCK_STREAM,
        timeout: float = 2.0) -> str:
    """Reach ``addr:port`` (from the host, or from inside ``ns``); '' when nothing answers."""
    sock = (netns_socket(f"/run/netns/{ns}", socket.AF_INET, kind) if ns
            else socket.socket(socket.AF_INET, kind))
    sock.settimeout(timeout)
    with sock:
        try:
            if kind == socket.SOCK_STREAM:
                sock.connect((addr, port))
                return sock.recv(512).decode()
            sock.sendto(b"hi", (addr, port))
            return sock.recv(512).decode()
        except OSError:
            return ""
